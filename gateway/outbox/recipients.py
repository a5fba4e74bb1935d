"""Who gets told what: outbox messages for reporters (on their own channel and language) and for
agency liaison officers (over WhatsApp). Building them is pure bookkeeping; the outbox sends.

Every message carries an idempotency key built from the complaint and the event that caused it,
so the same event can never queue the same message twice.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

from sqlalchemy import or_, select
from sqlmodel import Session, col

from channels.base import Button, Media
from config.messages import has, t
from gateway.complaints import disclosure
from gateway.outbox import mail_threads
from gateway.outbox.delivery import NOTIFY_LIAISON, REPLY
from gateway.outbox.payloads import ChannelPayload
from gateway.outbox.queue import OutboxMessage
from gateway.store.models import (
    Agency,
    Complaint,
    Liaison,
    Reporter,
    ReporterIdentity,
    Role,
    User,
)

LIAISON_CHANNEL = "twilio_whatsapp"  # the default of LIAISON_WHATSAPP_CHANNEL
SMS_CHANNEL = "twilio_sms"
MAIL_CHANNEL = mail_threads.CHANNEL


def _last_inbound(session: Session, channel: str | None, address: str | None):
    if not channel or not address:
        return None
    return session.scalar(
        select(col(ReporterIdentity.last_inbound_at))
        .where(col(ReporterIdentity.channel) == channel)
        .where(col(ReporterIdentity.address) == address)
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
    reply_to = None
    if channel == MAIL_CHANNEL:
        # In the reporter's own thread: In-Reply-To/References, "Re: subject", the code.
        thread = mail_threads.reply_headers(session, complaint, address)
        reply_to = thread.reply_to
        variables = {
            "subject": thread.subject,
            "tracking_code": complaint.tracking_code,
            "references": thread.references,
            **variables,
        }
    return OutboxMessage(
        kind=REPLY,
        key=f"{complaint.tracking_code}:{event_key}:{channel}:{address}",
        channel=channel,
        recipient=address,
        complaint_id=complaint.id,
        payload=ChannelPayload(
            text,
            kind=kind,
            language=complaint.language,
            media=media,
            buttons=buttons,
            request_location=request_location,
            template_variables=variables,
            last_inbound_at=_last_inbound(session, channel, address),
            reply_to=reply_to,
        ),
    )


def cluster_members(session: Session, complaint: Complaint) -> list[Complaint]:
    """Every complaint of the complaint's case: the primary (the cluster's root), the complaints
    that follow it, and those folded (merged) into any of them."""
    root = complaint.cluster_id or complaint.id
    members = list(
        session.scalars(
            select(Complaint)
            .where(or_(col(Complaint.id) == root, col(Complaint.cluster_id) == root))
            .order_by(col(Complaint.id))
        ).all()
    )
    known = {m.id for m in members} | {complaint.id}
    folded = session.scalars(
        select(Complaint)
        .where(col(Complaint.merged_into_id).in_(known))
        .order_by(col(Complaint.id))
    ).all()
    for member in folded:
        if member.id not in known:
            known.add(member.id)
            members.append(member)
    if complaint not in members:
        members.insert(0, complaint)
    return members


Route = tuple[str, str]  # (channel, address): one way to reach one reporter


def routes_of(
    session: Session, member: Complaint, *, sms_copies: bool = False, mail_copies: bool = False
) -> list[Route]:
    """Where a complaint's reporter is told things: their own thread, and copies for a web-form
    reporter who left a phone number (`sms_copies`) or an e-mail address (`mail_copies`)."""
    routes: list[Route] = []
    if member.reply_channel and member.reply_address:
        routes.append((member.reply_channel, member.reply_address))
    reporter = _webform_reporter(session, member) if sms_copies or mail_copies else None
    if reporter is not None and sms_copies and reporter.phone:
        routes.append((SMS_CHANNEL, reporter.phone))
    if reporter is not None and mail_copies and reporter.email:
        routes.append((MAIL_CHANNEL, reporter.email))
    return routes


def to_cluster(
    session: Session,
    complaint: Complaint,
    text_key: str,
    *,
    event_key: str,
    kind: str,
    media: tuple[Media, ...] = (),
    sms_copies: bool = False,
    mail_copies: bool = False,
    private_link: Callable[[str], str] | None = None,
    exclude: Collection[Route] = (),
    members: Iterable[Complaint] | None = None,
    **values: str,
) -> list[OutboxMessage]:
    """One message per reporter of the case, each in their own language and channel: a
    reporter with several complaints in the case on one address gets it once, and the routes
    in `exclude` (someone already answered directly) get nothing. With `sms_copies` and
    `mail_copies`, a web-form reporter who left a phone number or an e-mail address also gets it
    by SMS or by e-mail.

    A web-form reporter cannot reply on their thread (the status page): where the catalog has
    `<text_key>_web` they read that instead, and their SMS or e-mail copy is
    `<text_key>_web_sms` with their private link (`private_link(code)`, see
    gateway/complaints/reporter_links.py)."""
    messages: dict[Route, OutboxMessage] = {}
    skip = set(exclude)
    for member in members if members is not None else cluster_members(session, complaint):
        web = member.origin_channel == "webform" and has(member.language, f"{text_key}_web")
        routes = routes_of(session, member, sms_copies=sms_copies, mail_copies=mail_copies)
        for route in routes:
            if route in skip or route in messages:
                continue
            key, extra = text_key, {}
            if web and route[0] == member.reply_channel:
                key = f"{text_key}_web"
            elif web and private_link is not None:
                key = f"{text_key}_web_sms"
                extra = {"link": private_link(member.tracking_code)}
            text = t(member.language, key, code=member.tracking_code, **values, **extra)
            via = None if route == (member.reply_channel, member.reply_address) else route
            message = to_reporter(
                session, member, text, event_key=event_key, kind=kind, media=media, via=via
            )
            if message is not None:
                messages[route] = message
    return list(messages.values())


def _webform_reporter(session: Session, complaint: Complaint) -> Reporter | None:
    if complaint.origin_channel != "webform" or complaint.reporter_id is None:
        return None
    return session.get(Reporter, complaint.reporter_id)


def liaisons_of(session: Session, agency_id: int) -> list[Liaison]:
    return list(
        session.scalars(
            select(Liaison)
            .where(col(Liaison.agency_id) == agency_id)
            .where(col(Liaison.active).is_(True))
            .order_by(col(Liaison.id))
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
    channel: str = LIAISON_CHANNEL,
    **values: str,
) -> list[OutboxMessage]:
    """A WhatsApp message to each liaison officer of the agency (template variables included,
    since the officer's 24-hour window is usually closed), on `channel`: Twilio's WhatsApp or
    Meta's WhatsApp Cloud API (LIAISON_WHATSAPP_CHANNEL)."""
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
            channel=channel,
            recipient=liaison.whatsapp,
            complaint_id=complaint.id,
            payload=ChannelPayload(text, kind=kind, template_variables=variables),
        )
        for liaison in liaisons_of(session, agency.id)  # type: ignore[arg-type]
    ]


def koordinators_on_whatsapp(session: Session) -> list[User]:
    """Active koordinators with a WhatsApp number: who hears the digest and the alarms."""
    return list(
        session.scalars(
            select(User)
            .where(col(User.role) == Role.KOORDINATOR.value)
            .where(col(User.active).is_(True))
            .where(col(User.whatsapp).is_not(None))
            .order_by(col(User.id))
        ).all()
    )


def flatten(*groups: Iterable[OutboxMessage | None]) -> list[OutboxMessage]:
    return [m for group in groups for m in group if m is not None]
