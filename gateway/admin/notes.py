"""Internal notes on a complaint (issue 18): what colleagues tell each other about it.

A note is read by koordinators; one marked `for_agency` also by the liaison officers of the
complaint's agency (a liaison officer's own notes are always the agency's). Notes live in their
own table and never travel: no public page, no reporter message and no report to the SP4N core
reads it (`gateway.complaints.disclosure` and `public_status` know nothing of this table). The
audit log records that a note was written — not its text, so the timeline cannot leak it either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from gateway.admin.sessions import Principal
from gateway.clock import utcnow
from gateway.complaints import workflow
from gateway.complaints.actions import ActionInvalid
from gateway.store.models import Complaint, ComplaintNote, User

MAX_NOTE = 4000
NOTE_EVENT = "note_added"


@dataclass(frozen=True)
class NoteView:
    id: int
    author: str  # a display name, or "" for the system
    body: str
    for_agency: bool
    at: datetime


def add(
    session: Session,
    complaint: Complaint,
    principal: Principal,
    body: str,
    *,
    for_agency: bool,
    now: datetime | None = None,
) -> ComplaintNote:
    """Write a note; audited (without its text). The complaint's version stays: a note does not
    make a colleague's open form stale."""
    text = (body or "").strip()
    if len(text) < 2:
        raise ActionInvalid("note_required")
    if len(text) > MAX_NOTE:
        raise ActionInvalid("too_long", max=MAX_NOTE)
    shared = True if principal.is_liaison else for_agency
    now = now or utcnow()
    note = ComplaintNote(
        complaint_id=complaint.id,  # type: ignore[arg-type]
        author=principal.actor,
        body=text,
        for_agency=shared,
        created_at=now,
    )
    session.add(note)
    session.flush()
    workflow.note(
        session,
        complaint,
        actor=principal.actor,
        action=NOTE_EVENT,
        after={"note_id": note.id, "for_agency": shared},
        now=now,
    )
    return note


def visible(session: Session, complaint: Complaint, principal: Principal) -> list[NoteView]:
    """The notes this user may read, oldest first (the caller already checked that the user may
    see the complaint at all)."""
    if principal.is_viewer:
        return []
    query = select(ComplaintNote).where(col(ComplaintNote.complaint_id) == complaint.id)
    if not principal.is_koordinator:
        if principal.agency_id is None or complaint.agency_id != principal.agency_id:
            return []
        query = query.where(col(ComplaintNote.for_agency).is_(True))
    notes = session.scalars(query.order_by(col(ComplaintNote.id))).all()
    names = user_names(session, [n.author for n in notes])
    return [
        NoteView(n.id, names.get(n.author, ""), n.body, n.for_agency, n.created_at)  # type: ignore[arg-type]
        for n in notes
    ]


def user_names(session: Session, actors: list[str]) -> dict[str, str]:
    """`user:<id>` → the user's display name (or username)."""
    ids = {int(a.split(":", 1)[1]) for a in actors if a.startswith("user:") and a[5:].isdigit()}
    if not ids:
        return {}
    rows = session.execute(
        select(col(User.id), col(User.display_name), col(User.username)).where(
            col(User.id).in_(ids)
        )
    )
    return {f"user:{r.id}": r.display_name or r.username for r in rows}
