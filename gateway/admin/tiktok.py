"""The TikTok box of a captured complaint's page: its link and handle, and the public replies the
admin copies into TikTok by hand (there is no API to post them), each recorded when posted.

Two replies, both neutral and public: "received" (at once: the comment was seen and has a code)
and "answered" (once the case is answered). They say nothing of the complaint and no personal
data — not even the handle, since TikTok already places the reply under the comment — only the
tracking code and the public status page. For a `rahasia` complaint (nothing may be published)
they carry no code either: only that it was received or followed up. Posting one is an audited
event (`tiktok_received_posted` / `tiktok_answered_posted`, with the text), as pasting into
LAPOR! is with the manual backend; recording the same kind twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlmodel import Session, col

from config.messages import t
from gateway.complaints import workflow
from gateway.complaints.actions import ActionInvalid, NotAllowed
from gateway.intake.tiktok_capture import CHANNEL
from gateway.store.models import Complaint, ComplaintEvent, InboundMessage, Status

if TYPE_CHECKING:
    from gateway.parts import Configured

KINDS = ("received", "answered")
# The audited events, one per kind (written out: the timeline test finds their labels).
POSTED = {"received": "tiktok_received_posted", "answered": "tiktok_answered_posted"}
ANSWERED_STATES = frozenset({Status.ANSWERED, Status.CLOSED})


@dataclass(frozen=True)
class PublicReply:
    kind: str  # received | answered
    text: str
    ready: bool  # "answered" waits for the answer
    posted_by: str | None = None
    posted_at: datetime | None = None


@dataclass(frozen=True)
class TikTokView:
    link: str | None
    handle: str | None
    replies: list[PublicReply] = field(default_factory=list)


def is_captured(complaint: Complaint) -> bool:
    return complaint.origin_channel == CHANNEL


def reply_text(gateway: Configured, complaint: Complaint, kind: str) -> str:
    """The public reply of `kind`, in Indonesian (TikTok's public; the commenter's language is
    not known)."""
    if kind not in KINDS:
        raise ActionInvalid("tiktok_kind")
    if complaint.rahasia:
        return t("id", f"tiktok.reply_{kind}_rahasia")
    code = complaint.tracking_code
    link = f"{gateway.settings.public_base_url}/status/{code}"
    return t("id", f"tiktok.reply_{kind}", code=code, link=link)


def _ready(complaint: Complaint, kind: str) -> bool:
    return kind == "received" or Status(complaint.status) in ANSWERED_STATES


def view(gateway: Configured, session: Session, complaint: Complaint) -> TikTokView | None:
    if not is_captured(complaint):
        return None
    handle = session.scalar(
        select(col(InboundMessage.sender))
        .where(col(InboundMessage.complaint_id) == complaint.id)
        .where(col(InboundMessage.channel) == CHANNEL)
        .order_by(col(InboundMessage.id))
        .limit(1)
    )
    kinds = {action: kind for kind, action in POSTED.items()}
    posted: dict[str, ComplaintEvent] = {}
    for event in session.scalars(
        select(ComplaintEvent)
        .where(col(ComplaintEvent.complaint_id) == complaint.id)
        .where(col(ComplaintEvent.action).in_(kinds))
        .order_by(col(ComplaintEvent.id))
    ):
        posted.setdefault(kinds[event.action], event)
    replies = []
    for kind in KINDS:
        done = posted.get(kind)
        replies.append(
            PublicReply(
                kind=kind,
                text=reply_text(gateway, complaint, kind),
                ready=_ready(complaint, kind),
                posted_by=done.actor if done else None,
                posted_at=done.created_at if done else None,
            )
        )
    return TikTokView(link=complaint.source_url, handle=handle, replies=replies)


def record_posted(
    gateway: Configured, session: Session, complaint: Complaint, *, actor: str, kind: str
) -> bool:
    """The admin posted the `kind` reply under the comment. False when it was recorded before."""
    text = reply_text(gateway, complaint, kind)
    if not is_captured(complaint) or not _ready(complaint, kind):
        raise NotAllowed(complaint, "tiktok_posted")
    already = session.scalar(
        select(col(ComplaintEvent.id))
        .where(col(ComplaintEvent.complaint_id) == complaint.id)
        .where(col(ComplaintEvent.action) == POSTED[kind])
        .limit(1)
    )
    if already is not None:
        return False
    workflow.record(session, complaint, actor=actor, action=POSTED[kind], note=text)
    return True
