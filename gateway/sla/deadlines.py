"""A complaint's deadlines, recomputed from its history with the working-day calendar.

The clock's inputs come from the audit log (when it was disposed, re-disposed, answered,
paused), so recomputing is always safe: call `refresh()` after any transition that matters and
the `*_due_at` columns follow.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlmodel import Session, col

from config.settings import Settings
from gateway.clock import as_utc, utcnow
from gateway.complaints.workflow import FOLLOWS_CASE
from gateway.store.models import Complaint, ComplaintEvent, InboundMessage, Status
from workdays.calendar import WorkingCalendar
from workdays.deadlines import Deadlines, Pause, SlaPolicy, Timeline, compute_deadlines


class _HasClock(Protocol):
    @property
    def calendar(self) -> WorkingCalendar: ...

    def calendar_in(self, session: Session) -> WorkingCalendar: ...

    @property
    def sla_policy(self) -> SlaPolicy: ...


ENDED = {Status.ARCHIVED, Status.RETURNED, Status.MERGED, Status.CLOSED}
DEFAULT_CATEGORY = "pengaduan"
# Complaints filed in SP4N-LAPOR! itself (gateway/core/intake.py).
LAPOR_CHANNEL = "lapor"


def policy_from(settings: Settings) -> SlaPolicy:
    return SlaPolicy(
        verify_working_days=settings.sla_verify_working_days,
        answer_working_days={
            "aspirasi": settings.sla_aspirasi_days,
            "permintaan_informasi": settings.sla_permintaan_informasi_days,
            "pengaduan": settings.sla_pengaduan_days,
            "pengaduan_berkadar_pengawasan": settings.sla_pengaduan_berkadar_pengawasan_days,
        },
        feedback_working_days=settings.sla_feedback_working_days,
        escalation_working_days=settings.sla_escalation_working_days,
        reminder_offsets={"answer": tuple(settings.sla_answer_reminders)},
        reminder_time=settings.sla_reminder_time,
    )


def calendar_from(settings: Settings) -> WorkingCalendar:
    return WorkingCalendar.from_directory(
        settings.holiday_dir, region=settings.holiday_region, timezone=settings.timezone
    )


def timeline_of(session: Session, complaint: Complaint) -> Timeline:
    events = session.scalars(
        select(ComplaintEvent)
        .where(col(ComplaintEvent.complaint_id) == complaint.id)
        .where(col(ComplaintEvent.to_status).is_not(None))
        # A follower's clock is its case's: what it mirrored is not its own history.
        .where(col(ComplaintEvent.action) != FOLLOWS_CASE)
        .order_by(col(ComplaintEvent.id))
    ).all()
    pauses: list[Pause] = []
    paused_at: datetime | None = None
    reassigned_at: datetime | None = None
    ended_at: datetime | None = None
    for event in events:
        if event.to_status == Status.PENDING:
            paused_at = event.created_at
        elif event.from_status == Status.PENDING and paused_at is not None:
            pauses.append(Pause(paused_at, event.created_at))
            paused_at = None
        if event.to_status == Status.DISPOSED and event.from_status in (
            Status.DISPOSED,
            Status.IN_PROGRESS,
        ):
            reassigned_at = event.created_at  # re-disposition restarts the answer clock
        if event.from_status == Status.ANSWERED and event.to_status == Status.IN_PROGRESS:
            reassigned_at = event.created_at  # reopened after TIDAK PUAS
        if event.to_status in ENDED:
            ended_at = event.created_at
    if paused_at is not None:
        pauses.append(Pause(paused_at, None))
    answered_at = (
        complaint.answered_at if complaint.status in (Status.ANSWERED, Status.CLOSED) else None
    )
    return Timeline(
        received_at=clock_start(session, complaint),
        category=(complaint.category or DEFAULT_CATEGORY)
        if complaint.disposed_at
        else complaint.category,
        disposed_at=complaint.disposed_at,
        answered_at=answered_at,
        pauses=pauses,
        ended_at=ended_at if complaint.status in ENDED else None,
        reassigned_at=reassigned_at,
    )


def clock_start(session: Session, complaint: Complaint) -> datetime:
    """When the regency's clock starts: when the complaint was received — for a report filed in
    SP4N-LAPOR! itself, when LAPOR!'s national admin disposed it to the regency (its inbound row
    keeps the time; weeks may lie between filing and disposition, none of them the regency's)."""
    if complaint.origin_channel != LAPOR_CHANNEL or complaint.id is None:
        return complaint.received_at
    extra = session.scalar(
        select(col(InboundMessage.extra))
        .where(col(InboundMessage.complaint_id) == complaint.id)
        .where(col(InboundMessage.channel) == LAPOR_CHANNEL)
        .order_by(col(InboundMessage.id))
        .limit(1)
    )
    disposed = (extra or {}).get("disposed_at")
    try:
        start = datetime.fromisoformat(disposed) if disposed else None
    except ValueError:
        start = None
    if start is None or start.tzinfo is None:
        return complaint.received_at
    return max(as_utc(complaint.received_at), start)


def compute(
    session: Session,
    complaint: Complaint,
    calendar: WorkingCalendar,
    policy: SlaPolicy,
    now: datetime | None = None,
) -> Deadlines:
    return compute_deadlines(timeline_of(session, complaint), policy, calendar, now=now or utcnow())


def apply(complaint: Complaint, deadlines: Deadlines) -> None:
    complaint.verify_due_at = deadlines.verify_due
    complaint.answer_due_at = deadlines.answer_due
    complaint.feedback_due_at = deadlines.feedback_due


def refresh(
    gateway: _HasClock, session: Session, complaint: Complaint, now: datetime | None = None
) -> Deadlines:
    """Recompute and store the complaint's deadlines (call after a transition that matters)."""
    session.flush()  # the events just written count
    calendar = gateway.calendar_in(session)  # never a second connection inside the transaction
    deadlines = compute(session, complaint, calendar, gateway.sla_policy, now)
    apply(complaint, deadlines)
    session.add(complaint)
    return deadlines
