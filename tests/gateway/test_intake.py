"""Intake: a message is stored once, acknowledged, processed once, and survives a crash."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from gateway.context import Gateway
from gateway.intake import inbound as intake
from gateway.store.models import Complaint, ComplaintEvent, InboundMessage, InboundStatus, Status
from tests.gateway.factories import inbound


def _count(gateway: Gateway, model: type) -> int:
    with gateway.db.read_session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_the_same_provider_message_twice_is_stored_once(gateway: Gateway) -> None:
    first = intake.accept(gateway.db, inbound("SM123"), raw_payload="Body=a")
    second = intake.accept(gateway.db, inbound("SM123"), raw_payload="Body=a")
    assert (first.duplicate, second.duplicate) == (False, True)
    assert first.inbound_id == second.inbound_id
    assert _count(gateway, InboundMessage) == 1


def test_same_external_id_on_another_channel_is_another_message(gateway: Gateway) -> None:
    intake.accept(gateway.db, inbound("1", channel="webform"))
    intake.accept(gateway.db, inbound("1", channel="telegram"))
    assert _count(gateway, InboundMessage) == 2


def test_raw_payload_is_kept_verbatim(gateway: Gateway) -> None:
    raw = "Body=Jalan+rusak%21&From=%2B6281234567890"
    accepted = intake.accept(
        gateway.db,
        inbound("x"),
        raw_payload=raw,
        raw_content_type="application/x-www-form-urlencoded",
    )
    with gateway.db.read_session() as session:
        row = session.get(InboundMessage, accepted.inbound_id)
        assert row is not None and row.raw_payload == raw and row.status == InboundStatus.PENDING


def test_processing_creates_one_received_complaint(gateway: Gateway) -> None:
    accepted = intake.accept(gateway.db, inbound("a"), assign_code=True)
    assert intake.process(gateway, accepted.inbound_id) is True
    assert intake.process(gateway, accepted.inbound_id) is False  # already done
    with gateway.db.read_session() as session:
        complaint = session.scalar(select(Complaint))
        assert complaint is not None
        assert complaint.tracking_code == accepted.tracking_code
        assert complaint.status == Status.RECEIVED
        assert complaint.original_text == inbound().text
        events = session.scalars(select(ComplaintEvent.action)).all()
        assert events == ["received"]
        row = session.get(InboundMessage, accepted.inbound_id)
        assert row is not None and row.complaint_id == complaint.id
        assert row.status == InboundStatus.PROCESSED


def test_a_replay_after_processing_answers_with_the_same_code(gateway: Gateway) -> None:
    accepted = intake.accept(gateway.db, inbound("a"), assign_code=True)
    intake.process(gateway, accepted.inbound_id)
    again = intake.accept(gateway.db, inbound("a"), assign_code=True)
    assert again.duplicate and again.tracking_code == accepted.tracking_code
    assert _count(gateway, Complaint) == 1


def test_messages_stored_before_a_crash_are_processed_at_restart(
    gateway: Gateway, settings: object
) -> None:
    ids = [
        intake.accept(gateway.db, inbound(f"m{i}"), assign_code=True).inbound_id for i in range(3)
    ]
    # The process dies here: stored, acknowledged, never processed. A new process starts:
    restarted = Gateway.create(gateway.settings, db=gateway.db)
    assert intake.unprocessed_ids(restarted.db) == ids
    assert intake.resume(restarted) == 3
    assert _count(gateway, Complaint) == 3
    assert intake.unprocessed_ids(restarted.db) == []


def test_a_crash_during_processing_rolls_back_and_the_row_is_retried(gateway: Gateway) -> None:
    accepted = intake.accept(gateway.db, inbound("a"), assign_code=True)

    def crashing(gw: Gateway, session: object, row: InboundMessage) -> None:
        gateway.processors["webform"] = original
        from gateway.complaints.create import create_from_form

        create_from_form(gw, session, row)  # type: ignore[arg-type]
        raise RuntimeError("power cut")

    original = gateway.processors["webform"]
    gateway.processors["webform"] = crashing
    assert intake.process(gateway, accepted.inbound_id) is False
    assert _count(gateway, Complaint) == 0  # the half-made complaint was rolled back
    with gateway.db.read_session() as session:
        row = session.get(InboundMessage, accepted.inbound_id)
        assert row is not None and row.status == InboundStatus.PENDING and row.attempts == 1
        assert "power cut" in (row.last_error or "")
    assert intake.resume(gateway) == 1
    assert _count(gateway, Complaint) == 1


def test_a_message_that_keeps_failing_is_marked_failed_not_dropped(gateway: Gateway) -> None:
    accepted = intake.accept(gateway.db, inbound("a"), assign_code=True)

    def broken(*_: object) -> None:
        raise ValueError("cannot parse")

    gateway.processors["webform"] = broken
    for _ in range(intake.MAX_PROCESS_ATTEMPTS):
        intake.process(gateway, accepted.inbound_id)
    with gateway.db.read_session() as session:
        row = session.get(InboundMessage, accepted.inbound_id)
        assert row is not None and row.status == InboundStatus.FAILED
    assert intake.unprocessed_ids(gateway.db) == []


def test_two_workers_processing_the_same_row_make_one_complaint(gateway: Gateway) -> None:
    accepted = intake.accept(gateway.db, inbound("a"), assign_code=True)
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def work() -> None:
        barrier.wait()
        results.append(intake.process(gateway, accepted.inbound_id))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False, True]
    assert _count(gateway, Complaint) == 1
