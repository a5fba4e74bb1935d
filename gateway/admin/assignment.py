"""Who is on a complaint (issue 18): "saya tangani" and assigning a colleague.

A koordinator takes a complaint or assigns it to any active koordinator, or to a liaison officer
of the complaint's agency; a liaison officer assigns within their own agency (themselves or a
colleague of the agency). One holder per complaint (`complaint_assignment`, keyed by the
complaint), every change on the audit log (`assigned` / `unassigned`, who from whom).

A case is assigned on its primary complaint, like every other action on the case. Two people
pressing at once: the form carries the holder the user saw; when it changed meanwhile nothing is
saved and the user is told who holds it now (`AssignmentChanged`). A race between two first takes
ends in the table's primary key, which the route reports the same way.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from gateway.admin.sessions import Principal
from gateway.clock import utcnow
from gateway.complaints import lifecycle, workflow
from gateway.complaints.actions import ActionInvalid
from gateway.store.models import Complaint, ComplaintAssignment, Role, User

NOBODY = 0


class AssignmentChanged(Exception):
    """Someone else changed who holds the complaint since the page was read."""

    def __init__(self, holder: str | None) -> None:
        self.holder = holder
        super().__init__(holder or "")


def holder(session: Session, complaint_id: int) -> User | None:
    row = session.get(ComplaintAssignment, complaint_id)
    return session.get(User, row.user_id) if row is not None else None


def candidates(session: Session, complaint: Complaint, principal: Principal) -> list[User]:
    """Whom this user may assign the complaint to, by name."""
    query = select(User).where(col(User.active).is_(True))
    if principal.is_koordinator:
        agency = complaint.agency_id if complaint.agency_id is not None else -1
        query = query.where(
            (col(User.role) == Role.KOORDINATOR.value)
            | ((col(User.role) == Role.LIAISON.value) & (col(User.agency_id) == agency))
        )
    elif principal.is_liaison and principal.agency_id is not None:
        if complaint.agency_id != principal.agency_id:
            return []
        query = query.where(
            col(User.role) == Role.LIAISON.value, col(User.agency_id) == principal.agency_id
        )
    else:
        return []
    users = session.scalars(query).all()
    return sorted(users, key=lambda u: (u.display_name or u.username).lower())


def assign(
    session: Session,
    complaint: Complaint,
    principal: Principal,
    user_id: int,
    *,
    expected: int | None,
    now: datetime | None = None,
) -> User | None:
    """Give the complaint to `user_id` (`NOBODY`: release it). `expected` is the holder the
    user saw (NOBODY for none; None: not checked). Returns the new holder."""
    lifecycle.require_case(session, complaint, "assign")
    current = session.get(ComplaintAssignment, complaint.id)
    current_id = current.user_id if current is not None else NOBODY
    if expected is not None and expected != current_id:
        held = session.get(User, current_id) if current_id else None
        raise AssignmentChanged(_name(held))
    if user_id == current_id:
        return session.get(User, user_id) if user_id else None
    new: User | None = None
    if user_id != NOBODY:
        new = next((u for u in candidates(session, complaint, principal) if u.id == user_id), None)
        if new is None:
            raise ActionInvalid("assignee_unknown")
    elif not principal.is_koordinator and current is not None:
        # A liaison officer releases only what their agency holds.
        previous = session.get(User, current.user_id)
        if previous is None or previous.agency_id != principal.agency_id:
            raise ActionInvalid("assignee_unknown")
    now = now or utcnow()
    if current is not None:
        session.delete(current)
        session.flush()
    if new is not None:
        session.add(
            ComplaintAssignment(
                complaint_id=complaint.id,  # type: ignore[arg-type]
                user_id=new.id,  # type: ignore[arg-type]
                assigned_by=principal.actor,
                assigned_at=now,
            )
        )
    workflow.note(
        session,
        complaint,
        actor=principal.actor,
        action="assigned" if new is not None else "unassigned",
        after={"user_id": new.id if new else None, "from_user_id": current_id or None},
        note=_name(new) if new is not None else None,
        now=now,
    )
    session.flush()
    return new


def holders(session: Session, complaint_ids: list[int]) -> dict[int, str]:
    """complaint id → the holder's name, for a page of the inbox (one query)."""
    if not complaint_ids:
        return {}
    rows = session.execute(
        select(col(ComplaintAssignment.complaint_id), col(User.display_name), col(User.username))
        .join(User, col(User.id) == col(ComplaintAssignment.user_id))
        .where(col(ComplaintAssignment.complaint_id).in_(complaint_ids))
    )
    return {r.complaint_id: r.display_name or r.username for r in rows}


def _name(user: User | None) -> str | None:
    return (user.display_name or user.username) if user is not None else None
