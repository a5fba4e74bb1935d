"""The complaint's state machine. Only this module changes `Complaint.status`.

Every change goes through `transition()` (or `record()` for changes that keep the state), which
writes the audit event and any outbox rows into the caller's session, so that one commit makes
the state, its history and its consequences durable together. `commit()` turns a lost
optimistic-locking race into `ConcurrentUpdate`.

Two changes do not follow the transition table, because they are not steps of a complaint's
own life: `follow()` mirrors the case (the cluster's primary complaint) onto a complaint that
follows it, and `leave_case()` gives a follower back its own life (see docs/clusters.md).
Callers reach both through `gateway.complaints.lifecycle`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col

from gateway.clock import utcnow
from gateway.outbox import queue as outbox
from gateway.store.models import Complaint, ComplaintEvent, Status

S = Status

# The allowed transitions, from DESIGN.md and the Rembang SOP's admin actions.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.RECEIVED: frozenset({S.VERIFIED, S.PENDING, S.ARCHIVED, S.RETURNED, S.MERGED}),
    S.VERIFIED: frozenset({S.DISPOSED, S.PENDING, S.ARCHIVED, S.RETURNED, S.MERGED}),
    # disposed -> disposed is a re-disposition to another agency.
    S.DISPOSED: frozenset({S.DISPOSED, S.IN_PROGRESS, S.ANSWERED, S.RETURNED}),
    S.IN_PROGRESS: frozenset({S.ANSWERED, S.DISPOSED}),
    # answered -> in_progress: the reporter is not satisfied (TIDAK PUAS) and follow-up reopens.
    S.ANSWERED: frozenset({S.CLOSED, S.IN_PROGRESS}),
    # The reporter answered the admin's question: back to where it was in the inbox.
    S.PENDING: frozenset({S.RECEIVED, S.VERIFIED, S.ARCHIVED}),
    S.MERGED: frozenset({S.RECEIVED}),  # unmerge
    S.ARCHIVED: frozenset(),
    S.RETURNED: frozenset(),
    S.CLOSED: frozenset(),
}

# The timestamp each state sets when entered.
_ENTERED_AT = {
    S.VERIFIED: "verified_at",
    S.DISPOSED: "disposed_at",
    S.IN_PROGRESS: "in_progress_at",
    S.ANSWERED: "answered_at",
    S.CLOSED: "closed_at",
}

OPEN_STATES = frozenset({S.RECEIVED, S.VERIFIED, S.DISPOSED, S.IN_PROGRESS, S.ANSWERED, S.PENDING})

# A follower's copy of its case: the state, its stamps and deadlines, agency and class.
MIRRORED_FIELDS = (
    "status",
    "status_before_pending",
    "agency_id",
    "category",
    "escalated",
    "escalated_at",
    "verified_at",
    "disposed_at",
    "in_progress_at",
    "answered_at",
    "closed_at",
    "verify_due_at",
    "answer_due_at",
    "feedback_due_at",
)
# Mirrored changes worth a line on the follower's timeline (deadlines move silently, as they do
# on the case itself).
_NOTABLE = frozenset({"status", "agency_id", "category", "escalated"})
FOLLOWS_CASE = "follows_case"  # the audit action of a mirrored change (deadlines skip these)
LEFT_CASE = "unclustered"


class TransitionError(Exception):
    """The action is not allowed in the complaint's current state."""

    def __init__(self, complaint: Complaint, to: Status) -> None:
        self.from_status = Status(complaint.status)
        self.to_status = to
        self.tracking_code = complaint.tracking_code
        super().__init__(
            f"{complaint.tracking_code}: cannot go from {complaint.status} to {to.value}"
        )


class ConcurrentUpdate(StaleDataError):
    """Someone else changed the complaint since it was read; nothing was saved."""


def can_transition(current: str, to: Status) -> bool:
    return to in TRANSITIONS[Status(current)]


def _reopened_by_lapor(complaint: Complaint, to: Status) -> bool:
    """The one edge outside the table: a report filed in SP4N-LAPOR! and returned to LAPOR!'s
    national admin ("bukan wewenang") that the national admin disposes back to the regency is
    open again (gateway/core/sync.py). A gateway complaint once returned stays returned."""
    return (
        complaint.origin_channel == "lapor" and complaint.status == S.RETURNED and to is S.RECEIVED
    )


def allowed_targets(current: str) -> frozenset[Status]:
    return TRANSITIONS[Status(current)]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def transition(
    session: Session,
    complaint: Complaint,
    to: Status,
    *,
    actor: str,
    action: str,
    changes: Mapping[str, Any] | None = None,
    note: str | None = None,
    public: bool = False,
    messages: Iterable[outbox.OutboxMessage] = (),
    now: datetime | None = None,
) -> ComplaintEvent:
    """Move the complaint to `to`, apply `changes`, write the audit event and outbox rows."""
    if not (can_transition(complaint.status, to) or _reopened_by_lapor(complaint, to)):
        raise TransitionError(complaint, to)
    now = now or utcnow()
    from_status = complaint.status
    all_changes: dict[str, Any] = dict(changes or {})
    all_changes["status"] = to.value
    if to is S.PENDING:
        all_changes["status_before_pending"] = from_status
    stamp = _ENTERED_AT.get(to)
    if stamp:
        all_changes.setdefault(stamp, now)
    return _apply(
        session,
        complaint,
        actor=actor,
        action=action,
        changes=all_changes,
        note=note,
        public=public,
        messages=messages,
        now=now,
        from_status=from_status,
        to_status=to.value,
    )


def record(
    session: Session,
    complaint: Complaint,
    *,
    actor: str,
    action: str,
    changes: Mapping[str, Any] | None = None,
    note: str | None = None,
    public: bool = False,
    messages: Iterable[outbox.OutboxMessage] = (),
    now: datetime | None = None,
) -> ComplaintEvent:
    """A change that keeps the state (anonymise, reply, a new photo): audited the same way."""
    if changes and "status" in changes:
        raise ValueError("use transition() to change the status")
    return _apply(
        session,
        complaint,
        actor=actor,
        action=action,
        changes=dict(changes or {}),
        note=note,
        public=public,
        messages=messages,
        now=now or utcnow(),
        from_status=None,
        to_status=None,
    )


def note(
    session: Session,
    complaint: Complaint,
    *,
    actor: str,
    action: str,
    note: str | None = None,
    after: Mapping[str, Any] | None = None,
    public: bool = False,
    now: datetime | None = None,
) -> ComplaintEvent:
    """An audit event about something that happened around the complaint without changing it
    (a deadline reminder went out). The complaint's version stays, so an admin's open page is
    not made stale by a background sweep."""
    event = ComplaintEvent(
        complaint_id=complaint.id,  # type: ignore[arg-type]
        actor=actor,
        action=action,
        after={key: _jsonable(value) for key, value in (after or {}).items()},
        note=note,
        public=public,
        created_at=now or utcnow(),
    )
    session.add(event)
    return event


# What the forwarder learns about the complaint's record in SP4N-LAPOR! (its number, its status
# there). No admin decides on these, so learning them must not make an admin's open page stale:
# a liaison's answer typed while LAPOR! confirmed their "sedang diproses" was refused as "changed
# by someone else" (seen in the demo).
BOOKKEEPING = frozenset({"core_ref", "core_status"})


def bookkeep(
    session: Session,
    complaint: Complaint,
    changes: Mapping[str, Any],
    *,
    actor: str = "core",
    action: str | None = None,
    note: str | None = None,
    public: bool = False,
    now: datetime | None = None,
) -> ComplaintEvent | None:
    """Write `changes` (only BOOKKEEPING fields) without a new version, and audit them as
    `action` when one is given. The row is updated by a plain UPDATE that leaves `version`
    alone; an admin's own UPDATE still checks the version and writes only what they changed."""
    unknown = set(changes) - BOOKKEEPING
    if unknown:
        raise ValueError(f"not bookkeeping: {sorted(unknown)}")
    changed = {k: v for k, v in changes.items() if getattr(complaint, k) != v}
    before = {key: _jsonable(getattr(complaint, key)) for key in changed}
    _flush(session)  # this session's own pending change of the complaint goes first, versioned
    if changed:
        session.execute(
            update(Complaint)
            .where(col(Complaint.id) == complaint.id)
            .values(**changed)
            .execution_options(synchronize_session=False)
        )
        for key, value in changed.items():
            set_committed_value(complaint, key, value)  # the object agrees with its row
    if action is None:
        return None
    event = ComplaintEvent(
        complaint_id=complaint.id,  # type: ignore[arg-type]
        actor=actor,
        action=action,
        before=before,
        after={key: _jsonable(value) for key, value in changed.items()},
        note=note,
        public=public,
        created_at=now or utcnow(),
    )
    session.add(event)
    return event


def _apply(
    session: Session,
    complaint: Complaint,
    *,
    actor: str,
    action: str,
    changes: dict[str, Any],
    note: str | None,
    public: bool,
    messages: Iterable[outbox.OutboxMessage],
    now: datetime,
    from_status: str | None,
    to_status: str | None,
) -> ComplaintEvent:
    before = {key: _jsonable(getattr(complaint, key)) for key in changes}
    for key, value in changes.items():
        if not hasattr(complaint, key):
            raise AttributeError(f"Complaint has no field {key!r}")
        setattr(complaint, key, value)
    complaint.updated_at = now
    session.add(complaint)
    _flush(session)  # the complaint needs its id for the event and the outbox rows
    event = ComplaintEvent(
        complaint_id=complaint.id,  # type: ignore[arg-type]
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=to_status,
        before=before,
        after={key: _jsonable(value) for key, value in changes.items()},
        note=note,
        public=public,
        created_at=now,
    )
    session.add(event)
    for message in messages:
        outbox.enqueue(session, message)
    return event


def open_complaint(
    session: Session,
    complaint: Complaint,
    *,
    actor: str = "system",
    messages: Iterable[outbox.OutboxMessage] = (),
    now: datetime | None = None,
) -> ComplaintEvent:
    """A new complaint enters the machine as `received`."""
    now = now or utcnow()
    complaint.status = S.RECEIVED.value
    complaint.received_at = complaint.received_at or now
    complaint.created_at = now
    complaint.updated_at = now
    session.add(complaint)
    session.flush()
    event = ComplaintEvent(
        complaint_id=complaint.id,  # type: ignore[arg-type]
        actor=actor,
        action="received",
        to_status=S.RECEIVED.value,
        public=True,
        created_at=now,
    )
    session.add(event)
    for message in messages:
        outbox.enqueue(session, message)
    return event


def follow(
    session: Session,
    complaint: Complaint,
    case: Complaint,
    *,
    now: datetime | None = None,
) -> ComplaintEvent | None:
    """Mirror the case's state onto a complaint that follows it (whatever the transition table
    says: the follower has no life of its own). Audited as `follows_case` when its state,
    agency, class or escalation changes; None when nothing notable changed."""
    changes = {
        name: getattr(case, name)
        for name in MIRRORED_FIELDS
        if getattr(complaint, name) != getattr(case, name)
    }
    if not changes:
        return None
    now = now or utcnow()
    if not _NOTABLE & changes.keys():
        for key, value in changes.items():
            setattr(complaint, key, value)
        session.add(complaint)
        return None
    status_changed = "status" in changes
    return _apply(
        session,
        complaint,
        actor="system",
        action=FOLLOWS_CASE,
        changes=changes,
        note=None,
        public=status_changed,
        messages=(),
        now=now,
        from_status=complaint.status if status_changed else None,
        to_status=case.status if status_changed else None,
    )


def leave_case(
    session: Session,
    complaint: Complaint,
    *,
    restore: Mapping[str, Any],
    actor: str,
    note: str | None = None,
    now: datetime | None = None,
) -> ComplaintEvent:
    """A follower leaves its case: `cluster_id` cleared and the mirrored fields given back the
    values it had of its own (`restore`, from its history); it is back in the inbox."""
    unknown = set(restore) - set(MIRRORED_FIELDS)
    if unknown:
        raise ValueError(f"not mirrored fields: {sorted(unknown)}")
    changes: dict[str, Any] = {**restore, "cluster_id": None}
    to_status = str(changes.get("status") or complaint.status)
    return _apply(
        session,
        complaint,
        actor=actor,
        action=LEFT_CASE,
        changes=changes,
        note=note,
        public=True,
        messages=(),
        now=now or utcnow(),
        from_status=complaint.status,
        to_status=to_status,
    )


def expect_version(complaint: Complaint, version: int | None) -> None:
    """The admin acted on the page as of `version`; refuse if it changed since."""
    if version is not None and complaint.version != version:
        raise ConcurrentUpdate(complaint.tracking_code)


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        session.rollback()
        raise ConcurrentUpdate(str(exc)) from None


def commit(session: Session) -> None:
    try:
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        raise ConcurrentUpdate(str(exc)) from None
