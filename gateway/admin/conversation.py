"""A complaint's conversation as a chat (issue 18): the reporter's messages as received and what
the gateway sent them (replies, questions, status notices, the answer), in order, each with its
channel, time and — for what was sent — its delivery state; the reporter's photos inline.

Koordinators only: liaison officers never read the reporter's own words (docs/admin.md). The
reply box under the chat posts to the complaint's existing `reply` action, so a reply from here
is the same audited outbox row as from the actions panel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from channels.sanitize import (
    LOCATION_DROPPED,
    MEDIA_DROPPED,
    PROVIDER_TIME,
    TEXT_CHARS,
    TEXT_TRUNCATED,
)
from gateway.admin.uncertain import is_uncertain
from gateway.clock import as_utc
from gateway.outbox.delivery import REPLY
from gateway.outbox.payloads import ChannelPayload
from gateway.store.models import Attachment, Complaint, InboundMessage, OutboxItem

# What the outbox row's state says to an admin: queued, on its way, sent (or the provider's
# receipt: delivered, read, failed), given up.
STATE_WORDS = {"pending": "queued", "in_flight": "sending", "sent": "sent", "dead": "failed"}


@dataclass
class ChatItem:
    direction: str  # in | out
    at: datetime
    channel: str | None
    text: str
    sender: str = ""
    kind: str = ""  # out: reply | status | question | answer | reminder ...
    state: str = ""  # out: queued | sending | sent | delivered | read | failed
    error: str | None = None
    photos: list[Attachment] = field(default_factory=list)
    media_count: int = 0
    latitude: float | None = None
    longitude: float | None = None
    location_label: str | None = None
    message_id: int | None = None
    public: bool = False  # in: a comment under the regency's post (gateway/bot/public_posts.py)
    post_link: str | None = None  # in: where that post is, when the platform gave a web link
    outbox_id: int | None = None  # out: its outbox row (an uncertain one can be resent)
    # in: what the channel changed to read it (message key, values): `reading_notes`
    notes: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    # in: what the page says about a mail (catalog key under `mail.note.`, value): its subject,
    # why it is automatic, what was wrong with it (broken MIME, charset, no text, too large).
    mail_notes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def map_url(self) -> str | None:
        if self.latitude is None or self.longitude is None:
            return None
        lat, lon = self.latitude, self.longitude
        return f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=17/{lat:.6f}/{lon:.6f}"


def _web_link(value: object) -> str | None:
    link = str(value or "")
    return link if link.startswith("https://") else None


# What a channel notes in `extra` when it had to change a message to read it
# (`channels.sanitize`), and how the chat says it.
READING_NOTES = (
    (PROVIDER_TIME, "workplace.chat.note.provider_time", "value"),
    (LOCATION_DROPPED, "workplace.chat.note.location_dropped", None),
    (MEDIA_DROPPED, "workplace.chat.note.media_dropped", "n"),
    (TEXT_TRUNCATED, "workplace.chat.note.text_truncated", "kept"),
)


def reading_notes(extra: dict[str, object] | None) -> list[tuple[str, dict[str, str]]]:
    """What the channel changed to read a message: a provider time it could not use (the
    message is dated when it arrived), a location or attachments it dropped, a text it cut."""
    extra = extra or {}
    notes = []
    for name, key, value_name in READING_NOTES:
        if name not in extra:
            continue
        values = {value_name: str(extra[name])[:64]} if value_name else {}
        if name == TEXT_TRUNCATED:
            values["total"] = str(extra.get(TEXT_CHARS, "?"))[:16]
        notes.append((key, values))
    return notes


MAIL_NOTES = ("subject", "automatic", "defects", "no_text", "large_attachments")


def mail_notes(row: InboundMessage) -> list[tuple[str, str]]:
    """A mail's facts worth showing beside its words (kept, never dropped: issue 16)."""
    if row.channel != "email":
        return []
    extra = row.extra or {}
    return [(key, str(extra[key])) for key in MAIL_NOTES if extra.get(key)]


def delivery_state(item: OutboxItem) -> str:
    if is_uncertain(item):
        return "uncertain"
    if item.status == "sent" and item.delivery_state in ("delivered", "read", "failed"):
        return item.delivery_state
    return STATE_WORDS.get(item.status, item.status)


def build(session: Session, complaint: Complaint) -> list[ChatItem]:
    """The chat, oldest first."""
    photos: dict[int, list[Attachment]] = {}
    for attachment in session.scalars(
        select(Attachment)
        .where(col(Attachment.complaint_id) == complaint.id)
        .where(col(Attachment.inbound_message_id).is_not(None))
        .order_by(col(Attachment.id))
    ):
        photos.setdefault(attachment.inbound_message_id, []).append(attachment)  # type: ignore[arg-type]
    items = [
        ChatItem(
            direction="in",
            at=as_utc(row.received_at),
            channel=row.channel,
            text=row.text,
            sender=row.sender_name or row.sender,
            photos=photos.get(row.id, []),  # type: ignore[arg-type]
            latitude=row.latitude,
            longitude=row.longitude,
            location_label=row.location_label,
            message_id=row.id,
            public=bool((row.extra or {}).get("public")),
            post_link=_web_link((row.extra or {}).get("permalink")),
            notes=reading_notes(row.extra),
            mail_notes=mail_notes(row),
        )
        for row in session.scalars(
            select(InboundMessage)
            .where(col(InboundMessage.complaint_id) == complaint.id)
            .order_by(col(InboundMessage.received_at), col(InboundMessage.id))
        )
    ]
    for item in session.scalars(
        select(OutboxItem)
        .where(col(OutboxItem.complaint_id) == complaint.id)
        .where(col(OutboxItem.kind) == REPLY)
        .order_by(col(OutboxItem.id))
    ):
        payload = ChannelPayload.from_json(item.payload or {})
        items.append(
            ChatItem(
                direction="out",
                at=as_utc(item.sent_at or item.created_at),
                channel=item.channel,
                text=payload.text,
                kind=payload.kind,
                state=delivery_state(item),
                error=item.last_error if item.status == "dead" else None,
                media_count=len(payload.media),
                outbox_id=item.id,
            )
        )
    # Stable: an answer queued in the same second as the message it answers comes after it.
    items.sort(key=lambda i: (i.at, 0 if i.direction == "in" else 1))
    return items
