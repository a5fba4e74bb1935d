"""The inbound threads (`gateway/jobs/workers.py`): each stored message processed once, one
reporter's messages in the order they arrived, rows stored elsewhere found by polling."""

from __future__ import annotations

import random
import threading
import time

from sqlalchemy import func, select
from sqlmodel import Session

from gateway.context import Gateway
from gateway.intake import inbound as intake
from gateway.jobs.workers import InboundWorkers
from gateway.store.models import Complaint, InboundMessage, InboundStatus
from tests.gateway.factories import inbound


def _wait(condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())


def _pending(gateway: Gateway) -> int:
    with gateway.db.read_session() as session:
        query = select(func.count()).select_from(InboundMessage)
        return session.scalar(query.where(InboundMessage.status == InboundStatus.PENDING)) or 0


def test_one_reporters_messages_are_processed_in_the_order_they_arrived(
    gateway: Gateway,
) -> None:
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()
    rng = random.Random(5)

    def slow(gw: Gateway, session: Session, row: InboundMessage) -> None:
        time.sleep(rng.uniform(0, 0.01))  # threads overtake one another unless kept in line
        with lock:
            seen.append((row.sender, row.external_id))

    gateway.processors = dict.fromkeys(gateway.processors, slow)
    workers = InboundWorkers(gateway, threads=3)
    workers.start()
    gateway.inbound_workers = workers
    try:
        senders = [f"+62812000000{n}" for n in range(4)]
        for i in range(10):
            for sender in senders:
                message = inbound(f"{sender}:{i:02d}", channel="twilio_sms", sender=sender)
                accepted = intake.accept(gateway.db, message)
                key = intake.sender_key("twilio_sms", sender)
                assert gateway.hand_over([(accepted.inbound_id, key)]) is None  # threads took it
        assert _wait(lambda: len(seen) == 40, 20), len(seen)
    finally:
        workers.stop()
        gateway.inbound_workers = None
    for sender in senders:
        mine = [external_id for who, external_id in seen if who == sender]
        assert mine == [f"{sender}:{i:02d}" for i in range(10)]
    assert _pending(gateway) == 0


def test_rows_stored_by_another_process_are_found_and_processed_once(gateway: Gateway) -> None:
    """A worker process gets no ids in memory: it polls for pending rows."""
    for n in range(5):
        intake.accept(gateway.db, inbound(f"elsewhere-{n}"), assign_code=True)
    workers = InboundWorkers(gateway, threads=2)
    workers.start(poll_seconds=0.1)
    try:
        assert _wait(lambda: _pending(gateway) == 0, 20)
        time.sleep(0.3)  # a few more polls: nothing is processed twice
    finally:
        workers.stop()
    with gateway.db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Complaint)) == 5


def test_a_web_process_beside_workers_only_stores_and_leaves_processing_to_them(
    gateway: Gateway,
) -> None:
    """WEB_PROCESSES_INBOUND=false (issue 12): the web process acks and hands nothing to run
    after its answer; the row stays pending until a worker's poll takes it."""
    gateway.settings = gateway.settings.model_copy(update={"web_processes_inbound": False})
    accepted = intake.accept(gateway.db, inbound("web-only-1"), assign_code=True)
    key = intake.sender_key("webform", "web:tester")
    assert gateway.hand_over([(accepted.inbound_id, key)]) is None
    assert _pending(gateway) == 1
    workers = InboundWorkers(gateway, threads=1)  # the worker process's threads, polling
    workers.start(poll_seconds=0.1)
    try:
        assert _wait(lambda: _pending(gateway) == 0, 20)
    finally:
        workers.stop()


def test_by_default_the_web_process_processes_what_it_stored(gateway: Gateway) -> None:
    accepted = intake.accept(gateway.db, inbound("web-and-process-1"), assign_code=True)
    key = intake.sender_key("webform", "web:tester")
    process_now = gateway.hand_over([(accepted.inbound_id, key)])
    assert process_now is not None
    process_now()
    assert _pending(gateway) == 0


def test_serve_with_several_web_processes_needs_the_jobs_elsewhere(capsys) -> None:  # type: ignore[no-untyped-def]
    """`serve --workers 2` with the jobs on would run the scheduler in every web process."""
    from gateway.cli import main

    assert main(["serve", "--workers", "2", "--jobs"]) == 2
    assert "--no-jobs" in capsys.readouterr().err


def test_processing_holds_back_while_webhooks_are_answered_but_never_stops(
    gateway: Gateway, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Acks first (issue 12): in a process that answers webhooks, the inbound threads wait
    while an ack is in flight, so a flood's acks get the CPU; each wait is bounded, so a
    flood slows the backlog without stopping it."""
    from gateway.jobs import workers as workers_module

    monkeypatch.setattr(workers_module, "ACKS_FIRST_MAX_HOLD", 0.6)
    workers = InboundWorkers(gateway, threads=1)
    workers.start()
    gateway.inbound_workers = workers
    key = intake.sender_key("webform", "web:tester")
    try:
        workers.acks.enter()  # a webhook being answered
        accepted = intake.accept(gateway.db, inbound("held-1"), assign_code=True)
        assert gateway.hand_over([(accepted.inbound_id, key)]) is None
        time.sleep(0.3)
        assert _pending(gateway) == 1  # held back while the ack is in flight
        workers.acks.leave()  # answered: processing goes on at once
        assert _wait(lambda: _pending(gateway) == 0, 5)

        workers.acks.enter()  # an endless flood: held back once, then processed anyway
        began = time.monotonic()
        accepted = intake.accept(gateway.db, inbound("held-2"), assign_code=True)
        assert gateway.hand_over([(accepted.inbound_id, key)]) is None
        assert _wait(lambda: _pending(gateway) == 0, 5)
        assert time.monotonic() - began >= 0.5
        workers.acks.leave()
    finally:
        workers.stop()
        gateway.inbound_workers = None


def test_the_webhook_door_counts_each_ack_in_flight_until_it_is_answered(
    gateway: Gateway, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """What the inbound threads hold back for: every webhook from its first byte to its answer,
    whatever the answer (here a 403), and nothing after."""
    from fastapi.testclient import TestClient

    from gateway.api.routes import webhooks
    from gateway.app import create_app

    workers = InboundWorkers(gateway, threads=1)
    workers.start()
    gateway.inbound_workers = workers
    seen: list[int] = []

    def answer(gw: Gateway, channel: str, raw: object) -> webhooks.Answer:
        seen.append(workers.acks._count)
        return webhooks.Answer.json("invalid signature", 403)

    monkeypatch.setattr(webhooks, "answer", answer)
    try:
        with TestClient(create_app(gateway.settings, gateway)) as client:
            for _ in range(3):
                assert client.post("/webhooks/telegram", content=b"{}").status_code == 403
    finally:
        workers.stop()
        gateway.inbound_workers = None
    assert seen == [1, 1, 1]
    assert workers.acks._count == 0
