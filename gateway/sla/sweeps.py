"""The SLA sweeps: what the clock does by itself, run by the scheduler's leader and by
`lapor-gateway sweep [--now ...]`.

- **Reminders** to the agency's liaison officers over WhatsApp before the answer deadline, on the
  day and when overdue (`workdays.deadlines.reminders_due`). Each one is an outbox row per liaison
  officer keyed by the reminder's stable key (`<code>:sla:answer:before-2:<due date>:liaison:<id>`),
  so it is queued once whatever the restarts, instances or clock changes; the first time it is
  queued it is written on the complaint's timeline.
- **Escalation** (Ombudsman): an answer still missing past its escalation deadline raises
  `escalated`, with `escalated_at` the instant it became overdue, once, audited.
- **Automatic close**: an answer the reporters let pass for the feedback window (10 working days)
  closes the case and every reporter is told once — that nobody responded, or, when a reporter
  of the case did respond, that the case closed after their feedback (never "no response").

The sweeps act on cases: a complaint that follows another one's case (docs/clusters.md) gets
no reminder, escalation or close of its own; it mirrors its case through `lifecycle.step`.
- **Re-dating**: when admins changed the holidays, every open complaint's stored deadlines are
  recomputed with the new calendar.
- **Daily digest** (`gateway/reports/digest.py`) to the koordinators.

Every step is idempotent by construction: running a sweep twice, or on two instances at once,
queues nothing twice. Each complaint is handled in its own transaction; one that an admin
changes meanwhile is left for the next sweep.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, or_, select
from sqlmodel import Session, col

from gateway.clock import utcnow
from gateway.complaints import feedback, lifecycle, workflow
from gateway.core import sync as core_sync
from gateway.outbox import queue as outbox
from gateway.outbox import recipients as notify
from gateway.reports import digest
from gateway.sla import calendar_days, deadlines
from gateway.store.db import row_ids
from gateway.store.models import Agency, Complaint, GatewayState, Status
from workdays.deadlines import Deadlines, Reminder, reminders_due

if TYPE_CHECKING:
    from gateway.parts import Sweeping

log = logging.getLogger(__name__)

ANSWER_RUNNING = (Status.DISPOSED.value, Status.IN_PROGRESS.value)
DATED_WITH_KEY = "sla:deadlines_calendar_version"  # the calendar version stored deadlines use
BATCH = 500


@dataclass
class SweepResult:
    reminders: int = 0  # outbox rows queued (one per liaison officer and reminder)
    escalated: int = 0
    closed: int = 0
    redated: int = 0
    digests: int = 0
    skipped: list[str] = field(default_factory=list)  # changed by someone else meanwhile

    def lines(self) -> list[str]:
        return [
            f"reminders queued: {self.reminders}",
            f"escalated: {self.escalated}",
            f"closed automatically: {self.closed}",
            f"deadlines recomputed after a holiday change: {self.redated}",
            f"digests queued: {self.digests}",
            *([f"left for the next sweep: {', '.join(self.skipped)}"] if self.skipped else []),
        ]


def run(gateway: Sweeping, now: datetime | None = None, *, with_digest: bool = True) -> SweepResult:
    """Every sweep once, as of `now` (the demo moves the clock with `--now`)."""
    now = now or utcnow()
    gateway.calendar_source.invalidate()  # an admin may have changed the holidays elsewhere
    result = SweepResult()
    result.redated = redate_open_complaints(gateway, now)
    answer_clocks(gateway, now, result)
    close_silent(gateway, now, result)
    if with_digest and gateway.settings.digest_enabled:
        result.digests = digest.send(gateway, now)
    log.info(
        "sla sweep",
        extra={
            "reminders": result.reminders,
            "escalated": result.escalated,
            "closed": result.closed,
            "redated": result.redated,
            "digests": result.digests,
        },
    )
    return result


# --- reminders and escalation ------------------------------------------------------------------


def _answer_candidates(gateway: Sweeping, now: datetime) -> list[int]:
    """Complaints whose answer clock may owe a reminder or an escalation at `now`: a superset,
    narrowed by the stored deadline (kept current by `refresh` and `redate_open_complaints`);
    each is then checked exactly against its history."""
    calendar, policy = gateway.calendar, gateway.sla_policy
    lead = max((-o for o in policy.reminder_offsets.get("answer", ()) if o < 0), default=0)
    horizon = calendar.end_of_day(calendar.shift_working_days(calendar.local_date(now), lead + 1))
    conditions: list[ColumnElement[bool]] = [col(Complaint.answer_due_at) <= horizon]
    if policy.escalation_working_days is not None:
        # n working days span at least n calendar days.
        oldest = now - timedelta(days=policy.escalation_working_days)
        conditions.append(
            col(Complaint.escalated).is_(False) & (col(Complaint.disposed_at) <= oldest)
        )
    with gateway.db.read_session() as session:
        return row_ids(
            session.scalars(
                select(col(Complaint.id))
                .where(col(Complaint.status).in_(ANSWER_RUNNING))
                .where(col(Complaint.cluster_id).is_(None))
                .where(or_(*conditions))
                .order_by(col(Complaint.id))
            )
        )


def answer_clocks(gateway: Sweeping, now: datetime, result: SweepResult) -> None:
    for complaint_id in _answer_candidates(gateway, now):
        try:
            with gateway.db.session() as session:
                complaint = session.get(Complaint, complaint_id)
                if complaint is None or complaint.status not in ANSWER_RUNNING:
                    continue
                current = deadlines.refresh(gateway, session, complaint, now)
                result.reminders += remind_liaisons(gateway, session, complaint, current, now)
                result.escalated += escalate(gateway, session, complaint, current, now)
                lifecycle.propagate(session, complaint, now)
                workflow.commit(session)
        except workflow.ConcurrentUpdate:
            result.skipped.append(str(complaint_id))


def remind_liaisons(
    gateway: Sweeping, session: Session, complaint: Complaint, current: Deadlines, now: datetime
) -> int:
    """Queue the reminders due now; returns how many outbox rows were new."""
    agency = session.get(Agency, complaint.agency_id) if complaint.agency_id else None
    if agency is None:
        return 0
    queued = 0
    calendar = gateway.calendar_in(session)
    for reminder in reminders_due(current, gateway.sla_policy, calendar, now):
        new = _queue_reminder(gateway, session, complaint, agency, reminder)
        if new:
            workflow.note(
                session,
                complaint,
                actor="system",
                action="sla_reminder",
                note=reminder_note(reminder, new),
                after={
                    "key": reminder.idempotency_key(complaint.tracking_code),
                    "recipients": new,
                },
                now=now,
            )
        queued += new
    return queued


def _queue_reminder(
    gateway: Sweeping, session: Session, complaint: Complaint, agency: Agency, reminder: Reminder
) -> int:
    if reminder.offset < 0:
        text_key = "notify.liaison_reminder_before"
    elif reminder.offset == 0:
        text_key = "notify.liaison_reminder_on_day"
    else:
        text_key = "notify.liaison_reminder_overdue"
    clock, label, due_date = reminder.key
    messages = notify.to_liaisons(
        session,
        complaint,
        agency,
        text_key,
        event_key=f"sla:{clock}:{label}:{due_date.isoformat()}",
        kind="reminder",
        base_url=gateway.settings.public_base_url,
        channel=gateway.settings.liaison_whatsapp_channel,
        deadline=due_date.strftime("%d-%m-%Y"),
        days=str(abs(reminder.offset)),
    )
    return sum(outbox.enqueue(session, message) for message in messages)


def reminder_note(reminder: Reminder, recipients: int) -> str:
    """What the timeline says (admins read the key: before-2, on-day, after-1, and the date)."""
    return f"{reminder.label} · {reminder.due_date.isoformat()} · {recipients}"


def escalate(
    gateway: Sweeping, session: Session, complaint: Complaint, current: Deadlines, now: datetime
) -> int:
    if complaint.escalated or not current.should_escalate(now):
        return 0
    lifecycle.step(
        gateway,
        session,
        complaint,
        None,
        actor="system",
        action="escalated",
        changes={"escalated": True, "escalated_at": current.escalation_due},
        note=current.answer.due_date.isoformat() if current.answer else None,
        now=now,
    )
    return 1


# --- automatic close ---------------------------------------------------------------------------


def close_silent(gateway: Sweeping, now: datetime, result: SweepResult) -> None:
    """Answered, and the reporter said nothing for the feedback window: closed, reporter told."""
    with gateway.db.read_session() as session:
        ids = list(
            session.scalars(
                select(col(Complaint.id))
                .where(col(Complaint.status) == Status.ANSWERED.value)
                .where(col(Complaint.cluster_id).is_(None))
                .where(col(Complaint.feedback_due_at) < now)
                .order_by(col(Complaint.id))
            ).all()
        )
    for complaint_id in ids:
        try:
            with gateway.db.session() as session:
                complaint = session.get(Complaint, complaint_id)
                if complaint is None or complaint.status != Status.ANSWERED.value:
                    continue
                current = deadlines.compute(
                    session, complaint, gateway.calendar_in(session), gateway.sla_policy, now
                )
                if not current.should_close(now):
                    deadlines.apply(complaint, current)  # stored date was stale
                    lifecycle.propagate(session, complaint, now)
                    workflow.commit(session)
                    continue
                result.closed += close(gateway, session, complaint, now)
                workflow.commit(session)
        except workflow.ConcurrentUpdate:
            result.skipped.append(str(complaint_id))


def close(gateway: Sweeping, session: Session, complaint: Complaint, now: datetime) -> int:
    """The feedback window passed: the case closes, every reporter told once. When a reporter
    of the case responded, nobody is told "no response"."""
    answered = feedback.anyone_answered(session, complaint)
    lifecycle.step(
        gateway,
        session,
        complaint,
        Status.CLOSED,
        actor="system",
        action="auto_closed",
        public=True,
        notice=lifecycle.Notice(
            Status.CLOSED,
            key="auto_closed",
            text_key="reporter.status_closed_after_feedback"
            if answered
            else "reporter.status_closed_auto",
            values={"days": str(gateway.sla_policy.feedback_working_days)},
        ),
        now=now,
    )
    core_sync.enqueue(
        session,
        core_sync.close_message(
            gateway,
            session,
            complaint,
            core_sync.CLOSED_AFTER_FEEDBACK if answered else core_sync.CLOSED_SILENT,
        ),
    )
    return 1


# --- holidays changed --------------------------------------------------------------------------


def redate_open_complaints(gateway: Sweeping, now: datetime) -> int:
    """Admins changed the holidays since the stored deadlines were computed: recompute them for
    every open complaint (in batches), then remember which calendar they follow."""
    calendar_version = _calendar_version(gateway)
    with gateway.db.read_session() as session:
        row = session.get(GatewayState, DATED_WITH_KEY)
        dated_with = row.value if row else ""
    if calendar_version == dated_with:
        return 0
    open_states = [s.value for s in workflow.OPEN_STATES]
    redated, last_id = 0, 0
    while True:
        with gateway.db.session() as session:
            batch = session.scalars(
                select(Complaint)
                .where(col(Complaint.status).in_(open_states))
                .where(col(Complaint.id) > last_id)
                .order_by(col(Complaint.id))
                .limit(BATCH)
            ).all()
            if not batch:
                break
            for complaint in batch:
                if lifecycle.is_follower(complaint):
                    continue  # it mirrors its case, refreshed below
                deadlines.refresh(gateway, session, complaint, now)
                lifecycle.propagate(session, complaint, now)
            last_id = batch[-1].id  # type: ignore[assignment]
            redated += len(batch)
            try:
                workflow.commit(session)
            except workflow.ConcurrentUpdate:
                return redated  # an admin acted meanwhile; the next sweep starts over
    with gateway.db.session() as session:
        row = session.get(GatewayState, DATED_WITH_KEY) or GatewayState(key=DATED_WITH_KEY)
        row.value = calendar_version
        row.updated_at = utcnow()
        session.add(row)
        session.commit()
    return redated


def _calendar_version(gateway: Sweeping) -> str:
    with gateway.db.read_session() as session:
        return calendar_days.current_version(session)
