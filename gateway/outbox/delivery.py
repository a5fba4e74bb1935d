"""Outbox handlers that send messages on a channel: replies to reporters, notices to liaisons.

The payload of such a row is an `OutboundMessage` in JSON form; the channel does the talking.
A permanent failure (blocked bot, invalid number) is written on the complaint for the admin.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from channels.base import Button, Channel, Media, OutboundMessage, ReplyMode, SendResult
from config.messages import t
from gateway.bot import reporters
from gateway.clock import as_utc
from gateway.complaints import workflow
from gateway.outbox import queue as outbox
from gateway.outbox.queue import Delivered
from gateway.store.models import Complaint, OutboxItem

SIMULATED = "sim:"  # the bot simulator's senders (gateway/dev/bot_simulator.py)
REPLY = "reply"  # to a reporter, on their channel
NOTIFY_LIAISON = "notify_liaison"  # to an agency's liaison officer over WhatsApp
NOTIFY_ADMIN = "notify_admin"  # to a koordinator over WhatsApp (the daily digest)


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
    reply_mode: ReplyMode = ReplyMode.DIRECT,
    reply_to: str | None = None,
) -> dict[str, Any]:
    """The JSON form of an `OutboundMessage`'s content, as an outbox row keeps it. `reply_mode`
    and `reply_to` say where it goes on the platform: a public reply or Meta's private reply
    under a comment (`reply_to` = the comment's id) rather than a direct message."""
    return {
        "text": text,
        "kind": kind,
        "language": language,
        "media": [m.__dict__ for m in media],
        "buttons": [{"label": b.label, "payload": b.payload} for b in buttons],
        "request_location": request_location,
        "template_variables": dict(template_variables or {}),
        "last_inbound_at": last_inbound_at.isoformat() if last_inbound_at else None,
        "reply_mode": ReplyMode(reply_mode).value,
        "reply_to": reply_to,
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
        reply_mode=ReplyMode(payload.get("reply_mode") or ReplyMode.DIRECT),
        reply_to=payload.get("reply_to"),
    )


def _delivered(result: SendResult) -> Delivered:
    details: dict[str, Any] = {"parts": result.parts}
    if result.recipient:
        details["recipient"] = result.recipient
    return Delivered(
        ok=result.ok,
        provider_message_id=result.provider_message_id,
        retryable=result.retryable,
        error=result.error,
        details=details,
    )


class ChannelMessageHandler(outbox.BaseHandler):
    """Sends the row's message on its channel."""

    def __init__(self, channels: Mapping[str, Channel]) -> None:
        self.channels = channels

    async def deliver(self, item: OutboxItem) -> Delivered:
        if (item.recipient or "").startswith(SIMULATED):
            # The admin's bot simulator: recorded, shown on its page, sent to nobody.
            return Delivered(ok=True, provider_message_id="simulated")
        channel = self.channels.get(item.channel or "")
        if channel is None:
            return Delivered(ok=False, error=f"channel {item.channel!r} is not configured")
        return _delivered(await channel.send(outbound_from(item)))

    def on_sent(self, session: Session, item: OutboxItem, result: Delivered) -> None:
        """Meta's private reply goes to a comment and answers with the person's messaging id:
        that id joins the commenter's reporter and conversation, so their direct messages
        continue the conversation the comment started (see gateway/bot/public_posts.py)."""
        resolved = result.details.get("recipient")
        if resolved and (item.payload or {}).get("reply_mode") == ReplyMode.PRIVATE_REPLY:
            reporters.link_private_thread(
                session, item.channel or "", item.recipient or "", resolved
            )

    async def reconcile(self, item: OutboxItem) -> Delivered | None:
        channel = self.channels.get(item.channel or "")
        if channel is None or not channel.can_find_sent:
            return None
        since = item.created_at - timedelta(minutes=5)
        found = await channel.find_sent(outbound_from(item), since)
        if found:
            return Delivered(ok=True, provider_message_id=found)
        # The provider has no trace of it: sending now cannot double it.
        return _delivered(await channel.send(outbound_from(item)))

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
