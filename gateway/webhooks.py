"""Webhook handling, shared by the HTTP route and Telegram's polling loop:
look up → verify → parse → store (intake) → acknowledge. Delivery receipts update the outbox.

Nothing slow happens here: one INSERT per message, then the provider gets its answer; the
conversation runs afterwards (`intake.process`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select

from channels.base import (
    DeliveryState,
    DeliveryStatus,
    InboundMessage,
    PayloadError,
    RawRequest,
    SignatureError,
    WebhookAck,
)
from gateway import intake, workflow
from gateway.models import Complaint, OutboxItem

if TYPE_CHECKING:
    from gateway.context import Gateway

log = logging.getLogger(__name__)


class UnknownChannel(LookupError):
    pass


@dataclass
class Received:
    ack: WebhookAck
    stored: list[intake.Accepted] = field(default_factory=list)
    messages: list[InboundMessage] = field(default_factory=list)

    @property
    def new_ids(self) -> list[int]:
        return [a.inbound_id for a in self.stored if not a.duplicate]


def receive(gateway: Gateway, name: str, raw: RawRequest, *, verified: bool = False) -> Received:
    """Raises UnknownChannel (404), SignatureError (403), PayloadError (400)."""
    channel = gateway.channels.get(name)
    if channel is None or name == "webform":
        raise UnknownChannel(name)
    if not verified:
        channel.verify(raw)
    statuses = channel.parse_statuses(raw)
    messages = channel.parse(raw)
    raw_text = raw.body.decode("utf-8", errors="replace")
    content_type = raw.header("content-type") or ""
    stored = [
        intake.accept(gateway.db, message, raw_payload=raw_text, raw_content_type=content_type)
        for message in messages
    ]
    if statuses:
        record_statuses(gateway, statuses)
    if not messages and not statuses:
        log.info("webhook event ignored", extra={"channel": name})
    return Received(channel.ack(raw), stored, messages)


def record_statuses(gateway: Gateway, statuses: list[DeliveryStatus]) -> None:
    """A provider's receipt for something we sent: note it on the outbox row, and a failure on
    the complaint so the admin sees the reporter did not get it."""
    with gateway.db.session() as session:
        for status in statuses:
            row = session.scalar(
                select(OutboxItem)
                .where(OutboxItem.channel == status.channel)
                .where(OutboxItem.provider_message_id == status.provider_message_id)
            )
            if row is None:
                continue
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


async def telegram_polling(gateway: Gateway) -> None:
    """TELEGRAM_MODE=polling: fetch updates over our own authenticated connection (no public URL
    needed) and feed them through the same intake as the webhook."""
    import asyncio

    channel = gateway.channels.get("telegram")
    poll = getattr(channel, "poll", None)
    if poll is None:
        return
    async for update in poll():
        received = await asyncio.to_thread(receive, gateway, "telegram", update.raw, verified=True)
        for inbound_id in received.new_ids:
            await asyncio.to_thread(intake.process, gateway, inbound_id)


__all__ = ["PayloadError", "Received", "SignatureError", "UnknownChannel", "receive"]
