"""The complaint page's workplace parts in one call (issue 18): who is on it and whom it can be
given to, the internal notes this user may read, the conversation as a chat (koordinators), the
saved replies that fit, and the live stamp the page polls with."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from gateway import parts
from gateway.admin import assignment, conversation, live, notes, saved_replies
from gateway.admin.sessions import Principal
from gateway.complaints import lifecycle
from gateway.store.models import Complaint, User


@dataclass
class Workplace:
    holder: User | None
    candidates: list[User]
    notes: list[notes.NoteView]
    chat: list[conversation.ChatItem]
    replies: list[saved_replies.Offered]
    stamp: int
    poll_seconds: int
    may_assign: bool = False
    may_note: bool = False


def build(
    gateway: parts.Configured,
    session: Session,
    complaint: Complaint,
    principal: Principal,
    *,
    lang: str,
    deadline: str,
) -> Workplace:
    staff = principal.is_koordinator or principal.is_liaison
    follower = lifecycle.is_follower(complaint)
    values = saved_replies.values_for(session, complaint, complaint.language, deadline)
    return Workplace(
        holder=assignment.holder(session, complaint.id) if complaint.id else None,
        candidates=[] if follower else assignment.candidates(session, complaint, principal),
        notes=notes.visible(session, complaint, principal),
        chat=conversation.build(session, complaint) if principal.is_koordinator else [],
        replies=saved_replies.offered(
            session,
            complaint,
            values,
            agency_id=principal.agency_id if principal.is_liaison else None,
        )
        if staff
        else [],
        stamp=live.stamp(session),
        poll_seconds=gateway.settings.admin_live_poll_seconds,
        may_assign=staff and not follower,
        may_note=staff,
    )
