"""Status changes worth telling the reporter (verified, disposed to agency X, being processed,
answered, closed...), configurable per status with REPORTER_STATUS_NOTICES. One message per
reporter of the cluster, on their own channel and in their language."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session

from channels.base import Media
from gateway import notify
from gateway.models import Agency, Complaint, Status
from gateway.outbox import OutboxMessage

if TYPE_CHECKING:
    from gateway.context import Gateway


def notices(
    gateway: Gateway,
    session: Session,
    complaint: Complaint,
    status: Status,
    *,
    event_key: str,
    media: tuple[Media, ...] = (),
    answer: str = "",
    reason: str = "",
    text_key: str | None = None,
    **values: str,
) -> list[OutboxMessage]:
    """`text_key` replaces the status's usual text (e.g. the automatic close says why)."""
    if status.value not in gateway.reporter_notice_statuses:
        return []
    agency = session.get(Agency, complaint.agency_id) if complaint.agency_id else None
    return notify.to_cluster(
        session,
        complaint,
        text_key or f"reporter.status_{status.value}",
        event_key=event_key,
        kind="answer" if status is Status.ANSWERED else "status",
        media=media,
        sms_copies=gateway.settings.webform_sms_copies and bool(gateway.settings.twilio_sms_number),
        agency=agency.name if agency else "instansi",
        answer=answer,
        reason=reason,
        **values,
    )
