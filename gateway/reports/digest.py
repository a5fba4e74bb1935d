"""The koordinators' daily digest: what waits for them and for the agencies this morning.

Two ways to read it: the page `/admin/digest` (always there, for every koordinator), and a
WhatsApp message at `DIGEST_TIME` on working days to each active koordinator whose account has
a WhatsApp number (the admins' own WhatsApp group habit in the SOPs, without asking them to open
the inbox first). Verification that is overdue is counted here rather than sent as one message
per complaint: the koordinators work the inbox anyway, and one message a day is read, twenty
are muted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlmodel import Session, col

from config.messages import t
from gateway.complaints import lifecycle
from gateway.outbox import queue as outbox
from gateway.outbox.delivery import NOTIFY_ADMIN
from gateway.outbox.payloads import ChannelPayload
from gateway.outbox.queue import OutboxMessage
from gateway.outbox.recipients import koordinators_on_whatsapp
from gateway.store.models import Agency, Complaint, ComplaintEvent, Status
from workdays.calendar import WorkingCalendar

if TYPE_CHECKING:
    from gateway.parts import TimedStore

S = Status
VERIFYING = (S.RECEIVED.value, S.VERIFIED.value)
ANSWERING = (S.DISPOSED.value, S.IN_PROGRESS.value)


@dataclass(frozen=True)
class AgencyLate:
    agency_id: int | None
    agency: str
    overdue: int


@dataclass(frozen=True)
class Digest:
    day: date  # the local date the digest is for
    since: datetime  # "new" counts from here: the previous working day's digest time
    received: int  # new complaints since `since`
    to_verify: int  # received, waiting for verification
    verify_overdue: int
    answers_due_today: int
    answers_overdue: int
    escalated_open: int
    awaiting_feedback: int
    closed_automatically: int  # since `since`
    redisposition_requested: int
    late_by_agency: list[AgencyLate] = field(default_factory=list)


def _count(session: Session, *conditions: object) -> int:
    """Complaints waiting for someone: a case once, not once per reporter (docs/clusters.md)."""
    query = select(func.count()).select_from(Complaint).where(lifecycle.not_follower())
    for condition in conditions:
        query = query.where(condition)  # type: ignore[arg-type]
    return int(session.scalar(query) or 0)


def figures(
    session: Session, calendar: WorkingCalendar, now: datetime, digest_time: time
) -> Digest:
    """The digest as of `now`; "new" counts from the previous working day at `digest_time`."""
    today = calendar.local_date(now)
    since = calendar.at_local_time(calendar.shift_working_days(today, -1), digest_time)
    today_start, today_end = calendar.start_of_day(today), calendar.end_of_day(today)
    status = Complaint.status
    late = session.execute(
        select(col(Complaint.agency_id), col(Agency.name), func.count())
        .select_from(Complaint)
        .join(Agency, col(Agency.id) == col(Complaint.agency_id), isouter=True)
        .where(status.in_(ANSWERING))  # type: ignore[attr-defined]
        .where(col(Complaint.answer_due_at) < now)
        .where(lifecycle.not_follower())
        .group_by(col(Complaint.agency_id), col(Agency.name))
        .order_by(func.count().desc(), Agency.name)
    ).all()
    closed = session.scalar(
        select(func.count())
        .select_from(ComplaintEvent)
        .where(col(ComplaintEvent.action) == "auto_closed")
        .where(col(ComplaintEvent.created_at) >= since)
        .where(col(ComplaintEvent.created_at) <= now)
    )
    return Digest(
        day=today,
        since=since,
        received=_count(
            session,
            Complaint.received_at >= since,
            Complaint.received_at <= now,
            status != S.MERGED.value,
        ),
        to_verify=_count(session, status == S.RECEIVED.value),
        verify_overdue=_count(
            session,
            status.in_(VERIFYING),  # type: ignore[attr-defined]
            Complaint.verify_due_at < now,  # type: ignore[operator]
        ),
        answers_due_today=_count(
            session,
            status.in_(ANSWERING),  # type: ignore[attr-defined]
            Complaint.answer_due_at >= today_start,  # type: ignore[operator]
            Complaint.answer_due_at <= today_end,  # type: ignore[operator]
        ),
        answers_overdue=sum(row[2] for row in late),
        escalated_open=_count(
            session,
            col(Complaint.escalated).is_(True),
            status.in_(ANSWERING),  # type: ignore[attr-defined]
        ),
        awaiting_feedback=_count(session, status == S.ANSWERED.value),
        closed_automatically=int(closed or 0),
        redisposition_requested=_count(
            session,
            col(Complaint.redisposition_requested_at).is_not(None),
            status.in_(ANSWERING),  # type: ignore[attr-defined]
        ),
        late_by_agency=[AgencyLate(row[0], row[1] or "—", int(row[2])) for row in late],
    )


def text(lang: str, digest: Digest, link: str) -> str:
    """The WhatsApp message (and its template variables)."""
    return t(lang, "digest.whatsapp", **variables(digest, link))


def variables(digest: Digest, link: str) -> dict[str, str]:
    return {
        "date": digest.day.strftime("%d-%m-%Y"),
        "received": str(digest.received),
        "to_verify": str(digest.to_verify),
        "verify_overdue": str(digest.verify_overdue),
        "due_today": str(digest.answers_due_today),
        "overdue": str(digest.answers_overdue),
        "escalated": str(digest.escalated_open),
        "closed": str(digest.closed_automatically),
        "link": link,
    }


def send(gateway: TimedStore, now: datetime) -> int:
    """Queue today's digest to every koordinator with a WhatsApp number, once a day, from
    `DIGEST_TIME` local on working days. Returns how many messages were new."""
    calendar, settings = gateway.calendar, gateway.settings
    today = calendar.local_date(now)
    send_at = calendar.at_local_time(today, settings.digest_time)
    if not calendar.is_working_day(today) or now < send_at:
        return 0
    link = f"{settings.public_base_url}/admin/digest"
    queued = 0
    with gateway.db.session() as session:
        recipients = koordinators_on_whatsapp(session)
        if not recipients:
            return 0
        digest = figures(session, calendar, now, settings.digest_time)
        values = variables(digest, link)
        for user in recipients:
            message = OutboxMessage(
                kind=NOTIFY_ADMIN,
                key=f"digest:{today.isoformat()}:user:{user.id}",
                channel=settings.liaison_whatsapp_channel,
                recipient=user.whatsapp,
                payload=ChannelPayload(
                    t(user.language, "digest.whatsapp", **values),
                    kind="digest",
                    language=user.language,
                    template_variables=values,
                ),
            )
            queued += outbox.enqueue(session, message)
        session.commit()
    return queued
