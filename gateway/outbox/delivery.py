"""Outbox handlers that send messages on a channel: replies to reporters, notices to liaisons.

The payload of such a row is a `ChannelPayload` (gateway/outbox/payloads.py), from which the
`OutboundMessage` is built at delivery; the channel does the talking.
A permanent failure (blocked bot, invalid number) is written on the complaint for the admin.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from channels.base import Channel, OutboundMessage, ReplyMode, SendResult
from config.messages import t
from gateway.bot import reporters
from gateway.complaints import workflow
from gateway.outbox import queue as outbox
from gateway.outbox.payloads import ChannelPayload
from gateway.outbox.queue import Delivered
from gateway.store.db import Database
from gateway.store.models import Complaint, OutboxItem

SIMULATED = "sim:"  # the bot simulator's senders (gateway/dev/bot_simulator.py)
REPLY = "reply"  # to a reporter, on their channel
NOTIFY_LIAISON = "notify_liaison"  # to an agency's liaison officer over WhatsApp
NOTIFY_ADMIN = "notify_admin"  # to a koordinator over WhatsApp (the daily digest)
SEND_DOCUMENT = "send_document"  # a document by e-mail (the Ombudsman package)

# Our clock and the provider's may differ a little: a message of ours is looked for from a
# little before the row was queued. An earlier identical reply in that margin is told apart by
# its SID, which its own row has recorded.
CLOCK_SKEW = timedelta(seconds=30)
AMBIGUOUS = (
    "uncertain: the provider has several identical messages and none is known to be this one"
)


def outbound_from(item: OutboxItem) -> OutboundMessage:
    payload = ChannelPayload.from_json(item.payload)
    return OutboundMessage(
        channel=item.channel or "",
        recipient=item.recipient or "",
        text=payload.text,
        idempotency_key=item.idempotency_key,
        kind=payload.kind,
        language=payload.language,
        media=payload.media,
        buttons=payload.buttons,
        request_location=payload.request_location,
        location_button_label=t(payload.language, "bot.share_location")
        if payload.request_location
        else "",
        recipient_last_inbound_at=payload.last_inbound_at,
        template_variables=dict(payload.template_variables),
        reply_mode=payload.reply_mode,
        reply_to=payload.reply_to,
        files=payload.files,
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

    def on_sent(self, session: Session, item: OutboxItem, result: Delivered) -> None:
        """Meta's private reply goes to a comment and answers with the person's messaging id:
        that id joins the commenter's reporter and conversation, so their direct messages
        continue the conversation the comment started (see gateway/bot/public_posts.py)."""
        resolved = result.details.get("recipient")
        private = ChannelPayload.from_json(item.payload or {}).reply_mode is ReplyMode.PRIVATE_REPLY
        if resolved and private:
            reporters.link_private_thread(
                session, item.channel or "", item.recipient or "", resolved
            )

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
            owned = session.scalars(
                select(col(OutboxItem.provider_message_id))
                .where(col(OutboxItem.channel) == item.channel)
                .where(col(OutboxItem.provider_message_id).in_(candidates))
                .where(col(OutboxItem.id) != item.id)
            ).all()
        return {sid for sid in owned if sid}

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
