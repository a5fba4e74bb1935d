"""What changed since a page was drawn (issue 18, live list): the inbox and the complaint page
poll (htmx, `ADMIN_LIVE_POLL_SECONDS`) with the newest audit event id they know; nothing new is
answered 204 and the page stays as it is — typed input included — and something new redraws only
the changing parts, saying who acted ("diubah oleh X").

Every change of a complaint writes an audit event (new complaints, actions, notes, assignment,
core events, sweeps), so the newest event id is the one cheap stamp (the primary key's index).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from gateway.admin.notes import NOTE_EVENT, user_names
from gateway.store.models import ComplaintEvent


def stamp(session: Session) -> int:
    return int(session.scalar(select(func.max(col(ComplaintEvent.id)))) or 0)


def parse_stamp(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Change:
    complaint_id: int
    actor: str  # a colleague's name; "" when not a person (the reporter, the system, the core)
    action: str


MAX_CHANGES = 500


def changes_since(
    session: Session,
    since: int,
    *,
    me: str,
    complaint_id: int | None = None,
    staff_notes_hidden: bool = False,
) -> dict[int, Change]:
    """The last change of each complaint after event `since` by anyone but `me`; with
    `staff_notes_hidden` (a liaison officer) a note only koordinators read is no change."""
    query: Any = select(
        col(ComplaintEvent.id),
        col(ComplaintEvent.complaint_id),
        col(ComplaintEvent.actor),
        col(ComplaintEvent.action),
        col(ComplaintEvent.after).label("details"),
    ).where(col(ComplaintEvent.id) > since)
    if complaint_id is not None:
        query = query.where(col(ComplaintEvent.complaint_id) == complaint_id)
    rows = session.execute(query.order_by(col(ComplaintEvent.id)).limit(MAX_CHANGES)).all()
    names = user_names(session, [r.actor for r in rows])
    found: dict[int, Change] = {}
    for row in rows:
        if row.actor == me:
            continue
        if (
            staff_notes_hidden
            and row.action == NOTE_EVENT
            and not (row.details or {}).get("for_agency")
        ):
            continue
        found[row.complaint_id] = Change(row.complaint_id, names.get(row.actor, ""), row.action)
    return found
