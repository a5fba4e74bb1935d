"""The state machine: every allowed transition works and is audited, every other one is refused
and changes nothing, and two admins acting at once cannot both win."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from gateway.complaints import workflow
from gateway.outbox import queue as outbox
from gateway.store.db import Database
from gateway.store.models import Complaint, ComplaintEvent, OutboxItem, Status
from tests.gateway.factories import make_complaint

ALLOWED = [(a, b) for a, targets in workflow.TRANSITIONS.items() for b in targets]
FORBIDDEN = [
    (a, b) for a, b in itertools.product(Status, Status) if b not in workflow.TRANSITIONS[a]
]


def test_every_state_has_a_row_in_the_table() -> None:
    assert set(workflow.TRANSITIONS) == set(Status)


def test_terminal_states_allow_nothing() -> None:
    for state in (Status.CLOSED, Status.ARCHIVED, Status.RETURNED):
        assert workflow.allowed_targets(state) == frozenset()


@pytest.mark.parametrize(("start", "target"), ALLOWED, ids=[f"{a}->{b}" for a, b in ALLOWED])
def test_allowed_transition_changes_state_and_writes_event(
    db: Database, start: Status, target: Status
) -> None:
    complaint = make_complaint(db, start)
    with db.session() as session:
        row = session.get(Complaint, complaint.id)
        assert row is not None
        workflow.transition(session, row, target, actor="user:1", action=target.value)
        workflow.commit(session)
    with db.read_session() as session:
        row = session.get(Complaint, complaint.id)
        assert row is not None and row.status == target
        event = session.scalars(
            select(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == complaint.id)
            .order_by(col(ComplaintEvent.id).desc())
        ).first()
        assert event is not None
        assert (event.from_status, event.to_status, event.actor) == (start, target, "user:1")
        assert event.after["status"] == target.value


@pytest.mark.parametrize(("start", "target"), FORBIDDEN, ids=[f"{a}->{b}" for a, b in FORBIDDEN])
def test_forbidden_transition_raises_and_changes_nothing(
    db: Database, start: Status, target: Status
) -> None:
    complaint = make_complaint(db, start)
    with db.session() as session:
        row = session.get(Complaint, complaint.id)
        assert row is not None
        with pytest.raises(workflow.TransitionError) as caught:
            workflow.transition(session, row, target, actor="user:1", action="x")
        assert caught.value.from_status == start and caught.value.to_status == target
        session.rollback()
    with db.read_session() as session:
        row = session.get(Complaint, complaint.id)
        assert row is not None and row.status == start
        events = session.scalar(
            select(func.count())
            .select_from(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == complaint.id)
        )
        assert events == 1  # only the "received" event from creation


def test_entering_a_state_stamps_its_time_and_pending_remembers_where_it_was(db: Database) -> None:
    complaint = make_complaint(db, Status.VERIFIED)
    with db.session() as session:
        row = session.get(Complaint, complaint.id)
        assert row is not None
        workflow.transition(session, row, Status.PENDING, actor="user:1", action="pend")
        workflow.commit(session)
        assert row.status_before_pending == "verified"
        workflow.transition(session, row, Status.VERIFIED, actor="reporter", action="resumed")
        workflow.transition(session, row, Status.DISPOSED, actor="user:1", action="disposed")
        workflow.commit(session)
        assert row.disposed_at is not None and row.verified_at is not None


def test_outbox_rows_commit_and_roll_back_with_the_transition(db: Database) -> None:
    complaint = make_complaint(db)
    message = outbox.OutboxMessage(
        kind="reply", key="k-1", channel="webform", recipient="x", complaint_id=complaint.id
    )
    with db.session() as session:
        row = session.get(Complaint, complaint.id)
        assert row is not None
        workflow.transition(
            session, row, Status.VERIFIED, actor="u", action="verify", messages=[message]
        )
        session.rollback()  # e.g. a crash before commit
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxItem)) == 0
        assert session.get(Complaint, complaint.id).status == Status.RECEIVED  # type: ignore[union-attr]
    with db.session() as session:
        row = session.get(Complaint, complaint.id)
        assert row is not None
        workflow.transition(
            session, row, Status.VERIFIED, actor="u", action="verify", messages=[message]
        )
        workflow.commit(session)
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxItem)) == 1


def test_two_admins_at_once_one_wins_the_other_is_told(db: Database) -> None:
    complaint = make_complaint(db)
    with db.read_session() as s1:
        first = s1.get(Complaint, complaint.id)
    with db.read_session() as s2:
        second = s2.get(Complaint, complaint.id)
    assert first is not None and second is not None
    with db.session() as session:
        mine = session.merge(first)
        workflow.transition(session, mine, Status.VERIFIED, actor="user:1", action="verify")
        workflow.commit(session)
    with db.session() as session:
        theirs = session.merge(second, load=False)
        with pytest.raises(workflow.ConcurrentUpdate):
            workflow.expect_version(theirs, second.version)
            workflow.transition(session, theirs, Status.ARCHIVED, actor="user:2", action="archive")
            workflow.commit(session)
    with db.read_session() as session:
        assert session.get(Complaint, complaint.id).status == Status.VERIFIED  # type: ignore[union-attr]


def test_stale_version_is_refused_before_anything_changes(db: Database) -> None:
    complaint = make_complaint(db)
    with db.session() as session:
        row = session.get(Complaint, complaint.id)
        assert row is not None
        with pytest.raises(workflow.ConcurrentUpdate):
            workflow.expect_version(row, row.version - 1)


def test_record_refuses_to_change_the_status(db: Database) -> None:
    complaint = make_complaint(db)
    with db.session() as session:
        row = session.get(Complaint, complaint.id)
        assert row is not None
        with pytest.raises(ValueError, match="transition"):
            workflow.record(session, row, actor="u", action="x", changes={"status": "closed"})
