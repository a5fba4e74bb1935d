"""Replies that may or may not have reached the reporter (issue 13 defect 6), for the koordinator.

A reply in flight when the dispatcher died, on a provider that cannot be asked what it already
has (Telegram), is a dead letter marked "uncertain" (`gateway/outbox/queue.py`): sending it
again blindly could give the reporter the same message twice, and resending every such row at
once certainly doubles the ones that did arrive. So each one is shown with what the reporter did
next — their following messages on that channel: an answer to the question it asked means it
arrived — grouped by conversation (channel and address), and an admin resends one at a time,
each resend written to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from gateway.admin import audit
from gateway.admin.inbox import tracking_codes
from gateway.clock import as_utc
from gateway.outbox import queue as outbox
from gateway.outbox.delivery import REPLY
from gateway.outbox.payloads import ChannelPayload
from gateway.store.models import InboundMessage, InboundStatus, OutboxItem, OutboxStatus

# What the outbox writes as the reason of an uncertain dead letter (queue.UNCERTAIN after a
# crash, delivery.AMBIGUOUS when the provider has several identical messages).
UNCERTAIN_PREFIX = "uncertain"
NEXT_SHOWN = 5  # the reporter's next messages shown under each reply
NEXT_TEXT = 300  # characters of each


@dataclass(frozen=True)
class NextMessage:
    """A message the reporter sent after the uncertain reply was queued."""

    at: datetime
    text: str
    media: bool


@dataclass(frozen=True)
class UncertainReply:
    item_id: int
    queued_at: datetime
    text: str
    error: str
    complaint_id: int | None
    next: list[NextMessage]
    more_next: bool  # the reporter sent more than NEXT_SHOWN messages after it


@dataclass
class UncertainConversation:
    channel: str
    recipient: str
    tracking_codes: list[str] = field(default_factory=list)
    replies: list[UncertainReply] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        """An id for the page: the conversation's channel and address, kept to safe letters."""
        safe = "".join(ch if ch.isalnum() else "-" for ch in f"{self.channel}-{self.recipient}")
        return f"uncertain-{safe}"


def is_uncertain(item: OutboxItem) -> bool:
    return item.status == OutboxStatus.DEAD and (item.last_error or "").startswith(UNCERTAIN_PREFIX)


def _uncertain_rows(session: Session, complaint_id: int | None, limit: int) -> list[OutboxItem]:
    query = (
        select(OutboxItem)
        .where(col(OutboxItem.kind) == REPLY)
        .where(col(OutboxItem.status) == OutboxStatus.DEAD.value)
        .where(col(OutboxItem.last_error).startswith(UNCERTAIN_PREFIX))
    )
    if complaint_id is not None:
        query = query.where(col(OutboxItem.complaint_id) == complaint_id)
    return list(session.scalars(query.order_by(col(OutboxItem.id)).limit(limit)).all())


def _next_messages(session: Session, item: OutboxItem) -> tuple[list[NextMessage], bool]:
    rows = session.scalars(
        select(InboundMessage)
        .where(col(InboundMessage.channel) == item.channel)
        .where(col(InboundMessage.sender) == item.recipient)
        .where(col(InboundMessage.received_at) >= item.created_at)
        .where(col(InboundMessage.status) != InboundStatus.UNREADABLE.value)
        .order_by(col(InboundMessage.received_at), col(InboundMessage.id))
        .limit(NEXT_SHOWN + 1)
    ).all()
    shown = [
        NextMessage(as_utc(r.received_at), (r.text or "")[:NEXT_TEXT], bool(r.media))
        for r in rows[:NEXT_SHOWN]
    ]
    return shown, len(rows) > NEXT_SHOWN


def uncertain_replies(
    session: Session, *, complaint_id: int | None = None, limit: int = 200
) -> list[UncertainConversation]:
    """The uncertain replies (of one complaint, or all), grouped by conversation, oldest
    first, each with the reporter's messages after it."""
    rows = _uncertain_rows(session, complaint_id, limit)
    codes = tracking_codes(session, (r.complaint_id for r in rows))
    conversations: dict[tuple[str, str], UncertainConversation] = {}
    for row in rows:
        key = (row.channel or "", row.recipient or "")
        conversation = conversations.setdefault(key, UncertainConversation(*key))
        code = codes.get(row.complaint_id) if row.complaint_id else None
        if code and code not in conversation.tracking_codes:
            conversation.tracking_codes.append(code)
        following, more = _next_messages(session, row)
        conversation.replies.append(
            UncertainReply(
                item_id=row.id,  # type: ignore[arg-type]
                queued_at=as_utc(row.created_at),
                text=ChannelPayload.from_json(row.payload or {}).text,
                error=row.last_error or "",
                complaint_id=row.complaint_id,
                next=following,
                more_next=more,
            )
        )
    return list(conversations.values())


def resend(session: Session, item_id: int, *, actor: str) -> bool:
    """One dead letter queued again by an admin, in the caller's transaction, and written to
    the audit log (an uncertain one is marked so: the admin judged it had not arrived).
    False when the row is not (or no longer) a dead letter: nothing is queued twice."""
    row = session.get(OutboxItem, item_id)
    if row is None:
        return False
    uncertain = is_uncertain(row)
    if not outbox.requeue_dead(session, item_id):
        return False
    audit.record(
        session,
        actor=actor,
        area="outbox",
        change="resent",
        subject=f"outbox {item_id}",
        detail={
            "kind": row.kind,
            "channel": row.channel,
            "complaint_id": row.complaint_id,
            "uncertain": uncertain,
        },
    )
    return True
