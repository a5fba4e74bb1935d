"""The working-day clock the SOPs are built on: which days count, deadlines, reminders.

Every seed SOP counts in *hari kerja* (working days): "5 hari kerja", "14 hari kerja", "60 hari
kerja ... diteruskan ke Ombudsman RI", "10 hari kerja tidak ada tanggapan ... ditutup oleh
sistem". This module is that clock, pure (no database, no I/O except reading the holiday files
once at start-up):

- `WorkingCalendar`: a day is a working day unless it is a Saturday or Sunday, a national
  holiday (the `holidays` library), collective leave (cuti bersama, `config/holidays/<year>.yaml`),
  a regional holiday (`config/holidays/regional/<region>.yaml`) or a day an admin added; an
  explicit working-day exception wins over all of these. Dates are local dates in one Indonesian
  time zone (WIB by default).
- `compute_deadlines()`: the verification, answer, feedback and escalation deadlines of one
  complaint from its timeline, with the clock paused while the complaint is `pending`.
- `reminders_due()`: which reminders are due at a moment, each with a deterministic key so the
  sweep sends each one exactly once.

The counting rules are in docs/sla.md; in short: day 1 is the first working day after the day of
receipt, a deadline is the last instant of its day, and elapsed working days are counted over
the half-open span (start day, end day].
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Literal
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

# The four classes of report (DESIGN.md) and their answer deadlines in working days (seeds).
CATEGORIES = ("aspirasi", "permintaan_informasi", "pengaduan", "pengaduan_berkadar_pengawasan")

ClockName = Literal["verify", "answer", "feedback", "escalation"]
CLOCKS: tuple[ClockName, ...] = ("verify", "answer", "feedback", "escalation")

_ONE_MICROSECOND = timedelta(microseconds=1)
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
        return _aware(instant).astimezone(self.tz).date()

    def at_local_time(self, day: date, clock_time: time) -> datetime:
        """`day` at `clock_time` local, as an aware UTC datetime."""
        return datetime.combine(day, clock_time, self.tz).astimezone(UTC)

    def start_of_day(self, day: date) -> datetime:
        return self.at_local_time(day, time(0))

    def end_of_day(self, day: date) -> datetime:
        """The last instant (23:59:59.999999 local) of `day`, as an aware UTC datetime."""
        return self.start_of_day(day + timedelta(days=1)) - _ONE_MICROSECOND

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


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{instant!r} has no time zone; the SLA clock needs aware datetimes")
    return instant


# --------------------------------------------------------------------------------------------
# Deadline policy
# --------------------------------------------------------------------------------------------

DEFAULT_ANSWER_WORKING_DAYS: Mapping[str, int] = MappingProxyType(
    {
        "aspirasi": 5,
        "permintaan_informasi": 5,
        "pengaduan": 14,
        "pengaduan_berkadar_pengawasan": 60,
    }
)


def _default_answer_days() -> Mapping[str, int]:
    return DEFAULT_ANSWER_WORKING_DAYS


def _default_reminders() -> Mapping[str, tuple[int, ...]]:
    # The agency's liaison officers: 2 working days before, on the day, and the first working
    # day after (overdue).
    return MappingProxyType({"answer": (-2, 0, 1)})


@dataclass(frozen=True)
class SlaPolicy:
    """How many working days each step gets, and when reminders go out.

    `reminder_offsets` maps a clock to offsets in working days relative to its due date:
    -2 is two working days before, 0 is the due day, 1 is the first working day after (overdue).
    `escalation_working_days` None escalates when the answer deadline passes; a number
    escalates when the answer is still missing that many working days after disposition
    (Bangkalan: "60 hari kerja ... diteruskan ke Ombudsman RI").
    """

    verify_working_days: int = 3
    answer_working_days: Mapping[str, int] = field(default_factory=_default_answer_days)
    feedback_working_days: int = 10
    escalation_working_days: int | None = None
    reminder_offsets: Mapping[str, tuple[int, ...]] = field(default_factory=_default_reminders)
    reminder_time: time = time(8, 0)  # local; nobody wants a WhatsApp reminder at midnight

    def __post_init__(self) -> None:
        counts = {
            "verify_working_days": self.verify_working_days,
            "feedback_working_days": self.feedback_working_days,
            **{f"answer_working_days[{k}]": v for k, v in self.answer_working_days.items()},
        }
        if self.escalation_working_days is not None:
            counts["escalation_working_days"] = self.escalation_working_days
        for name, value in counts.items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"SLA policy {name} must be a whole number >= 1, not {value!r}")
        missing = set(CATEGORIES) - set(self.answer_working_days)
        if missing:
            raise ValueError(f"SLA policy has no answer deadline for {sorted(missing)}")
        for clock in self.reminder_offsets:
            if clock not in CLOCKS:
                raise ValueError(f"SLA policy reminder for unknown clock {clock!r}")

    def answer_days_for(self, category: str) -> int:
        try:
            return self.answer_working_days[category]
        except KeyError:
            raise ValueError(
                f"no answer deadline for category {category!r}; known: {', '.join(CATEGORIES)}"
            ) from None


# --------------------------------------------------------------------------------------------
# A complaint's deadlines
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pause:
    """The complaint was `pending` (waiting for the reporter) from start until end (None: still)."""

    start: datetime
    end: datetime | None = None

    def __post_init__(self) -> None:
        _aware(self.start)
        if self.end is not None and _aware(self.end) < self.start:
            raise ValueError(f"pause ends ({self.end}) before it starts ({self.start})")


@dataclass(frozen=True)
class Timeline:
    """The timestamps of one complaint that the deadlines depend on (all aware datetimes).

    `disposed_at` is the first disposition to an agency: it ends verification and starts the
    answer clock. `reassigned_at` is the latest re-disposition to another agency, or a reopening
    after an unsatisfied reporter (TIDAK PUAS): the answer clock restarts from it. `answered_at`
    is the answer now waiting for the reporter's feedback (None after a reopening). `ended_at` is
    when the complaint left the flow (archived, returned, merged, closed); no clock runs after it.
    `pauses` are the complaint's `pending` intervals.
    """

    received_at: datetime
    category: str | None = None
    disposed_at: datetime | None = None
    answered_at: datetime | None = None
    pauses: Sequence[Pause] = ()
    ended_at: datetime | None = None
    reassigned_at: datetime | None = None

    def __post_init__(self) -> None:
        for instant in (
            self.received_at,
            self.disposed_at,
            self.answered_at,
            self.ended_at,
            self.reassigned_at,
        ):
            if instant is not None:
                _aware(instant)
        object.__setattr__(self, "pauses", _merge_pauses(self.pauses))


def _merge_pauses(pauses: Iterable[Pause]) -> tuple[Pause, ...]:
    """Sorted, overlapping pauses folded together so no day is given back twice."""
    merged: list[Pause] = []
    for pause in sorted(pauses, key=lambda p: p.start):
        last = merged[-1] if merged else None
        if last is not None and (last.end is None or pause.start <= last.end):
            end = None if last.end is None or pause.end is None else max(last.end, pause.end)
            merged[-1] = Pause(last.start, end)
        else:
            merged.append(pause)
    return tuple(merged)


@dataclass(frozen=True)
class Deadline:
    """One running (or finished) clock of a complaint, as of `as_of`."""

    clock: ClockName
    started_at: datetime
    working_days: int  # what the policy allows
    paused_working_days: int  # given back for pauses
    due: datetime  # aware UTC, the last instant of `due_date` in local time
    due_date: date  # local
    stopped_at: datetime | None  # the step was done, or the complaint left the flow
    paused: bool  # an open pause holds this clock at `as_of`
    as_of: datetime
    working_days_used: int  # elapsed working days, pauses excluded, until stopped or `as_of`

    @property
    def overdue_since(self) -> datetime:
        """The first instant the deadline is missed (local midnight after the due day)."""
        return self.due + _ONE_MICROSECOND

    @property
    def met_on_time(self) -> bool | None:
        """For reports: stopped within the deadline? None while still running."""
        return None if self.stopped_at is None else self.stopped_at <= self.due


def is_overdue(deadline: Deadline | None, now: datetime) -> bool:
    """Still running, not paused, and past its due instant.

    The paused flag is the one computed `as_of`; compute the deadlines with the same `now`.
    """
    return (
        deadline is not None
        and deadline.stopped_at is None
        and not deadline.paused
        and _aware(now) > deadline.due
    )


@dataclass(frozen=True)
class Deadlines:
    """All deadlines of one complaint as of `as_of` (None: the clock has not started)."""

    as_of: datetime
    verify: Deadline
    answer: Deadline | None
    feedback: Deadline | None
    escalation: Deadline | None  # its overdue_since is when the complaint goes to Ombudsman

    @property
    def verify_due(self) -> datetime:
        return self.verify.due

    @property
    def answer_due(self) -> datetime | None:
        return self.answer.due if self.answer else None

    @property
    def feedback_due(self) -> datetime | None:
        return self.feedback.due if self.feedback else None

    @property
    def escalation_due(self) -> datetime | None:
        """When an unanswered complaint is escalated (the instant it becomes overdue)."""
        return self.escalation.overdue_since if self.escalation else None

    def overdue(self, now: datetime) -> tuple[ClockName, ...]:
        clocks = (self.verify, self.answer, self.feedback)
        return tuple(d.clock for d in clocks if d is not None and is_overdue(d, now))

    def should_escalate(self, now: datetime) -> bool:
        """Unanswered past the escalation deadline: raise the `escalated` flag (Ombudsman).

        Record `escalation_due` as the date it happened, not the sweep's time.
        """
        return is_overdue(self.escalation, now)

    def should_close(self, now: datetime) -> bool:
        """The reporter let the feedback window pass: close and tell them."""
        return is_overdue(self.feedback, now)


def compute_deadlines(
    timeline: Timeline, policy: SlaPolicy, calendar: WorkingCalendar, *, now: datetime
) -> Deadlines:
    """The complaint's deadlines as of `now` (only needed for a pause that is still open).

    - verify: `verify_working_days` from receipt; stops at the first disposition.
    - answer: the category's working days from the (latest) disposition; stops at the answer.
    - escalation: like answer, with `escalation_working_days` when set.
    - feedback: `feedback_working_days` from the answer; stops when the complaint ends.
    """
    _aware(now)
    ended = timeline.ended_at

    def clock(name: ClockName, start: datetime, days: int, stop: datetime | None) -> Deadline:
        return _run_clock(name, start, days, _first(stop, ended), timeline.pauses, calendar, now)

    verify = clock("verify", timeline.received_at, policy.verify_working_days, timeline.disposed_at)
    answer = escalation = feedback = None
    if timeline.disposed_at is not None:
        if timeline.category is None:
            raise ValueError("a disposed complaint needs a category for its answer deadline")
        answer_days = policy.answer_days_for(timeline.category)
        assigned = timeline.reassigned_at or timeline.disposed_at
        answer = clock("answer", assigned, answer_days, timeline.answered_at)
        escalation = clock(
            "escalation",
            assigned,
            policy.escalation_working_days or answer_days,
            timeline.answered_at,
        )
    if timeline.answered_at is not None:
        feedback = clock("feedback", timeline.answered_at, policy.feedback_working_days, None)
    return Deadlines(now, verify, answer, feedback, escalation)


def _first(*instants: datetime | None) -> datetime | None:
    present = [i for i in instants if i is not None]
    return min(present) if present else None


def _run_clock(
    name: ClockName,
    start: datetime,
    days: int,
    stop: datetime | None,
    pauses: Sequence[Pause],
    calendar: WorkingCalendar,
    now: datetime,
) -> Deadline:
    """One clock: n working days from start, pushed back by the pauses it ran into.

    A pause counts for a clock when it begins after the clock started, before the clock stopped
    and no later than the (already pushed) due day: a deadline already missed is not rescued by
    pending. The working days in (pause start day, pause end day] are added to the due date.
    """
    due_date = calendar.shift_working_days(calendar.local_date(start), days)
    given_back, paused = 0, False
    for pause in pauses:
        begin = max(pause.start, start)
        if (stop is not None and begin >= stop) or begin > now:
            break
        if calendar.local_date(begin) > due_date:
            break  # the deadline was already missed when this pause began
        end = min(_first(pause.end, stop) or now, now)
        if end <= begin:
            continue  # pending ended before this clock started
        extra = calendar.working_days_between(begin, end)
        due_date = calendar.shift_working_days(due_date, extra)
        given_back += extra
        if stop is None and (pause.end is None or pause.end > now):
            paused = True  # still pending: the clock is held, nothing is overdue
    elapsed = calendar.working_days_between(start, stop or now)
    return Deadline(
        clock=name,
        started_at=start,
        working_days=days,
        paused_working_days=given_back,
        due=calendar.end_of_day(due_date),
        due_date=due_date,
        stopped_at=stop,
        paused=paused,
        as_of=now,
        working_days_used=max(0, elapsed - given_back),
    )


# --------------------------------------------------------------------------------------------
# Reminders
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    """One reminder about one deadline; `key` is the same on every sweep and every instance."""

    clock: ClockName
    offset: int  # working days relative to the due date
    due: datetime
    due_date: date
    send_at: datetime

    @property
    def label(self) -> str:
        if self.offset < 0:
            return f"before-{-self.offset}"
        return "on-day" if self.offset == 0 else f"after-{self.offset}"

    @property
    def key(self) -> tuple[str, str, date]:
        return (self.clock, self.label, self.due_date)

    def idempotency_key(self, complaint: str) -> str:
        """e.g. `sla:LPR-7K3M9Q:answer:before-2:2025-04-10` for the outbox."""
        return f"sla:{complaint}:{self.clock}:{self.label}:{self.due_date.isoformat()}"


def reminders_due(
    deadlines: Deadlines, policy: SlaPolicy, calendar: WorkingCalendar, now: datetime
) -> list[Reminder]:
    """Reminders whose time has come at `now` and that still make sense, oldest first.

    A reminder is sent at `policy.reminder_time` local on its day (the due date shifted by its
    offset in working days). It is due while its clock runs unpaused: one before or on the due
    day until the deadline passes (afterwards it is stale), one after the due day from its time
    on. A reminder whose day is not after the clock's start day is skipped: the disposition
    notice already says the deadline. The sweep keys each one with `idempotency_key()`, so
    returning it again on the next sweep sends nothing twice; if the deadline moves (a pause, a
    new holiday) the due date in the key changes and the reminders follow the new deadline.
    """
    _aware(now)
    due: list[Reminder] = []
    for name, offsets in policy.reminder_offsets.items():
        deadline = getattr(deadlines, name)
        if deadline is None or deadline.stopped_at is not None or deadline.paused:
            continue
        start_day = calendar.local_date(deadline.started_at)
        for offset in sorted(set(offsets)):
            day = calendar.shift_working_days(deadline.due_date, offset)
            if day <= start_day:
                continue
            reminder = Reminder(
                name,
                offset,
                deadline.due,
                deadline.due_date,
                calendar.at_local_time(day, policy.reminder_time),
            )
            if reminder.send_at <= now and (offset > 0 or now <= deadline.due):
                due.append(reminder)
    return sorted(due, key=lambda r: (r.send_at, r.clock, r.offset))
