"""Outbox handlers that send messages on a channel: replies to reporters, notices to liaisons.

The payload of such a row is an `OutboundMessage` in JSON form; the channel does the talking.
A permanent failure (blocked bot, invalid number) is written on the complaint for the admin.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from channels.base import Button, Channel, Media, OutboundMessage, SendResult
from config.messages import t
from gateway.clock import as_utc
from gateway.complaints import workflow
from gateway.outbox import queue as outbox
from gateway.outbox.queue import Delivered
from gateway.store.db import Database
from gateway.store.models import Complaint, OutboxItem

SIMULATED = "sim:"  # the bot simulator's senders (gateway/dev/bot_simulator.py)
REPLY = "reply"  # to a reporter, on their channel
NOTIFY_LIAISON = "notify_liaison"  # to an agency's liaison officer over WhatsApp
NOTIFY_ADMIN = "notify_admin"  # to a koordinator over WhatsApp (the daily digest)

# Our clock and the provider's may differ a little: a message of ours is looked for from a
# little before the row was queued. An earlier identical reply in that margin is told apart by
# its SID, which its own row has recorded.
CLOCK_SKEW = timedelta(seconds=30)
AMBIGUOUS = (
    "uncertain: the provider has several identical messages and none is known to be this one"
)


def message_payload(
    text: str,
    *,
    kind: str = "reply",
    language: str = "id",
    media: tuple[Media, ...] = (),
    buttons: tuple[Button, ...] = (),
    request_location: bool = False,
    template_variables: Mapping[str, str] | None = None,
    last_inbound_at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "text": text,
        "kind": kind,
        "language": language,
        "media": [m.__dict__ for m in media],
        "buttons": [{"label": b.label, "payload": b.payload} for b in buttons],
        "request_location": request_location,
        "template_variables": dict(template_variables or {}),
        "last_inbound_at": last_inbound_at.isoformat() if last_inbound_at else None,
    }


def outbound_from(item: OutboxItem) -> OutboundMessage:
    payload = item.payload
    last_inbound = payload.get("last_inbound_at")
    return OutboundMessage(
        channel=item.channel or "",
        recipient=item.recipient or "",
        text=payload.get("text", ""),
        idempotency_key=item.idempotency_key,
        kind=payload.get("kind", "reply"),
        language=payload.get("language", "id"),
        media=tuple(Media(**m) for m in payload.get("media", [])),
        buttons=tuple(Button(**b) for b in payload.get("buttons", [])),
        request_location=bool(payload.get("request_location")),
        location_button_label=t(payload.get("language"), "bot.share_location")
        if payload.get("request_location")
        else "",
        recipient_last_inbound_at=as_utc(datetime.fromisoformat(last_inbound))
        if last_inbound
        else None,
        template_variables=payload.get("template_variables", {}),
    )


def _delivered(result: SendResult) -> Delivered:
    return Delivered(
        ok=result.ok,
        provider_message_id=result.provider_message_id,
        retryable=result.retryable,
        error=result.error,
        details={"parts": result.parts},
        retry_after=result.retry_after,
    )


class ChannelMessageHandler(outbox.BaseHandler):
    """Sends the row's message on its channel."""

    def __init__(self, channels: Mapping[str, Channel], db: Database | None = None) -> None:
        self.channels = channels
        self.db = db  # to tell a provider id another row already owns (reconcile)

    async def deliver(self, item: OutboxItem) -> Delivered:
        if (item.recipient or "").startswith(SIMULATED):
            # The admin's bot simulator: recorded, shown on its page, sent to nobody.
            return Delivered(ok=True, provider_message_id="simulated")
        channel = self.channels.get(item.channel or "")
        if channel is None:
            return Delivered(ok=False, error=f"channel {item.channel!r} is not configured")
        return _delivered(await channel.send(outbound_from(item)))

    async def reconcile(self, item: OutboxItem) -> Delivered | None:
        """After a crash mid-send (issue 13): this row's message is the provider's message only
        on evidence that it is this row's — a message like it, sent since the row was queued,
        that no other row of ours has recorded, and only one such. None of them: the provider
        never got it, so sending now cannot double it. Several, or a provider that cannot be
        asked: uncertain (a dead letter an admin sees), never a guess and never a second send."""
        channel = self.channels.get(item.channel or "")
        if channel is None or not channel.can_find_sent:
            return None
        message = outbound_from(item)
        candidates = await channel.sent_candidates(message, item.created_at - CLOCK_SKEW)
        if candidates is None:
            return None
        unowned = [sid for sid in candidates if sid not in self._owned(item, candidates)]
        if len(unowned) == 1:
            return Delivered(ok=True, provider_message_id=unowned[0])
        if unowned:
            return Delivered(ok=False, retryable=False, error=AMBIGUOUS)
        return _delivered(await channel.send(message))

    def _owned(self, item: OutboxItem, candidates: list[str]) -> set[str]:
        """Which of the provider's ids other rows of ours already recorded as theirs."""
        if self.db is None or not candidates:
            return set()
        with self.db.read_session() as session:
            return set(
                session.scalars(
                    select(OutboxItem.provider_message_id)
                    .where(OutboxItem.channel == item.channel)
                    .where(OutboxItem.provider_message_id.in_(candidates))  # type: ignore[union-attr]
                    .where(OutboxItem.id != item.id)
                ).all()
            )

    def on_dead(self, session: Session, item: OutboxItem, error: str) -> None:
        if item.complaint_id is None:
            return
        complaint = session.get(Complaint, item.complaint_id)
        if complaint is None:
            return
        problem = f"{item.channel} → {item.recipient}: {error}"
        workflow.record(
            session,
            complaint,
            actor="system",
            action="delivery_failed",
            changes={"delivery_problem": problem[:2000]},
            note=problem[:2000],
        )
