"""Deadlines and reminders in working days, from a complaint's timeline (pure).

- `compute_deadlines()`: the verification, answer, feedback and escalation deadlines of one
  complaint from its timeline, with the clock paused while the complaint is `pending`.
- `reminders_due()`: which reminders are due at a moment, each with a deterministic key so the
  sweep sends each one exactly once.

The counting rules are in docs/sla.md; in short: day 1 is the first working day after the day of
receipt, a deadline is the last instant of its day, and elapsed working days are counted over
the half-open span (start day, end day]. The database side (reading the audit log, storing the
deadlines) is gateway/sla/deadlines.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from types import MappingProxyType
from typing import Literal, cast

from workdays.calendar import ONE_MICROSECOND, WorkingCalendar, require_aware

# The four classes of report (DESIGN.md) and their answer deadlines in working days (seeds).
CATEGORIES = ("aspirasi", "permintaan_informasi", "pengaduan", "pengaduan_berkadar_pengawasan")

ClockName = Literal["verify", "answer", "feedback", "escalation"]
CLOCKS: tuple[ClockName, ...] = ("verify", "answer", "feedback", "escalation")

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
        require_aware(self.start)
        if self.end is not None and require_aware(self.end) < self.start:
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
                require_aware(instant)
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
        return self.due + ONE_MICROSECOND

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
        and require_aware(now) > deadline.due
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
    require_aware(now)
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
    require_aware(now)
    due: list[Reminder] = []
    for key, offsets in policy.reminder_offsets.items():
        name = cast(ClockName, key)  # SlaPolicy checked every key against CLOCKS
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
