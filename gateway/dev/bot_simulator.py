"""The bot simulator for admins (`/admin/simulator`): send a message as if from SMS, WhatsApp,
Telegram, WhatsApp Cloud, Instagram or Facebook — on the last two also as a public comment under
a post (gateway/bot/public_posts.py) — and read the bot's replies, with no provider account.

A simulated sender's address starts with `sim:`; such messages go through intake and the
conversation exactly like real ones, and the replies are real outbox rows, but delivery marks
them sent without calling a provider (`delivery.ChannelMessageHandler`), so trying the bot in
production can never text a stranger.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import col

from channels.base import InboundMessage as Message
from channels.base import Location
from gateway.clock import utcnow
from gateway.context import Gateway
from gateway.intake import inbound as intake
from gateway.outbox.payloads import ChannelPayload
from gateway.store.models import InboundMessage, OutboxItem

PREFIX = "sim:"
CHANNELS = ("twilio_sms", "twilio_whatsapp", "telegram", "whatsapp_cloud", "instagram", "facebook")
# Where a citizen can also write in public, under the regency's posts.
COMMENT_CHANNELS = ("instagram", "facebook")
_NAME = re.compile(r"[^0-9A-Za-z+_.-]")


def address(label: str) -> str:
    """`sim:` and a tidy label (letters, digits, + _ . -), so it cannot be a real address."""
    cleaned = _NAME.sub("", label)[:40] or "warga"
    return PREFIX + cleaned


@dataclass(frozen=True)
class Line:
    at: datetime
    from_bot: bool
    text: str
    buttons: tuple[str, ...] = ()
    reply_mode: str = "direct"  # a bot's reply: direct, public (under a comment), private_reply


def send(
    gateway: Gateway,
    channel: str,
    sender: str,
    text: str,
    *,
    latitude: float | None = None,
    longitude: float | None = None,
    button: str | None = None,
    comment: bool = False,
) -> None:
    """One message from the simulated citizen; `comment`: a public comment under a post
    (Instagram, Facebook only), answered as a real one would be."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    location = Location(latitude, longitude, None) if latitude is not None else None
    public = comment and channel in COMMENT_CHANNELS
    external_id = f"sim-{uuid.uuid4().hex}"
    message = Message(
        channel=channel,
        external_id=external_id,
        sender=sender,
        sender_name="Simulasi",
        received_at=utcnow(),
        text=text,
        location=location,
        button_payload=button,
        extra={"simulated": "1"},
        public=public,
        thread_ref=external_id if public else None,
    )
    accepted = intake.accept(gateway.db, message, raw_content_type="simulator")
    intake.process(gateway, accepted.inbound_id)


def transcript(gateway: Gateway, channel: str, sender: str, limit: int = 100) -> list[Line]:
    with gateway.db.read_session() as session:
        inbound = session.scalars(
            select(InboundMessage)
            .where(col(InboundMessage.channel) == channel)
            .where(col(InboundMessage.sender) == sender)
            .order_by(col(InboundMessage.id).desc())
            .limit(limit)
        ).all()
        replies = session.scalars(
            select(OutboxItem)
            .where(col(OutboxItem.channel) == channel)
            .where(col(OutboxItem.recipient) == sender)
            .order_by(col(OutboxItem.id).desc())
            .limit(limit)
        ).all()
    lines = [Line(row.created_at, False, row.text or row.location_label or "📍") for row in inbound]
    lines += [
        Line(
            row.created_at,
            True,
            ChannelPayload.from_json(row.payload).text,
            tuple(b.label for b in ChannelPayload.from_json(row.payload).buttons),
            ChannelPayload.from_json(row.payload).reply_mode.value,
        )
        for row in replies
    ]
    return sorted(lines, key=lambda line: (line.at, line.from_bot))[-limit:]
