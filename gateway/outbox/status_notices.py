"""Status changes worth telling the reporters (verified, disposed to agency X, being processed,
answered, closed...), configurable per status with REPORTER_STATUS_NOTICES. One message per
reporter of the case (a cluster is one case), on their own channel and in their language;
web-form reporters read a variant that points to their private link instead of "reply PUAS".
An answer also puts a short public note under the comment a complaint started from."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

from sqlmodel import Session

from channels.base import Media
from gateway.bot import public_posts
from gateway.outbox import recipients as notify
from gateway.outbox.queue import OutboxMessage
from gateway.store.models import Agency, Complaint, Status

if TYPE_CHECKING:
    from gateway.parts import Linked


def notices(
    gateway: Linked,
    session: Session,
    complaint: Complaint,
    status: Status,
    *,
    event_key: str,
    media: tuple[Media, ...] = (),
    answer: str = "",
    reason: str = "",
    text_key: str | None = None,
    exclude: Collection[notify.Route] = (),
    members: list[Complaint] | None = None,
    always: bool = False,
    values: Mapping[str, str] | None = None,
) -> list[OutboxMessage]:
    """`text_key` replaces the status's usual text (e.g. the automatic close says why);
    `exclude` skips reporters told otherwise; `members` narrows who is told (a reporter who
    just joined the case); `always` sends even when the status is not in the setting."""
    if not always and status.value not in gateway.reporter_notice_statuses:
        return []
    agency = session.get(Agency, complaint.agency_id) if complaint.agency_id else None
    messages = notify.to_cluster(
        session,
        complaint,
        text_key or f"reporter.status_{status.value}",
        event_key=event_key,
        kind="answer" if status is Status.ANSWERED else "status",
        media=media,
        sms_copies=sms_copies(gateway),
        mail_copies=mail_copies(gateway),
        private_link=gateway.reporter_links.url,
        exclude=exclude,
        members=members,
        agency=agency.name if agency else "instansi",
        answer=answer,
        reason=reason,
        **(values or {}),
    )
    if status is Status.ANSWERED:
        # Complaints that started as a public comment: a neutral note with the code under it.
        told = members if members is not None else notify.cluster_members(session, complaint)
        messages += public_posts.answered_notes(gateway, session, told)
    return messages


def sms_copies(gateway: Linked) -> bool:
    """Web-form reporters who left a number get SMS copies (WEBFORM_SMS_COPIES)."""
    return gateway.settings.webform_sms_copies and bool(gateway.settings.twilio_sms_number)


def mail_copies(gateway: Linked) -> bool:
    """Web-form reporters who left an e-mail address get copies by e-mail
    (WEBFORM_EMAIL_COPIES), when the gateway can send mail (SMTP_HOST, EMAIL_ADDRESS)."""
    s = gateway.settings
    return s.webform_email_copies and bool(s.smtp_host and s.email_address)
