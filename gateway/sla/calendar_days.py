"""Days admins declare off (an extra holiday: a sudden cuti bersama, a regional day the files do
not have yet) or on (a working day after all), and the working-day calendar built with them.

The holiday files (`config/holidays/`) are read once; the admins' days live in the database and
change at run time. Every change raises a version stamp in `gateway_state`, so every gateway
instance (several may share PostgreSQL) rebuilds its calendar: at once in the instance that made
the change, within `CALENDAR_CHECK_SECONDS` in the others, and at the start of every sweep. The
sweep also recomputes the stored deadlines of open complaints when the version moved.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlmodel import Session, col

from config.settings import Settings
from gateway.clock import utcnow
from gateway.store.db import Database
from gateway.store.models import CalendarDay, GatewayState
from workdays.calendar import (
    Holiday,
    HolidayConfig,
    HolidayKind,
    WorkingCalendar,
    load_holiday_config,
)

VERSION_KEY = "calendar:version"


class DayKind(StrEnum):
    HOLIDAY = "holiday"
    WORKING_DAY = "working_day"


class CalendarDayInvalid(ValueError):
    """An admin's entry is refused; `key` names the message under `admin.errors.`."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(key)


# --- what admins declared --------------------------------------------------------------------


def active_days(session: Session, year: int | None = None) -> list[CalendarDay]:
    query = select(CalendarDay).where(col(CalendarDay.removed_at).is_(None))
    if year is not None:
        query = query.where(
            col(CalendarDay.day) >= date(year, 1, 1), col(CalendarDay.day) <= date(year, 12, 31)
        )
    return list(session.scalars(query.order_by(col(CalendarDay.day))).all())


def removed_days(session: Session, year: int) -> list[CalendarDay]:
    query = (
        select(CalendarDay)
        .where(col(CalendarDay.removed_at).is_not(None))
        .where(col(CalendarDay.day) >= date(year, 1, 1), col(CalendarDay.day) <= date(year, 12, 31))
        .order_by(col(CalendarDay.removed_at).desc())
    )
    return list(session.scalars(query).all())


def add_day(
    session: Session,
    day: date,
    kind: DayKind,
    *,
    name: str,
    reason: str,
    actor: str,
    now: datetime | None = None,
) -> CalendarDay:
    """Declare a day off or on; the caller commits. One active entry per date."""
    name, reason = name.strip(), reason.strip()
    if not reason:
        raise CalendarDayInvalid("reason_required")
    if kind is DayKind.HOLIDAY and not name:
        raise CalendarDayInvalid("holiday_name_required")
    if len(name) > 200 or len(reason) > 2000:
        raise CalendarDayInvalid("too_long")
    taken = session.scalar(
        select(col(CalendarDay.id))
        .where(col(CalendarDay.day) == day)
        .where(col(CalendarDay.removed_at).is_(None))
    )
    if taken is not None:
        raise CalendarDayInvalid("calendar_day_exists")
    entry = CalendarDay(
        day=day,
        kind=kind.value,
        name=name,
        reason=reason,
        created_by=actor,
        created_at=now or utcnow(),
    )
    session.add(entry)
    bump_version(session)
    return entry


def remove_day(
    session: Session, entry_id: int, *, reason: str, actor: str, now: datetime | None = None
) -> CalendarDay:
    """Withdraw an admin's day (kept, with who and why); the caller commits."""
    reason = reason.strip()
    if not reason:
        raise CalendarDayInvalid("reason_required")
    entry = session.get(CalendarDay, entry_id)
    if entry is None or entry.removed_at is not None:
        raise CalendarDayInvalid("calendar_day_unknown")
    entry.removed_at = now or utcnow()
    entry.removed_by = actor
    entry.removal_reason = reason[:2000]
    session.add(entry)
    bump_version(session)
    return entry


def bump_version(session: Session) -> str:
    """A new calendar version: every instance rebuilds, the sweep re-dates open complaints."""
    row = session.get(GatewayState, VERSION_KEY) or GatewayState(key=VERSION_KEY)
    row.value = uuid.uuid4().hex
    row.updated_at = utcnow()
    session.add(row)
    return row.value


def current_version(session: Session) -> str:
    row = session.get(GatewayState, VERSION_KEY)
    return row.value if row is not None else ""


# --- the calendar ----------------------------------------------------------------------------


def build_calendar(
    config: HolidayConfig, timezone: str, days: list[CalendarDay]
) -> WorkingCalendar:
    holidays = [
        Holiday(d.day, d.name, HolidayKind.ADMIN, source=f"admin ({d.created_by})")
        for d in days
        if d.kind == DayKind.HOLIDAY
    ]
    working = [d.day for d in days if d.kind == DayKind.WORKING_DAY]
    return WorkingCalendar(
        config, timezone=timezone, extra_holidays=holidays, extra_working_days=working
    )


def load_files(settings: Settings) -> HolidayConfig:
    """The holiday files; raises `workdays.calendar.HolidayFileError` naming the file and line."""
    return load_holiday_config(settings.holiday_dir, region=settings.holiday_region or None)


class CalendarSource:
    """The gateway's current calendar: files read once, admins' days re-read when the version
    stamp changes (checked at most every `check_seconds`, or at once after `invalidate()`)."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        check_seconds: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.db = db
        self.check_seconds = check_seconds
        self._monotonic = monotonic
        self._files: HolidayConfig | None = None
        self._calendar: WorkingCalendar | None = None
        self._version: str | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    @property
    def files(self) -> HolidayConfig:
        if self._files is None:
            self._files = load_files(self.settings)
        return self._files

    def invalidate(self) -> None:
        """Check the version on the next use (after a change made here, or before a sweep)."""
        self._checked_at = float("-inf")

    def current(self, session: Session | None = None) -> WorkingCalendar:
        """The calendar, its version checked if due. Inside a transaction pass its `session`:
        the check then reads through it. Opening a second pooled connection there deadlocked
        the pool under load (issue 12: every worker held one connection and waited for a
        second); without a session a short read session of its own is used."""
        with self._lock:
            if self._calendar is None or self._monotonic() - self._checked_at >= self.check_seconds:
                if session is not None:
                    self._reload_if_changed(session)
                else:
                    with self.db.read_session() as own:
                        self._reload_if_changed(own)
            assert self._calendar is not None
            return self._calendar

    def _reload_if_changed(self, session: Session) -> None:
        files = self.files
        version = current_version(session)
        if self._calendar is None or version != self._version:
            days = active_days(session)
            self._calendar = build_calendar(files, self.settings.timezone, days)
            self._version = version
        self._checked_at = self._monotonic()

    @property
    def version(self) -> str | None:
        """The version the current calendar was built from."""
        return self._version
