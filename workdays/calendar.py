"""The working-day calendar the SOPs are built on: which days count.

Every seed SOP counts in *hari kerja* (working days): "5 hari kerja", "14 hari kerja", "60 hari
kerja ... diteruskan ke Ombudsman RI". A day is a working day unless it is a Saturday or Sunday,
a national holiday (the `holidays` library), collective leave (cuti bersama,
`config/holidays/<year>.yaml`), a regional holiday (`config/holidays/regional/<region>.yaml`) or
a day an admin added; an explicit working-day exception wins over all of these. Dates are local
dates in one Indonesian time zone (WIB by default).

Pure, like normalizer/: no database and no I/O except reading the holiday files once at
start-up; it imports config only. The deadline arithmetic built on it is workdays/deadlines.py;
the counting rules are in docs/sla.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import yaml

from config.settings import CONFIG_DIR

HOLIDAY_DIR = CONFIG_DIR / "holidays"
_PROJECT_DIR = CONFIG_DIR.parent

# The three Indonesian time zones by their everyday names; any IANA name works too.
TIMEZONE_ALIASES: Mapping[str, str] = MappingProxyType(
    {"WIB": "Asia/Jakarta", "WITA": "Asia/Makassar", "WIT": "Asia/Jayapura"}
)

ONE_MICROSECOND = timedelta(microseconds=1)
# A run of non-working days longer than this means the configuration is broken (e.g. an admin
# marked a whole year as holidays); fail loudly instead of looping.
_MAX_DAYS_WITHOUT_WORK = 366


# --------------------------------------------------------------------------------------------
# Holidays and the files that declare them
# --------------------------------------------------------------------------------------------


class HolidayKind(StrEnum):
    NATIONAL = "national"  # libur nasional (the library, or a file's national_holidays)
    COLLECTIVE_LEAVE = "collective_leave"  # cuti bersama
    REGIONAL = "regional"  # libur daerah
    ADMIN = "admin"  # added by an admin in the gateway


@dataclass(frozen=True)
class Holiday:
    """One day off that is not a weekend, with where it was declared (shown to admins)."""

    date: date
    name: str
    kind: HolidayKind
    source: str = ""


class HolidayFileError(ValueError):
    """A holiday file cannot be used; the message names the file and the line."""


@dataclass(frozen=True)
class HolidayConfig:
    """What `config/holidays/` declares, read and checked once.

    `collective_leave` has one entry per year that has a file; for those years the file is the
    only source of collective leave (see `WorkingCalendar`).
    """

    collective_leave: Mapping[int, tuple[Holiday, ...]] = field(default_factory=dict)
    national: tuple[Holiday, ...] = ()
    regional: tuple[Holiday, ...] = ()
    working_days: frozenset[date] = frozenset()
    region: str | None = None


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_YEAR_FILE = re.compile(r"\d{4}")
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def load_holiday_config(directory: Path = HOLIDAY_DIR, region: str | None = None) -> HolidayConfig:
    """Read `<directory>/<year>.yaml` for every year and `<directory>/regional/<region>.yaml`.

    Raises `HolidayFileError` naming the file and line of the first problem.
    """
    collective: dict[int, tuple[Holiday, ...]] = {}
    national: list[Holiday] = []
    working_days: set[date] = set()
    for path in sorted(directory.glob("*.y*ml")):
        reader = _HolidayFile(path)
        if not _YEAR_FILE.fullmatch(path.stem):
            raise HolidayFileError(
                f"{reader.name}: a holiday file is named after its year, e.g. 2026.yaml"
            )
        year = int(path.stem)
        lists = reader.read(
            required=("collective_leave",), optional=("national_holidays", "working_days")
        )
        collective[year] = reader.holidays(
            lists["collective_leave"], HolidayKind.COLLECTIVE_LEAVE, year
        )
        national += reader.holidays(lists.get("national_holidays"), HolidayKind.NATIONAL, year)
        working_days |= {day for day, _, _ in reader.entries(lists.get("working_days"), year)}
    regional: tuple[Holiday, ...] = ()
    if region is not None:
        path = directory / "regional" / f"{region}.yaml"
        if not path.is_file():
            raise HolidayFileError(f"{_display(path)}: no such file for region {region!r}")
        reader = _HolidayFile(path)
        lists = reader.read(required=("holidays",), optional=("region",))
        regional = reader.holidays(lists["holidays"], HolidayKind.REGIONAL, None)
    return HolidayConfig(
        collective_leave=MappingProxyType(collective),
        national=tuple(national),
        regional=regional,
        working_days=frozenset(working_days),
        region=region,
    )


def _display(path: Path) -> str:
    """The path as an admin would type it: relative to the project when inside it."""
    try:
        return str(path.resolve().relative_to(_PROJECT_DIR))
    except ValueError:
        return str(path)


class _HolidayFile:
    """One YAML holiday file, read as a node tree so every error can name its line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = _display(path)

    def error(self, node: yaml.Node, message: str) -> HolidayFileError:
        return HolidayFileError(f"{self.name} line {node.start_mark.line + 1}: {message}")

    def read(
        self, *, required: Sequence[str], optional: Sequence[str]
    ) -> dict[str, yaml.Node | None]:
        try:
            root = yaml.compose(self.path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = f" line {mark.line + 1}" if mark is not None else ""
            raise HolidayFileError(f"{self.name}{line}: not valid YAML: {exc.problem}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise HolidayFileError(f"{self.name}: cannot be read: {exc}") from None
        if not isinstance(root, yaml.MappingNode):
            raise HolidayFileError(
                f"{self.name}: expected a mapping with {', '.join(required)} at the top"
            )
        found: dict[str, yaml.Node | None] = {}
        for key, value in root.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name not in (*required, *optional):
                known = ", ".join((*required, *optional))
                raise self.error(key, f"unknown key {name!r} (known keys: {known})")
            if name in found:
                raise self.error(key, f"{name!r} appears twice")
            found[name] = value
        for name in required:
            if name not in found:
                raise self.error(root, f"no {name!r} list (write '{name}: []' when there is none)")
        return found

    def holidays(
        self, node: yaml.Node | None, kind: HolidayKind, year: int | None
    ) -> tuple[Holiday, ...]:
        """The entries of one list as holidays of `kind`."""
        entries = self.entries(node, year)
        if kind is HolidayKind.COLLECTIVE_LEAVE:
            for day, _, item in entries:
                if day.weekday() >= 5:
                    raise self.error(
                        item,
                        f"{day} is a {_WEEKDAY_NAMES[day.weekday()]}; "
                        "collective leave is only declared on weekdays",
                    )
        return tuple(
            Holiday(day, name, kind, source=f"{self.name} line {item.start_mark.line + 1}")
            for day, name, item in entries
        )

    def entries(
        self, node: yaml.Node | None, year: int | None
    ) -> list[tuple[date, str, yaml.Node]]:
        """One list's entries: dates or {date, name} mappings, all in `year` when given."""
        if node is None or (isinstance(node, yaml.ScalarNode) and node.value in ("", "~", "null")):
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, "expected a list of dates or {date, name} entries")
        entries: list[tuple[date, str, yaml.Node]] = []
        first_line: dict[date, int] = {}
        for item in node.value:
            day, name = self._entry(item)
            if year is not None and day.year != year:
                raise self.error(item, f"{day} is not in {year}")
            if day in first_line:
                raise self.error(item, f"{day} is already listed on line {first_line[day]}")
            first_line[day] = item.start_mark.line + 1
            entries.append((day, name, item))
        return entries

    def _entry(self, item: yaml.Node) -> tuple[date, str]:
        if isinstance(item, yaml.ScalarNode):
            return self._date(item), ""
        if not isinstance(item, yaml.MappingNode):
            raise self.error(item, "expected a date or a {date, name} entry")
        fields: dict[str, yaml.Node] = {}
        for key, value in item.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name not in ("date", "name") or name in fields:
                raise self.error(key, f"unexpected key {name!r}; an entry has one date and a name")
            fields[name] = value
        if "date" not in fields:
            raise self.error(item, "entry has no date")
        name_node = fields.get("name")
        if name_node is not None and not isinstance(name_node, yaml.ScalarNode):
            raise self.error(name_node, "name must be text")
        return self._date(fields["date"]), name_node.value if name_node is not None else ""

    def _date(self, node: yaml.Node) -> date:
        value = node.value if isinstance(node, yaml.ScalarNode) else "a list or mapping"
        if isinstance(node, yaml.ScalarNode) and _ISO_DATE.fullmatch(node.value):
            try:
                return date.fromisoformat(node.value)
            except ValueError:
                pass
        raise self.error(node, f"'{value}' is not a date (write YYYY-MM-DD)")


# --------------------------------------------------------------------------------------------
# The calendar
# --------------------------------------------------------------------------------------------


def resolve_timezone(name: str) -> ZoneInfo:
    """`Asia/Jakarta`, `Asia/Makassar`, `Asia/Jayapura` (or WIB, WITA, WIT) to a zone."""
    try:
        return ZoneInfo(TIMEZONE_ALIASES.get(name.upper(), name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}; use Asia/Jakarta (WIB), Asia/Makassar (WITA) "
            "or Asia/Jayapura (WIT)"
        ) from None


class WorkingCalendar:
    """Which local dates are working days, and arithmetic in working days.

    Sources, each counted once because a day off is a set member, not a tally:
    weekends; national holidays from the `holidays` library (category PUBLIC) plus a file's
    `national_holidays`; collective leave from `config/holidays/<year>.yaml` when that year has a
    file, otherwise from the library's GOVERNMENT category (which is where the library files cuti
    bersama) unless `library_collective_leave=False`; regional holidays; admin additions. Working-
    day exceptions (files and admins) win over everything, weekends included.
    """

    def __init__(
        self,
        config: HolidayConfig | None = None,
        *,
        timezone: str = "Asia/Jakarta",
        extra_holidays: Iterable[Holiday] = (),
        extra_working_days: Iterable[date] = (),
        library_collective_leave: bool = True,
    ) -> None:
        self.config = config or HolidayConfig()
        self.tz = resolve_timezone(timezone)
        self._extra_holidays = tuple(extra_holidays)
        self._working_exceptions = self.config.working_days | frozenset(extra_working_days)
        self._library_collective_leave = library_collective_leave
        self._days_off: dict[int, dict[date, Holiday]] = {}
        self._cumulative: dict[int, list[int]] = {}

    @classmethod
    def from_directory(
        cls,
        directory: Path = HOLIDAY_DIR,
        *,
        region: str | None = None,
        timezone: str = "Asia/Jakarta",
        extra_holidays: Iterable[Holiday] = (),
        extra_working_days: Iterable[date] = (),
        library_collective_leave: bool = True,
    ) -> WorkingCalendar:
        """Load `config/holidays/` (and the region's file) and build the calendar."""
        return cls(
            load_holiday_config(directory, region),
            timezone=timezone,
            extra_holidays=extra_holidays,
            extra_working_days=extra_working_days,
            library_collective_leave=library_collective_leave,
        )

    # --- which days ----------------------------------------------------------------------------

    def holiday(self, day: date | datetime) -> Holiday | None:
        """The holiday that makes `day` a day off, or None (weekends are not holidays)."""
        day = self._day(day)
        return self._year_days_off(day.year).get(day)

    def holidays_between(self, first: date, last: date) -> list[Holiday]:
        """Every holiday from `first` to `last` inclusive, in date order (for admin pages)."""
        return [
            holiday
            for year in range(first.year, last.year + 1)
            for day, holiday in sorted(self._year_days_off(year).items())
            if first <= day <= last
        ]

    def is_working_day(self, day: date | datetime) -> bool:
        """A datetime is first turned into its local date."""
        day = self._day(day)
        if day in self._working_exceptions:
            return True
        return day.weekday() < 5 and day not in self._year_days_off(day.year)

    def configured_years(self) -> frozenset[int]:
        """Years whose collective leave comes from a file rather than the library."""
        return frozenset(self.config.collective_leave)

    # --- local time ----------------------------------------------------------------------------

    def local_date(self, instant: datetime) -> date:
        return require_aware(instant).astimezone(self.tz).date()

    def at_local_time(self, day: date, clock_time: time) -> datetime:
        """`day` at `clock_time` local, as an aware UTC datetime."""
        return datetime.combine(day, clock_time, self.tz).astimezone(UTC)

    def start_of_day(self, day: date) -> datetime:
        return self.at_local_time(day, time(0))

    def end_of_day(self, day: date) -> datetime:
        """The last instant (23:59:59.999999 local) of `day`, as an aware UTC datetime."""
        return self.start_of_day(day + timedelta(days=1)) - ONE_MICROSECOND

    # --- arithmetic ----------------------------------------------------------------------------

    def shift_working_days(self, day: date, n: int) -> date:
        """The n-th working day after `day` (n > 0), before it (n < 0), or `day` itself (n = 0).

        `day` itself is never counted, working day or not.
        """
        step = 1 if n > 0 else -1
        remaining, idle = abs(n), 0
        while remaining:
            day += timedelta(days=step)
            if self.is_working_day(day):
                remaining, idle = remaining - 1, 0
            else:
                idle += 1
                if idle > _MAX_DAYS_WITHOUT_WORK:
                    raise ValueError(f"no working day for a year around {day}: check holidays")
        return day

    def next_working_day(self, day: date) -> date:
        return self.shift_working_days(day, 1)

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """The deadline `n` working days after `start`, as an aware UTC datetime.

        Day 1 is the first working day after the local date of `start`, whatever the hour and
        whether or not that date is itself a working day; the deadline is the end of day n.
        """
        if n < 1:
            raise ValueError(f"a deadline is at least 1 working day away, not {n}")
        return self.end_of_day(self.shift_working_days(self.local_date(start), n))

    def working_days_between(self, start: datetime | date, end: datetime | date) -> int:
        """Working days in the half-open span (local date of start, local date of end].

        The start day is not counted and the end day is, which is how `add_working_days`
        counts: `working_days_between(t, add_working_days(t, n)) == n`. Negative when end is
        before start; 0 on the same day.
        """
        first, last = self._day(start), self._day(end)
        if last < first:
            return -self.working_days_between(last, first)
        if first.year == last.year:
            cumulative = self._year_cumulative(first.year)
            return cumulative[_day_index(last)] - cumulative[_day_index(first)]
        total = (
            self._year_cumulative(first.year)[-1]
            - self._year_cumulative(first.year)[_day_index(first)]
        )
        for year in range(first.year + 1, last.year):
            total += self._year_cumulative(year)[-1]
        return total + self._year_cumulative(last.year)[_day_index(last)]

    def working_days_in(self, first: date, last: date) -> int:
        """Working days from `first` to `last`, both included (e.g. in a report's month)."""
        if last < first:
            return 0
        return self.working_days_between(first - timedelta(days=1), last)

    # --- internals -----------------------------------------------------------------------------

    def _day(self, value: date | datetime) -> date:
        # A datetime is a date subclass; its own .weekday() would be the UTC day, not ours.
        return self.local_date(value) if isinstance(value, datetime) else value

    def _year_days_off(self, year: int) -> dict[date, Holiday]:
        found = self._days_off.get(year)
        if found is not None:
            return found
        found = {}
        # First label wins, so a date listed by two sources is shown once, as the most
        # authoritative (national before collective leave before regional before admin).
        national = holidays.country_holidays(
            "ID", years=year, categories=(holidays.PUBLIC,), language="id"
        )
        for day, name in sorted(national.items()):
            found.setdefault(day, Holiday(day, name, HolidayKind.NATIONAL, "holidays library"))
        for holiday in self.config.national:
            if holiday.date.year == year:
                found.setdefault(holiday.date, holiday)
        for holiday in self._collective_leave(year):
            found.setdefault(holiday.date, holiday)
        for holiday in (*self.config.regional, *self._extra_holidays):
            if holiday.date.year == year:
                found.setdefault(holiday.date, holiday)
        for day in self._working_exceptions:
            found.pop(day, None)
        self._days_off[year] = found
        return found

    def _collective_leave(self, year: int) -> tuple[Holiday, ...]:
        if year in self.config.collective_leave:
            return self.config.collective_leave[year]
        if not self._library_collective_leave:
            return ()
        from holidays.countries.indonesia import Indonesia

        if holidays.GOVERNMENT not in Indonesia.supported_categories:
            return ()
        library = holidays.country_holidays(
            "ID", years=year, categories=(holidays.GOVERNMENT,), language="id"
        )
        return tuple(
            Holiday(day, name, HolidayKind.COLLECTIVE_LEAVE, "holidays library")
            for day, name in sorted(library.items())
        )

    def _year_cumulative(self, year: int) -> list[int]:
        """cumulative[i] = working days among the first i days of the year (index 0 = none)."""
        cumulative = self._cumulative.get(year)
        if cumulative is None:
            cumulative = [0]
            day = date(year, 1, 1)
            while day.year == year:
                cumulative.append(cumulative[-1] + self.is_working_day(day))
                day += timedelta(days=1)
            self._cumulative[year] = cumulative
        return cumulative


def _day_index(day: date) -> int:
    return day.timetuple().tm_yday


def require_aware(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{instant!r} has no time zone; the SLA clock needs aware datetimes")
    return instant
