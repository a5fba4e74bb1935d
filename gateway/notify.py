"""Who gets told what: outbox messages for reporters (on their own channel and language) and for
agency liaison officers (over WhatsApp). Building them is pure bookkeeping; the outbox sends.

Every message carries an idempotency key built from the complaint and the event that caused it,
so the same event can never queue the same message twice.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlmodel import Session

from channels.base import Button, Media
from config.messages import t
from gateway import disclosure
from gateway.delivery import NOTIFY_LIAISON, REPLY, message_payload
from gateway.models import Agency, Complaint, Liaison, Reporter, ReporterIdentity
from gateway.outbox import OutboxMessage

LIAISON_CHANNEL = "twilio_whatsapp"
SMS_CHANNEL = "twilio_sms"


def _last_inbound(session: Session, channel: str | None, address: str | None):  # type: ignore[no-untyped-def]
    if not channel or not address:
        return None
    return session.scalar(
        select(ReporterIdentity.last_inbound_at)
        .where(ReporterIdentity.channel == channel)
        .where(ReporterIdentity.address == address)
    )


def to_reporter(
    session: Session,
    complaint: Complaint,
    text: str,
    *,
    event_key: str,
    kind: str = "reply",
    media: tuple[Media, ...] = (),
    buttons: tuple[Button, ...] = (),
    request_location: bool = False,
    template_variables: dict[str, str] | None = None,
    via: tuple[str, str] | None = None,
) -> OutboxMessage | None:
    """A message to the complaint's reporter on the channel and thread they wrote from (or on
    `via` = (channel, address), e.g. an SMS copy for a web-form reporter)."""
    channel, address = via or (complaint.reply_channel, complaint.reply_address)
    if not channel or not address:
        return None  # e.g. a manual entry from a walk-in with no contact
    variables = {"code": complaint.tracking_code, "text": text, **(template_variables or {})}
    return OutboxMessage(
        kind=REPLY,
        key=f"{complaint.tracking_code}:{event_key}:{channel}:{address}",
        channel=channel,
        recipient=address,
        complaint_id=complaint.id,
        payload=message_payload(
            text,
            kind=kind,
            language=complaint.language,
            media=media,
            buttons=buttons,
            request_location=request_location,
            template_variables=variables,
            last_inbound_at=_last_inbound(session, channel, address),
        ),
    )


def cluster_members(session: Session, complaint: Complaint) -> list[Complaint]:
    """The complaint and every complaint folded into it or clustered with it."""
    root = complaint.cluster_id or complaint.id
    members = session.scalars(
        select(Complaint)
        .where(
            or_(
                Complaint.id == root,
                Complaint.cluster_id == root,
                Complaint.merged_into_id == complaint.id,
            )
        )
        .order_by(Complaint.id)
    ).all()
    result = list(members)
    if complaint not in result:
        result.insert(0, complaint)
    return result


def to_cluster(
    session: Session,
    complaint: Complaint,
    text_key: str,
    *,
    event_key: str,
    kind: str,
    media: tuple[Media, ...] = (),
    sms_copies: bool = False,
    **values: str,
) -> list[OutboxMessage]:
    """One message per reporter of the cluster, each in their own language and channel; a
    reporter with several complaints in the cluster on one address gets it once. With
    `sms_copies`, a web-form reporter who left a phone number also gets it by SMS."""
    messages: dict[tuple[str | None, str | None], OutboxMessage] = {}
    for member in cluster_members(session, complaint):
        text = t(member.language, text_key, code=member.tracking_code, **values)
        routes: list[tuple[str, str] | None] = [None]
        phone = _webform_phone(session, member) if sms_copies else None
        if phone:
            routes.append((SMS_CHANNEL, phone))
        for via in routes:
            message = to_reporter(
                session, member, text, event_key=event_key, kind=kind, media=media, via=via
            )
            if message is not None:
                messages.setdefault((message.channel, message.recipient), message)
    return list(messages.values())


def _webform_phone(session: Session, complaint: Complaint) -> str | None:
    if complaint.origin_channel != "webform" or complaint.reporter_id is None:
        return None
    reporter = session.get(Reporter, complaint.reporter_id)
    return reporter.phone if reporter is not None else None


def liaisons_of(session: Session, agency_id: int) -> list[Liaison]:
    return list(
        session.scalars(
            select(Liaison)
            .where(Liaison.agency_id == agency_id)
            .where(Liaison.active.is_(True))  # type: ignore[attr-defined]
            .order_by(Liaison.id)
        ).all()
    )


def to_liaisons(
    session: Session,
    complaint: Complaint,
    agency: Agency,
    text_key: str,
    *,
    event_key: str,
    kind: str = "notification",
    base_url: str,
    **values: str,
) -> list[OutboxMessage]:
    """A WhatsApp message to each liaison officer of the agency (template variables included,
    since the officer's 24-hour window is usually closed)."""
    link = f"{base_url}/admin/complaints/{complaint.tracking_code}"
    variables = {
        **disclosure.liaison_values(session, complaint),  # the masked title, never a number
        "agency": agency.name,
        "link": link,
        **values,
    }
    text = t("id", text_key, **variables)
    return [
        OutboxMessage(
            kind=NOTIFY_LIAISON,
            key=f"{complaint.tracking_code}:{event_key}:liaison:{liaison.id}",
            channel=LIAISON_CHANNEL,
            recipient=liaison.whatsapp,
            complaint_id=complaint.id,
            payload=message_payload(text, kind=kind, template_variables=variables),
        )
        for liaison in liaisons_of(session, agency.id)  # type: ignore[arg-type]
    ]


def flatten(*groups: Iterable[OutboxMessage | None]) -> list[OutboxMessage]:
    return [m for group in groups for m in group if m is not None]
