"""The working-day clock against dates worked out by hand on a paper calendar.

Every expected date below is computed in a comment from the 2024-2026 calendars (national
holidays, the SKB 3 Menteri collective leave in config/holidays/, weekends), never from the code
under test. Times are WIB unless a test says otherwise.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workdays.calendar import (
    HOLIDAY_DIR,
    Holiday,
    HolidayFileError,
    HolidayKind,
    WorkingCalendar,
    load_holiday_config,
)
from workdays.deadlines import (
    Deadlines,
    Pause,
    SlaPolicy,
    Timeline,
    compute_deadlines,
    is_overdue,
    reminders_due,
)

WIB = ZoneInfo("Asia/Jakarta")
WITA = ZoneInfo("Asia/Makassar")
WIT = ZoneInfo("Asia/Jayapura")


def wib(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=WIB)


def end_of(y: int, m: int, d: int, tz: ZoneInfo = WIB) -> datetime:
    """The rule under test: a deadline is the last instant of its local day."""
    return datetime(y, m, d, 23, 59, 59, 999999, tzinfo=tz)


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    return WorkingCalendar.from_directory(region="rembang")


POLICY = SlaPolicy()


def deadlines(timeline: Timeline, now: datetime, policy: SlaPolicy = POLICY) -> Deadlines:
    return compute_deadlines(
        timeline, policy, WorkingCalendar.from_directory(region="rembang"), now=now
    )


# --------------------------------------------------------------------------------------------
# Which days count
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working", "why"),
    [
        (date(2025, 3, 27), True, "Thursday before Nyepi"),
        (date(2025, 3, 28), False, "cuti bersama Nyepi"),
        (date(2025, 3, 29), False, "Saturday (and Nyepi)"),
        (date(2025, 3, 31), False, "Idul Fitri 1446 H"),
        (date(2025, 4, 1), False, "Idul Fitri, second day"),
        (date(2025, 4, 2), False, "cuti bersama Idul Fitri"),
        (date(2025, 4, 4), False, "cuti bersama Idul Fitri"),
        (date(2025, 4, 7), False, "cuti bersama Idul Fitri (Monday)"),
        (date(2025, 4, 8), True, "first working day after Lebaran"),
        (date(2025, 8, 18), False, "extra day off for the 80th Independence Day"),
        (date(2024, 2, 14), False, "Pemilu 2024"),
        (date(2024, 12, 24), True, "Christmas Eve 2024 is a working day"),
        (date(2024, 12, 25), False, "Natal"),
        (date(2024, 12, 26), False, "cuti bersama Natal"),
        (date(2024, 12, 27), True, "Friday after Christmas"),
        (date(2025, 1, 1), False, "Tahun Baru"),
        (date(2025, 1, 2), True, "Thursday"),
        (date(2026, 12, 24), False, "cuti bersama Natal 2026 (before, not after)"),
        (date(2026, 12, 28), True, "Monday after Christmas 2026"),
        (date(2026, 3, 20), False, "cuti bersama Idul Fitri 1447 H"),
        (date(2026, 3, 25), True, "Wednesday after Lebaran 2026"),
        (date(2026, 11, 22), False, "Sunday"),
    ],
)
def test_working_days_follow_weekends_holidays_and_collective_leave(
    calendar: WorkingCalendar, day: date, working: bool, why: str
) -> None:
    assert calendar.is_working_day(day) is working, why


def test_a_day_off_says_why_and_where_it_was_declared(calendar: WorkingCalendar) -> None:
    leave = calendar.holiday(date(2025, 4, 2))
    assert leave is not None
    assert leave.kind is HolidayKind.COLLECTIVE_LEAVE
    assert "Idul Fitri" in leave.name
    assert leave.source.startswith("config/holidays/2025.yaml line ")
    lebaran = calendar.holiday(date(2025, 3, 31))
    assert lebaran is not None and lebaran.kind is HolidayKind.NATIONAL
    assert "Idul Fitri" in lebaran.name  # Indonesian names, as admins read them
    assert calendar.holiday(date(2025, 4, 5)) is None  # a Saturday is not a holiday
    # 28 Mar .. 7 Apr 2025: Nyepi leave, Nyepi (Sat), Idul Fitri x2, leave x4.
    listed = [h.date for h in calendar.holidays_between(date(2025, 3, 28), date(2025, 4, 7))]
    assert listed == [
        date(2025, 3, 28),
        date(2025, 3, 29),
        date(2025, 3, 31),
        date(2025, 4, 1),
        date(2025, 4, 2),
        date(2025, 4, 3),
        date(2025, 4, 4),
        date(2025, 4, 7),
    ]


def test_a_datetime_is_judged_by_its_local_date(calendar: WorkingCalendar) -> None:
    # 2025-04-07 17:30 UTC is Tuesday 8 April 00:30 WIB (working), though 7 April (UTC) is leave.
    instant = datetime(2025, 4, 7, 17, 30, tzinfo=UTC)
    assert calendar.is_working_day(instant) is True
    assert calendar.is_working_day(date(2025, 4, 7)) is False


# --------------------------------------------------------------------------------------------
# Adding working days
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "n", "expected", "why"),
    [
        # Thu 27 Mar 2025 17:00. Off: 28 (leave), 29-30 (weekend), 31 and 1 Apr (Idul Fitri),
        # 2-4 (leave), 5-6 (weekend), 7 (leave). Day 1 = Tue 8, 9, 10, 11, Mon 14 = day 5.
        (wib(2025, 3, 27, 17), 5, end_of(2025, 4, 14), "across Idul Fitri 2025"),
        # Mon 23 Dec 2024: Tue 24 = 1, Wed 25 Natal, Thu 26 leave, Fri 27 = 2, Mon 30 = 3,
        # Tue 31 = 4, Wed 1 Jan New Year, Thu 2 Jan 2025 = 5.
        (wib(2024, 12, 23, 9), 5, end_of(2025, 1, 2), "across Christmas and New Year"),
        # Wed 23 Dec 2026: Thu 24 leave, Fri 25 Natal, weekend, Mon 28 = 1 .. Thu 31 = 4,
        # Fri 1 Jan 2027 New Year, weekend, Mon 4 Jan 2027 = 5.
        (wib(2026, 12, 23, 14), 5, end_of(2027, 1, 4), "Christmas 2026 into 2027"),
        # Fri 10 Jan 2025 19:30: the day of receipt never counts; Mon 13 = 1 .. Fri 17 = 5.
        (wib(2025, 1, 10, 19, 30), 5, end_of(2025, 1, 17), "Friday evening"),
        (wib(2025, 1, 10, 7, 0), 5, end_of(2025, 1, 17), "Friday morning: same rule"),
        # Sat 11 Jan: counting starts on the next working day, Mon 13 = 1 .. Fri 17 = 5.
        (wib(2025, 1, 11, 10), 5, end_of(2025, 1, 17), "Saturday"),
        (wib(2025, 1, 12, 23, 59), 5, end_of(2025, 1, 17), "Sunday night"),
        # Received on Idul Fitri itself: the next working day is Tue 8 Apr.
        (wib(2025, 3, 31, 8), 1, end_of(2025, 4, 8), "received on a holiday"),
        (wib(2025, 1, 13, 0, 0), 1, end_of(2025, 1, 14), "Monday midnight"),
        # Fri 24 Jan 2025: Mon 27 Isra Mikraj, Tue 28 leave, Wed 29 Imlek; Thu 30 = 1,
        # Fri 31 = 2, Mon 3 Feb = 3.
        (wib(2025, 1, 24, 9), 3, end_of(2025, 2, 3), "across Isra Mikraj and Imlek 2025"),
    ],
)
def test_add_working_days(
    calendar: WorkingCalendar, received: datetime, n: int, expected: datetime, why: str
) -> None:
    due = calendar.add_working_days(received, n)
    assert due == expected, why
    assert due.tzinfo is UTC


def test_add_working_days_refuses_nonsense(calendar: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        calendar.add_working_days(wib(2025, 1, 6), 0)
    with pytest.raises(ValueError, match="time zone"):
        calendar.add_working_days(datetime(2025, 1, 6, 9), 3)


def test_shift_working_days_backwards_and_forwards(calendar: WorkingCalendar) -> None:
    # Two working days before Tue 8 Apr 2025: Thu 27 Mar (28 Mar .. 7 Apr are all off).
    assert calendar.shift_working_days(date(2025, 4, 8), -1) == date(2025, 3, 27)
    assert calendar.shift_working_days(date(2025, 4, 8), -2) == date(2025, 3, 26)
    assert calendar.shift_working_days(date(2025, 3, 27), 1) == date(2025, 4, 8)
    assert calendar.shift_working_days(date(2025, 3, 29), 0) == date(2025, 3, 29)


# --------------------------------------------------------------------------------------------
# The time zone setting
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "local_day", "expected"),
    [
        # 16:30 UTC Thu 2 Jan 2025 is 23:30 Thursday in WIB: day 1 = Fri 3 Jan.
        ("Asia/Jakarta", date(2025, 1, 2), end_of(2025, 1, 3, WIB)),
        # ... but already 00:30 Friday in WITA and 01:30 Friday in WIT: day 1 = Mon 6 Jan.
        ("Asia/Makassar", date(2025, 1, 3), end_of(2025, 1, 6, WITA)),
        ("Asia/Jayapura", date(2025, 1, 3), end_of(2025, 1, 6, WIT)),
        ("WIT", date(2025, 1, 3), end_of(2025, 1, 6, WIT)),
    ],
)
def test_the_local_day_depends_on_the_time_zone(
    zone: str, local_day: date, expected: datetime
) -> None:
    calendar = WorkingCalendar.from_directory(timezone=zone)
    received = datetime(2025, 1, 2, 16, 30, tzinfo=UTC)
    assert calendar.local_date(received) == local_day
    assert calendar.add_working_days(received, 1) == expected


def test_an_unknown_time_zone_is_named() -> None:
    with pytest.raises(ValueError, match="'Asia/Jakrta'"):
        WorkingCalendar(timezone="Asia/Jakrta")


# --------------------------------------------------------------------------------------------
# Counting working days between two moments
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (wib(2025, 1, 13, 9), wib(2025, 1, 13, 17), 0),  # same day
        (wib(2025, 1, 13, 9), wib(2025, 1, 14, 8), 1),  # Mon -> Tue
        (wib(2025, 1, 10, 19), wib(2025, 1, 13, 8), 1),  # Fri evening -> Mon: Mon counts
        (wib(2025, 1, 10, 9), wib(2025, 1, 12, 9), 0),  # Fri -> Sun: nothing worked
        (wib(2025, 3, 27, 17), wib(2025, 4, 14, 10), 5),  # 8, 9, 10, 11, 14 Apr
        (wib(2025, 4, 14, 10), wib(2025, 3, 27, 17), -5),  # reversed
        (wib(2024, 12, 23, 9), wib(2025, 1, 2, 9), 5),  # 24, 27, 30, 31 Dec, 2 Jan
    ],
)
def test_working_days_between(
    calendar: WorkingCalendar, start: datetime, end: datetime, expected: int
) -> None:
    assert calendar.working_days_between(start, end) == expected


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        # April 2025: 22 weekdays, minus 1 Apr (Idul Fitri), 2, 3, 4, 7 (leave), 18 (Good Friday).
        (date(2025, 4, 1), date(2025, 4, 30), 16),
        # December 2026: 23 weekdays, minus 24 (leave) and 25 (Natal).
        (date(2026, 12, 1), date(2026, 12, 31), 21),
        (date(2026, 12, 31), date(2026, 12, 1), 0),
    ],
)
def test_working_days_in_a_period(
    calendar: WorkingCalendar, first: date, last: date, expected: int
) -> None:
    assert calendar.working_days_in(first, last) == expected


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2026, 10, 31), timezones=st.just(UTC)
    ),
    n=st.integers(min_value=1, max_value=60),
)
def test_counting_is_the_inverse_of_adding(
    calendar: WorkingCalendar, start: datetime, n: int
) -> None:
    due = calendar.add_working_days(start, n)
    assert calendar.working_days_between(start, due) == n
    assert calendar.is_working_day(due)
    # The deadline is the last instant of a local day: one microsecond later is midnight.
    assert (due + timedelta(microseconds=1)).astimezone(WIB).time() == time(0)


# --------------------------------------------------------------------------------------------
# Holiday files
# --------------------------------------------------------------------------------------------


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


BAD_FILES = [
    (
        "not a date",
        "2026.yaml",
        "# cuti bersama 2026\n"
        "collective_leave:\n"
        "  - {date: 2026-02-16, name: Imlek}\n"
        "  - date: 2026-02-30\n"
        "    name: typo\n",
        "line 4: '2026-02-30' is not a date",
    ),
    (
        "a plain date entry",
        "2026.yaml",
        "collective_leave:\n  - 2026-02-16\n  - 16-02-2026\n",
        "line 3: '16-02-2026' is not a date",
    ),
    (
        "another year",
        "2026.yaml",
        "collective_leave:\n  - 2026-02-16\n  - 2025-12-26\n",
        "line 3: 2025-12-26 is not in 2026",
    ),
    (
        "leave on a Saturday",
        "2026.yaml",
        "collective_leave:\n  - {date: 2026-03-21, name: Lebaran}\n",
        "line 2: 2026-03-21 is a Saturday",
    ),
    (
        "listed twice",
        "2026.yaml",
        "collective_leave:\n  - 2026-02-16\n  - 2026-03-18\n  - 2026-02-16\n",
        "line 4: 2026-02-16 is already listed on line 2",
    ),
    (
        "misspelt key",
        "2026.yaml",
        "collective_leave: []\ncolective_leave: [2026-02-16]\n",
        "line 2: unknown key 'colective_leave'",
    ),
    (
        "no collective leave list",
        "2026.yaml",
        "national_holidays: []\n",
        "line 1: no 'collective_leave' list",
    ),
    (
        "broken YAML",
        "2026.yaml",
        "collective_leave:\n  - {date: 2026-02-16, name: Imlek\n",
        "line 3: not valid YAML",
    ),
    (
        "entry with an unknown field",
        "2026.yaml",
        "collective_leave:\n  - {date: 2026-02-16, nama: Imlek}\n",
        "line 2: unexpected key 'nama'",
    ),
    ("not named after a year", "libur.yaml", "collective_leave: []\n", "named after its year"),
    (
        "bad regional date",
        "regional/demo.yaml",
        "region: Demo\nholidays:\n  - {date: 2026-13-01, name: Hari Jadi}\n",
        "line 3: '2026-13-01' is not a date",
    ),
]


@pytest.mark.parametrize(
    ("label", "name", "text", "message"), BAD_FILES, ids=[row[0] for row in BAD_FILES]
)
def test_a_bad_holiday_file_is_named_with_its_line(
    tmp_path: Path, label: str, name: str, text: str, message: str
) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(HolidayFileError) as caught:
        load_holiday_config(tmp_path, region="demo" if name.startswith("regional/") else None)
    assert str(caught.value).startswith(str(path)), label
    assert message in str(caught.value), label


def test_a_missing_region_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(HolidayFileError, match=r"regional/nowhere\.yaml: no such file"):
        load_holiday_config(tmp_path, region="nowhere")


def test_shipped_files_name_the_project_path() -> None:
    config = load_holiday_config(HOLIDAY_DIR, region="rembang")
    assert {2024, 2025, 2026} <= set(config.collective_leave)
    assert config.regional == ()  # Hari Jadi Kabupaten Rembang is not a day off
    first = config.collective_leave[2026][0]
    assert first.source.startswith("config/holidays/2026.yaml line ")


def test_shipped_collective_leave_agrees_with_the_holidays_library() -> None:
    # An independent cross-check of the hand-typed SKB dates: the library files cuti bersama
    # under its GOVERNMENT category.
    from holidays.countries.indonesia import Indonesia

    if holidays.GOVERNMENT not in Indonesia.supported_categories:
        pytest.skip("this holidays release has no collective leave for Indonesia")
    config = load_holiday_config(HOLIDAY_DIR)
    for year in (2024, 2025, 2026):
        library = holidays.country_holidays("ID", years=year, categories=(holidays.GOVERNMENT,))
        assert {h.date for h in config.collective_leave[year]} == set(library), year


def test_a_year_file_is_the_only_source_of_that_years_collective_leave(tmp_path: Path) -> None:
    # An empty list for 2025 overrides the library's 2025 cuti bersama: no double source, and a
    # cancelled leave day can be taken out by editing the file.
    write(tmp_path, "2025.yaml", "collective_leave: []\n")
    calendar = WorkingCalendar.from_directory(tmp_path)
    assert calendar.is_working_day(date(2025, 4, 2)) is True
    assert calendar.is_working_day(date(2025, 3, 31)) is False  # national: still the library


def test_a_year_without_a_file_falls_back_to_the_library(tmp_path: Path) -> None:
    fallback = WorkingCalendar.from_directory(tmp_path)
    leave = fallback.holiday(date(2025, 4, 2))
    assert leave is not None and leave.kind is HolidayKind.COLLECTIVE_LEAVE
    assert leave.source == "holidays library"
    strict = WorkingCalendar.from_directory(tmp_path, library_collective_leave=False)
    assert strict.is_working_day(date(2025, 4, 2)) is True


def test_additions_exceptions_regions_and_admin_edits(tmp_path: Path) -> None:
    write(
        tmp_path,
        "2025.yaml",
        "collective_leave: [2025-04-02]\n"
        "national_holidays:\n  - {date: 2025-01-13, name: Pilkada ulang}\n"
        "working_days:\n  - 2025-04-01\n  - 2025-01-11\n",
    )
    write(
        tmp_path,
        "regional/demo.yaml",
        "region: Kabupaten Demo\nholidays:\n  - {date: 2025-01-15, name: Hari Raya Daerah}\n",
    )
    calendar = WorkingCalendar.from_directory(
        tmp_path,
        region="demo",
        extra_holidays=[Holiday(date(2025, 1, 14), "Banjir", HolidayKind.ADMIN, "admin")],
        extra_working_days=[date(2025, 4, 2)],
    )
    assert calendar.is_working_day(date(2025, 1, 13)) is False  # national addition
    assert calendar.is_working_day(date(2025, 1, 14)) is False  # admin addition
    regional = calendar.holiday(date(2025, 1, 15))
    assert regional is not None and regional.kind is HolidayKind.REGIONAL
    assert calendar.is_working_day(date(2025, 4, 1)) is True  # file exception beats the library
    assert calendar.is_working_day(date(2025, 1, 11)) is True  # even a Saturday
    assert calendar.is_working_day(date(2025, 4, 2)) is True  # admin exception beats the file
    # Without the region, the regional day is an ordinary Wednesday.
    assert WorkingCalendar.from_directory(tmp_path).is_working_day(date(2025, 1, 15)) is True


# --------------------------------------------------------------------------------------------
# Deadlines of a complaint
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        # Disposed Mon 6 Jan 2025 10:00. Tue 7 = 1, 8, 9, 10, Mon 13 = 5.
        ("aspirasi", end_of(2025, 1, 13)),
        ("permintaan_informasi", end_of(2025, 1, 13)),
        # 7-10 Jan = 4, 13-17 = 9, 20-24 = 14: Fri 24 Jan.
        ("pengaduan", end_of(2025, 1, 24)),
        # ... 27-29 Jan off (Isra Mikraj, leave, Imlek), 30-31 = 16; February has no holiday:
        # 36 by Fri 28 Feb; March 3-27 = 55 (28 Mar leave); 31 Mar - 7 Apr off; 8-11 Apr = 59;
        # Mon 14 Apr = 60.
        ("pengaduan_berkadar_pengawasan", end_of(2025, 4, 14)),
    ],
)
def test_answer_deadline_for_every_class(category: str, expected: datetime) -> None:
    timeline = Timeline(
        received_at=wib(2025, 1, 3, 15),
        category=category,
        disposed_at=wib(2025, 1, 6, 10),
    )
    result = deadlines(timeline, now=wib(2025, 1, 6, 11))
    assert result.answer_due == expected
    assert result.escalation_due == expected + timedelta(microseconds=1)
    # Received Fri 3 Jan 15:00: Mon 6 = 1, Tue 7 = 2, Wed 8 = 3.
    assert result.verify_due == end_of(2025, 1, 8)
    assert result.feedback_due is None


def test_feedback_window_runs_from_the_answer() -> None:
    # Answered Tue 14 Jan 2025: 15-17 = 3, 20-24 = 8, 27-29 off, Thu 30 = 9, Fri 31 = 10.
    timeline = Timeline(
        received_at=wib(2025, 1, 3, 15),
        category="aspirasi",
        disposed_at=wib(2025, 1, 6, 10),
        answered_at=wib(2025, 1, 14, 11),
    )
    result = deadlines(timeline, now=wib(2025, 1, 31, 23, 59))
    assert result.feedback_due == end_of(2025, 1, 31)
    assert result.should_close(wib(2025, 1, 31, 23, 59)) is False
    later = deadlines(timeline, now=wib(2025, 2, 1, 0, 0, 1))
    assert later.should_close(wib(2025, 2, 1, 0, 0, 1)) is True
    # The answer itself came on Tue 14 Jan, the day after its 13 Jan deadline: 6 working days
    # (7, 8, 9, 10, 13, 14), one over the 5 allowed.
    assert later.answer is not None
    assert later.answer.working_days_used == 6
    assert later.answer.met_on_time is False
    closed = Timeline(
        received_at=timeline.received_at,
        category="aspirasi",
        disposed_at=timeline.disposed_at,
        answered_at=timeline.answered_at,
        ended_at=wib(2025, 1, 20, 9),  # the reporter said PUAS and the report was closed
    )
    assert deadlines(closed, now=wib(2025, 2, 3)).should_close(wib(2025, 2, 3)) is False


def test_verification_stops_at_disposition() -> None:
    # Received Mon 6 Jan 09:00, due Thu 9 Jan (7, 8, 9).
    on_time = deadlines(
        Timeline(wib(2025, 1, 6, 9), "pengaduan", disposed_at=wib(2025, 1, 9, 16)),
        now=wib(2025, 1, 20),
    )
    assert on_time.verify.met_on_time is True
    assert on_time.verify.working_days_used == 3
    assert on_time.overdue(wib(2025, 1, 20)) == ()
    late = deadlines(
        Timeline(wib(2025, 1, 6, 9), "pengaduan", disposed_at=wib(2025, 1, 10, 8)),
        now=wib(2025, 1, 20),
    )
    assert late.verify.met_on_time is False
    assert late.verify.working_days_used == 4
    waiting = deadlines(Timeline(wib(2025, 1, 6, 9)), now=wib(2025, 1, 10, 0, 0))
    assert waiting.overdue(wib(2025, 1, 10, 0, 0)) == ("verify",)
    assert waiting.answer is None and waiting.escalation_due is None


def test_overdue_answer_escalates_at_the_first_instant_past_the_deadline() -> None:
    # Pengaduan disposed Mon 6 Jan 2025: due end of Fri 24 Jan.
    timeline = Timeline(wib(2025, 1, 3, 15), "pengaduan", disposed_at=wib(2025, 1, 6, 10))
    before = wib(2025, 1, 24, 23, 59, 59)
    after = wib(2025, 1, 25, 0, 0, 0)
    assert deadlines(timeline, now=before).should_escalate(before) is False
    result = deadlines(timeline, now=after)
    assert is_overdue(result.answer, after) is True
    assert result.should_escalate(after) is True
    assert result.escalation_due == after  # the date it happened, whenever the sweep runs
    answered = Timeline(
        wib(2025, 1, 3, 15),
        "pengaduan",
        disposed_at=wib(2025, 1, 6, 10),
        answered_at=wib(2025, 1, 24, 16),
    )
    done = deadlines(answered, now=after)
    assert done.should_escalate(after) is False
    assert done.answer is not None and done.answer.met_on_time is True


def test_escalation_after_a_fixed_number_of_working_days() -> None:
    # Bangkalan: 60 working days unanswered -> Ombudsman, whatever the class. Disposed Mon
    # 6 Jan 2025, the 60th working day is Mon 14 Apr (see the class table above).
    policy = SlaPolicy(escalation_working_days=60)
    timeline = Timeline(wib(2025, 1, 3, 15), "pengaduan", disposed_at=wib(2025, 1, 6, 10))
    in_march = wib(2025, 3, 3)
    result = deadlines(timeline, now=in_march, policy=policy)
    assert result.overdue(in_march) == ("answer",)
    assert result.should_escalate(in_march) is False
    assert result.escalation_due == wib(2025, 4, 15)


def test_redisposition_restarts_the_answer_clock_but_not_verification() -> None:
    timeline = Timeline(
        wib(2025, 1, 6, 9),
        "aspirasi",
        disposed_at=wib(2025, 1, 7, 10),
        reassigned_at=wib(2025, 1, 13, 10),  # wrong agency, re-disposed on Monday 13 Jan
    )
    result = deadlines(timeline, now=wib(2025, 1, 14))
    assert result.verify.met_on_time is True
    # From Mon 13 Jan: 14, 15, 16, 17, Mon 20 = 5.
    assert result.answer_due == end_of(2025, 1, 20)


# --------------------------------------------------------------------------------------------
# The clock pauses while pending
# --------------------------------------------------------------------------------------------


def test_pending_for_three_working_days_pushes_the_answer_deadline_by_three() -> None:
    # Pengaduan disposed Mon 6 Jan 2025 (due Fri 24 Jan). Pending Wed 8 Jan 09:00 until Mon
    # 13 Jan 09:00 gives back Thu 9, Fri 10, Mon 13 = 3 working days. Fri 24 + 3: 27-29 off,
    # Thu 30, Fri 31, Mon 3 Feb.
    timeline = Timeline(
        wib(2025, 1, 3, 15),
        "pengaduan",
        disposed_at=wib(2025, 1, 6, 10),
        pauses=(Pause(wib(2025, 1, 8, 9), wib(2025, 1, 13, 9)),),
    )
    result = deadlines(timeline, now=wib(2025, 1, 28))
    assert result.answer is not None
    assert result.answer.paused_working_days == 3
    assert result.answer_due == end_of(2025, 2, 3)
    # Verification had stopped at disposition (6 Jan): the later pause does not touch it.
    assert result.verify.paused_working_days == 0


def test_pending_during_verification() -> None:
    # Received Mon 6 Jan 09:00 (due Thu 9). Pending Mon 10:00 -> Thu 9 Jan 10:00 gives back
    # Tue, Wed, Thu = 3: Fri 10, Mon 13, Tue 14. Disposed Wed 15 Jan: the answer clock starts
    # after the pause and is not moved by it.
    timeline = Timeline(
        wib(2025, 1, 6, 9),
        "aspirasi",
        disposed_at=wib(2025, 1, 15, 9),
        pauses=(Pause(wib(2025, 1, 6, 10), wib(2025, 1, 9, 10)),),
    )
    result = deadlines(timeline, now=wib(2025, 1, 15, 10))
    assert result.verify_due == end_of(2025, 1, 14)
    assert result.verify.met_on_time is False  # disposed a day late even after the pause
    # (6 Jan, 15 Jan] holds 7 working days (7-10, 13-15), 3 of them pending: 4 used.
    assert result.verify.working_days_used == 4
    # From Wed 15: 16, 17, 20, 21, Wed 22 = 5.
    assert result.answer_due == end_of(2025, 1, 22)


def test_an_open_pause_holds_the_clock() -> None:
    # Received Mon 6 Jan (due Thu 9), pending since Tue 7 Jan and still pending on Mon 20 Jan
    # 12:00: (7 Jan, 20 Jan] holds 9 working days (8-10, 13-17, 20). Thu 9 + 9 = Wed 22 Jan.
    now = wib(2025, 1, 20, 12)
    timeline = Timeline(wib(2025, 1, 6, 9), pauses=(Pause(wib(2025, 1, 7, 9)),))
    result = deadlines(timeline, now=now)
    assert result.verify.paused is True
    assert result.verify_due == end_of(2025, 1, 22)
    assert result.overdue(now) == ()


def test_pending_does_not_rescue_a_missed_deadline() -> None:
    # Due Thu 9 Jan; pended on Mon 13 Jan, already late: the clock is not held.
    now = wib(2025, 1, 14, 9)
    timeline = Timeline(wib(2025, 1, 6, 9), pauses=(Pause(wib(2025, 1, 13, 9)),))
    result = deadlines(timeline, now=now)
    assert result.verify_due == end_of(2025, 1, 9)
    assert result.verify.paused is False
    assert result.overdue(now) == ("verify",)


def test_overlapping_pauses_are_not_given_back_twice() -> None:
    # (7 Jan 09:00, 9 Jan 09:00] = Wed 8, Thu 9 = 2 days, whatever lies inside it.
    timeline = Timeline(
        wib(2025, 1, 6, 9),
        pauses=(
            Pause(wib(2025, 1, 7, 9), wib(2025, 1, 9, 9)),
            Pause(wib(2025, 1, 8, 9), wib(2025, 1, 8, 12)),
        ),
    )
    result = deadlines(timeline, now=wib(2025, 1, 20))
    assert result.verify.paused_working_days == 2
    assert result.verify_due == end_of(2025, 1, 13)  # Thu 9 + 2: Fri 10, Mon 13


# --------------------------------------------------------------------------------------------
# Reminders
# --------------------------------------------------------------------------------------------

ASPIRASI = Timeline(wib(2025, 1, 3, 15), "aspirasi", disposed_at=wib(2025, 1, 6, 10))
# Answer due Mon 13 Jan 2025. before-2: Thu 9 Jan (Fri 10 is -1); on-day: Mon 13; after-1: Tue
# 14; each at 08:00 WIB.


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (wib(2025, 1, 9, 7, 59), []),
        (wib(2025, 1, 9, 8, 0), ["before-2"]),
        (wib(2025, 1, 10, 12), ["before-2"]),
        (wib(2025, 1, 13, 8), ["before-2", "on-day"]),
        (wib(2025, 1, 13, 23, 59), ["before-2", "on-day"]),
        (wib(2025, 1, 14, 7), []),  # the deadline passed; the overdue one waits for 08:00
        (wib(2025, 1, 14, 8), ["after-1"]),
        (wib(2025, 2, 20), ["after-1"]),
    ],
)
def test_reminders_due_at_frozen_times(now: datetime, expected: list[str]) -> None:
    calendar = WorkingCalendar.from_directory(region="rembang")
    due = reminders_due(
        compute_deadlines(ASPIRASI, POLICY, calendar, now=now), POLICY, calendar, now
    )
    assert [r.label for r in due] == expected
    assert all(r.key[0] == "answer" and r.key[2] == date(2025, 1, 13) for r in due)


def test_reminder_keys_are_stable_strings() -> None:
    now = wib(2025, 1, 13, 9)
    calendar = WorkingCalendar.from_directory(region="rembang")
    (before, on_day) = reminders_due(
        compute_deadlines(ASPIRASI, POLICY, calendar, now=now), POLICY, calendar, now
    )
    assert before.key == ("answer", "before-2", date(2025, 1, 13))
    assert before.idempotency_key("LPR-7K3M9Q") == "sla:LPR-7K3M9Q:answer:before-2:2025-01-13"
    assert on_day.send_at == wib(2025, 1, 13, 8)


def test_no_reminders_once_answered_or_while_pending() -> None:
    calendar = WorkingCalendar.from_directory(region="rembang")
    now = wib(2025, 1, 14, 9)
    answered = Timeline(
        ASPIRASI.received_at, "aspirasi", ASPIRASI.disposed_at, answered_at=wib(2025, 1, 14, 8)
    )
    pending = Timeline(
        ASPIRASI.received_at,
        "aspirasi",
        ASPIRASI.disposed_at,
        pauses=(Pause(wib(2025, 1, 8, 9)),),
    )
    for timeline in (answered, pending):
        result = compute_deadlines(timeline, POLICY, calendar, now=now)
        assert reminders_due(result, POLICY, calendar, now) == []


def test_overdue_reminder_waits_for_the_next_working_day() -> None:
    # Pengaduan due Fri 24 Jan 2025; Mon 27 - Wed 29 are off, so after-1 is Thu 30 Jan 08:00.
    calendar = WorkingCalendar.from_directory(region="rembang")
    timeline = Timeline(wib(2025, 1, 3, 15), "pengaduan", disposed_at=wib(2025, 1, 6, 10))
    for now, expected in ((wib(2025, 1, 29, 12), []), (wib(2025, 1, 30, 8), ["after-1"])):
        result = compute_deadlines(timeline, POLICY, calendar, now=now)
        assert [r.label for r in reminders_due(result, POLICY, calendar, now)] == expected


def test_a_reminder_before_the_clock_started_is_skipped() -> None:
    # Verify in 1 working day from Mon 6 Jan: due Tue 7; "2 days before" would be Fri 3 Jan,
    # before the complaint existed.
    policy = SlaPolicy(verify_working_days=1, reminder_offsets={"verify": (-2, 0)})
    calendar = WorkingCalendar.from_directory(region="rembang")
    now = wib(2025, 1, 7, 9)
    result = compute_deadlines(Timeline(wib(2025, 1, 6, 9)), policy, calendar, now=now)
    assert [r.label for r in reminders_due(result, policy, calendar, now)] == ["on-day"]


def test_hourly_sweeps_with_restarts_send_each_reminder_once() -> None:
    # A pengaduan pended for 3 working days (due moves from Fri 24 Jan to Mon 3 Feb, see above).
    # An hourly sweep from 6 Jan to 10 Feb, "restarting" (a fresh calendar) every day, keeps a
    # set of sent idempotency keys like the outbox does.
    timeline = Timeline(
        wib(2025, 1, 3, 15),
        "pengaduan",
        disposed_at=wib(2025, 1, 6, 10),
        pauses=(Pause(wib(2025, 1, 8, 9), wib(2025, 1, 13, 9)),),
    )
    sent: dict[str, datetime] = {}
    now = wib(2025, 1, 6, 11)
    calendar = WorkingCalendar.from_directory(region="rembang")
    while now < wib(2025, 2, 10):
        if now.hour == 0:
            calendar = WorkingCalendar.from_directory(region="rembang")
        result = compute_deadlines(timeline, POLICY, calendar, now=now)
        for reminder in reminders_due(result, POLICY, calendar, now):
            sent.setdefault(reminder.idempotency_key("LPR-TEST01"), now)
        now += timedelta(hours=1)
    # Due Mon 3 Feb: before-2 = Thu 30 Jan (Fri 31 is -1), on-day Mon 3 Feb, after-1 Tue 4 Feb.
    assert sent == {
        "sla:LPR-TEST01:answer:before-2:2025-02-03": wib(2025, 1, 30, 8),
        "sla:LPR-TEST01:answer:on-day:2025-02-03": wib(2025, 2, 3, 8),
        "sla:LPR-TEST01:answer:after-1:2025-02-03": wib(2025, 2, 4, 8),
    }


# --------------------------------------------------------------------------------------------
# Policy
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"verify_working_days": 0}, "verify_working_days"),
        ({"answer_working_days": {"aspirasi": 5}}, "no answer deadline"),
        (
            {
                "answer_working_days": {
                    "aspirasi": 5,
                    "permintaan_informasi": 5,
                    "pengaduan": -1,
                    "pengaduan_berkadar_pengawasan": 60,
                }
            },
            r"answer_working_days\[pengaduan\]",
        ),
        ({"reminder_offsets": {"jawaban": (0,)}}, "unknown clock 'jawaban'"),
    ],
)
def test_a_bad_policy_is_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SlaPolicy(**options)  # type: ignore[arg-type]


def test_policy_days_are_configurable() -> None:
    faster = SlaPolicy(
        verify_working_days=1,
        answer_working_days={
            "aspirasi": 3,
            "permintaan_informasi": 3,
            "pengaduan": 10,
            "pengaduan_berkadar_pengawasan": 30,
        },
    )
    result = deadlines(ASPIRASI, now=wib(2025, 1, 6, 11), policy=faster)
    assert result.verify_due == end_of(2025, 1, 6)  # received Fri 3 Jan: Mon 6 = 1
    assert result.answer_due == end_of(2025, 1, 9)  # disposed Mon 6: 7, 8, 9


def test_a_disposed_complaint_needs_a_known_category() -> None:
    with pytest.raises(ValueError, match="category"):
        deadlines(Timeline(wib(2025, 1, 3), disposed_at=wib(2025, 1, 6)), now=wib(2025, 1, 6))
    with pytest.raises(ValueError, match="'keluhan'"):
        deadlines(
            Timeline(wib(2025, 1, 3), "keluhan", disposed_at=wib(2025, 1, 6)), now=wib(2025, 1, 6)
        )
