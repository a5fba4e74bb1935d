"""Webhook handling, shared by the HTTP route and Telegram's polling loop:
look up → verify → parse → store (intake) → acknowledge. Delivery receipts update the outbox.

Nothing slow happens here: one INSERT per message, then the provider gets its answer; the
conversation runs afterwards (`intake.process`).

A request whose signature is valid is the provider's, even when the parser cannot read it (an
older or newer payload shape, a field we did not expect): refusing it with a 4xx would only make
the provider retry and then drop it. It is kept raw instead (`intake.keep_unreadable`, status
`unreadable`), acknowledged, and shown to admins on `/admin/unreadable`, where it can be read
again once the parser knows the shape (`read_again`). A bad signature stays 403, nothing stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlmodel import col

from channels.base import (
    DeliveryState,
    DeliveryStatus,
    InboundMessage,
    MediaError,
    PayloadError,
    RawRequest,
    SignatureError,
    WebhookAck,
)
from gateway.clock import utcnow
from gateway.complaints import workflow
from gateway.intake import inbound as intake
from gateway.store.models import Complaint, InboundStatus, OutboxItem
from gateway.store.models import InboundMessage as InboundRow

if TYPE_CHECKING:
    from gateway.parts import Intake

log = logging.getLogger(__name__)


class UnknownChannel(LookupError):
    pass


@dataclass
class Received:
    ack: WebhookAck
    stored: list[intake.Accepted] = field(default_factory=list)
    messages: list[InboundMessage] = field(default_factory=list)
    unreadable: intake.Accepted | None = None  # kept raw: signed, but the parser failed

    @property
    def new_ids(self) -> list[int]:
        return [a.inbound_id for a in self.stored if not a.duplicate]

    @property
    def new_rows(self) -> list[tuple[int, str]]:
        """The new rows with whose they are (`Gateway.hand_over`)."""
        return [
            (a.inbound_id, intake.sender_key(m.channel, m.sender))
            for a, m in zip(self.stored, self.messages, strict=True)
            if not a.duplicate
        ]


def receive(gateway: Intake, name: str, raw: RawRequest, *, verified: bool = False) -> Received:
    """Raises UnknownChannel (404), SignatureError (403); a payload the parser cannot read is
    kept raw and acknowledged like any other."""
    channel = gateway.channels.get(name)
    if channel is None or name == "webform":
        raise UnknownChannel(name)
    if not verified:
        channel.verify(raw)
    content_type = raw.header("content-type") or ""
    try:
        statuses = channel.parse_statuses(raw)
        messages = channel.parse(raw)
    except PayloadError as exc:
        kept = intake.keep_unreadable(
            gateway.db,
            name,
            raw.body,
            content_type=content_type,
            reason=str(exc) or type(exc).__name__,
            subpath=raw.subpath.strip("/"),
        )
        log.warning(
            "webhook payload unreadable, kept raw",
            extra={"channel": name, "inbound_id": kept.inbound_id, "duplicate": kept.duplicate},
        )
        return Received(channel.ack(raw), unreadable=kept)
    raw_text = raw.body.decode("utf-8", errors="replace")
    stored = [
        intake.accept(gateway.db, message, raw_payload=raw_text, raw_content_type=content_type)
        for message in messages
    ]
    if statuses:
        record_statuses(gateway, statuses)
    if not messages and not statuses:
        log.info("webhook event ignored", extra={"channel": name})
    return Received(channel.ack(raw), stored, messages)


async def resolve_contacts(gateway: Intake, name: str, received: Received) -> None:
    """After the ack, before processing: a shared contact card the message only points to
    (Twilio's WhatsApp vCards, `extra["contact_card_url"]`) is fetched through the channel
    (its media hosts only) and its number stored on the inbound row, so the conversation sees
    `contact_phone`. A card that cannot be fetched leaves the message as it is, noted."""
    channel = gateway.channels.get(name)
    if channel is None:
        return
    for accepted, message in zip(received.stored, received.messages, strict=False):
        if accepted.duplicate or not message.extra.get("contact_card_url"):
            continue
        try:
            resolved = await channel.resolve_contact(message)
        except MediaError as exc:
            log.warning(
                "contact card not fetched",
                extra={"inbound_id": accepted.inbound_id, "retryable": exc.retryable},
            )
            continue
        with gateway.db.session() as session:
            row = session.get(InboundRow, accepted.inbound_id)
            if row is None or row.status != InboundStatus.PENDING:
                continue
            row.contact_phone = resolved.contact_phone
            row.extra = dict(resolved.extra)
            session.add(row)
            session.commit()


def unreadable(gateway: Intake, limit: int = 100) -> list[InboundRow]:
    """The kept-raw payloads an admin has not dealt with yet, newest first."""
    with gateway.db.read_session() as session:
        return list(
            session.scalars(
                select(InboundRow)
                .where(col(InboundRow.status) == InboundStatus.UNREADABLE.value)
                .order_by(col(InboundRow.id).desc())
                .limit(limit)
            ).all()
        )


def count_unreadable(gateway: Intake) -> int:
    with gateway.db.read_session() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(InboundRow)
                .where(col(InboundRow.status) == InboundStatus.UNREADABLE.value)
            )
            or 0
        )


class NotUnreadable(LookupError):
    """No kept-raw payload with this id (already read again, or dismissed)."""


def read_again(gateway: Intake, inbound_id: int) -> Received:
    """Parse a kept-raw payload again with today's parser (after an upgrade taught it the
    shape). What it now yields is accepted as if it had just arrived (idempotent on the
    provider's ids) and the raw row is closed; still unreadable raises `PayloadError` and the
    row stays, with the new reason. Not verified again: it was, when it arrived."""
    with gateway.db.read_session() as session:
        row = session.get(InboundRow, inbound_id)
        if row is None or row.status != InboundStatus.UNREADABLE:
            raise NotUnreadable(inbound_id)
        if row.channel == "lapor":
            return _read_lapor_again(gateway, inbound_id)
        if (row.extra or {}).get("source"):
            # A poller's record (a tweet's JSON, a mail) is no webhook body: the webhook parser
            # would only replace the true reason with its own. It stays for the admin to read.
            raise PayloadError(
                f"fetched by the {row.extra['source']} poller, not a webhook: it cannot be read "
                "again here; read it below and dismiss it"
            )
        channel = gateway.channels.get(row.channel)
        payload, content_type = row.raw_payload, row.raw_content_type
        raw = RawRequest(
            body=payload.encode("utf-8"),
            headers={"content-type": content_type},
            url=f"stored:inbound/{inbound_id}",
            subpath=(row.extra or {}).get("subpath", ""),
        )
    if channel is None:
        raise NotUnreadable(inbound_id)
    try:
        statuses = channel.parse_statuses(raw)
        messages = channel.parse(raw)
    except PayloadError as exc:
        _close_unreadable(gateway, inbound_id, still=str(exc) or type(exc).__name__)
        raise
    stored = [
        intake.accept(gateway.db, message, raw_payload=payload, raw_content_type=content_type)
        for message in messages
    ]
    if statuses:
        record_statuses(gateway, statuses)
    _close_unreadable(gateway, inbound_id, read=len(messages) + len(statuses))
    return Received(channel.ack(raw), stored, messages)


def _read_lapor_again(gateway: Intake, inbound_id: int) -> Received:
    """A report from SP4N-LAPOR! kept raw: read with today's mapping (gateway/core/intake.py);
    it is processed there and then, so nothing is left for the caller to process."""
    from gateway.core import intake as lapor_intake

    try:
        taken = lapor_intake.read_again(gateway, inbound_id)
    except LookupError:
        raise NotUnreadable(inbound_id) from None
    except lapor_intake.StillUnreadable as exc:
        raise PayloadError(str(exc)) from None
    # One report read: what the admin's page counts (the complaint exists already).
    read = InboundMessage(
        channel="lapor",
        external_id=taken.tracking_code or taken.outcome,
        sender="",
        received_at=utcnow(),
    )
    return Received(WebhookAck(), [], [read])


def dismiss_unreadable(gateway: Intake, inbound_id: int) -> bool:
    """An admin read it and dealt with it by hand: out of the list, the raw payload kept."""
    return _close_unreadable(gateway, inbound_id, read=None)


def _close_unreadable(
    gateway: Intake, inbound_id: int, *, read: int | None = None, still: str | None = None
) -> bool:
    with gateway.db.session() as session:
        row = session.get(InboundRow, inbound_id, with_for_update=True)
        if row is None or row.status != InboundStatus.UNREADABLE:
            return False
        if still is not None:
            row.last_error = still[:2000]
        else:
            row.status = InboundStatus.IGNORED.value
            row.processed_at = utcnow()
            note = "dismissed by an admin" if read is None else f"read again: {read} item(s)"
            row.last_error = f"{note}; was: {row.last_error or ''}"[:2000]
        session.add(row)
        session.commit()
    return True


# How far along a message is; a receipt only ever moves it further (issue 13). A failure
# overrides "queued"/"sent" but not proof that it arrived; "delivered"/"read" override a failure
# (the provider reached the phone after all).
_PROGRESS = {
    DeliveryState.QUEUED: 0,
    DeliveryState.SENT: 1,
    DeliveryState.FAILED: 2,
    DeliveryState.DELIVERED: 3,
    DeliveryState.READ: 4,
}


def moves_forward(current: str | None, new: DeliveryState) -> bool:
    if not current:
        return True
    try:
        return _PROGRESS[new] > _PROGRESS[DeliveryState(current)]
    except ValueError:  # a state this version does not know: take the provider's word
        return True


def record_statuses(gateway: Intake, statuses: list[DeliveryStatus]) -> None:
    """A provider's receipt for something we sent: note it on the outbox row, and a failure on
    the complaint so the admin sees the reporter did not get it."""
    with gateway.db.session() as session:
        for status in statuses:
            row = session.scalar(
                select(OutboxItem)
                .where(col(OutboxItem.channel) == status.channel)
                .where(col(OutboxItem.provider_message_id) == status.provider_message_id)
            )
            if row is None or not moves_forward(row.delivery_state, status.state):
                continue  # receipts arrive out of order: a late "sent" after "read" says nothing
            row.delivery_state = status.state.value
            session.add(row)
            if status.state is DeliveryState.FAILED and row.complaint_id:
                complaint = session.get(Complaint, row.complaint_id)
                if complaint is not None:
                    problem = (
                        f"{status.channel} → {row.recipient}: {status.error or 'gagal terkirim'}"
                    )
                    workflow.record(
                        session,
                        complaint,
                        actor="system",
                        action="delivery_failed",
                        changes={"delivery_problem": problem[:2000]},
                        note=problem,
                    )
        workflow.commit(session)


async def telegram_polling(gateway: Intake) -> None:
    """TELEGRAM_MODE=polling: fetch updates over our own authenticated connection (no public URL
    needed) and feed them through the same intake as the webhook."""
    import asyncio

    channel = gateway.channels.get("telegram")
    poll = getattr(channel, "poll", None)
    if poll is None:
        return
    async for update in poll():
        received = await asyncio.to_thread(receive, gateway, "telegram", update.raw, verified=True)
        process_now = gateway.hand_over(received.new_rows)
        if process_now is not None:
            await asyncio.to_thread(process_now)


__all__ = [
    "NotUnreadable",
    "PayloadError",
    "Received",
    "SignatureError",
    "UnknownChannel",
    "read_again",
    "receive",
]
