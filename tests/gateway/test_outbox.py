"""The outbox: idempotent enqueue, delivery, retry with backoff, dead letters, crash recovery,
and concurrent dispatchers that never deliver one row twice."""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session

from config.settings import Settings
from gateway.clock import utcnow
from gateway.outbox import queue as outbox
from gateway.outbox.payloads import CorePayload
from gateway.outbox.queue import Backoff, Delivered, Dispatcher, OutboxMessage
from gateway.store.db import Database
from gateway.store.models import OutboxItem, OutboxStatus


class Recorder(outbox.BaseHandler):
    """A fake provider: answers from a script and remembers every delivery."""

    def __init__(self, script: list[Delivered] | None = None, known: set[str] | None = None):
        self.script = list(script or [])
        self.delivered: list[str] = []
        self.known = known  # what the provider would admit to having, for reconcile
        self.sent_hook: list[int] = []
        self.dead_hook: list[tuple[int, str]] = []
        self.lock = threading.Lock()

    async def deliver(self, item: OutboxItem) -> Delivered:
        with self.lock:
            self.delivered.append(item.idempotency_key)
        return self.script.pop(0) if self.script else Delivered(ok=True, provider_message_id="p-1")

    async def reconcile(self, item: OutboxItem) -> Delivered | None:
        if self.known is None:
            return None
        if item.idempotency_key in self.known:
            return Delivered(ok=True, provider_message_id="found")
        return await self.deliver(item)

    def on_sent(self, session: Session, item: OutboxItem, result: Delivered) -> None:
        self.sent_hook.append(item.id)  # type: ignore[arg-type]

    def on_dead(self, session: Session, item: OutboxItem, error: str) -> None:
        self.dead_hook.append((item.id, error))  # type: ignore[arg-type]


def _enqueue(db: Database, *keys: str) -> None:
    with db.session() as session:
        for key in keys:
            outbox.enqueue(session, OutboxMessage(kind="test", key=key, payload=CorePayload(key)))
        session.commit()


def _row(db: Database, key: str) -> OutboxItem:
    with db.read_session() as session:
        row = session.scalar(select(OutboxItem).where(OutboxItem.idempotency_key == key))
        assert row is not None
        return row


def _dispatcher(db: Database, handler: Recorder, worker: str = "w1", **kw: object) -> Dispatcher:
    return Dispatcher(db, {"test": handler}, worker_id=worker, rng=random.Random(7), **kw)  # type: ignore[arg-type]


def test_enqueue_is_idempotent_on_the_key(db: Database) -> None:
    with db.session() as session:
        first = outbox.enqueue(session, OutboxMessage(kind="test", key="same"))
        second = outbox.enqueue(session, OutboxMessage(kind="test", key="same"))
        session.commit()
    assert (first, second) == (True, False)
    with db.read_session() as session:
        assert len(session.scalars(select(OutboxItem)).all()) == 1


def test_delivered_row_is_marked_sent_with_provider_id(db: Database) -> None:
    _enqueue(db, "a")
    handler = Recorder()
    assert asyncio.run(_dispatcher(db, handler).drain()) == 1
    row = _row(db, "a")
    assert row.status == OutboxStatus.SENT and row.provider_message_id == "p-1"
    assert row.sent_at is not None and row.attempts == 1
    assert handler.sent_hook == [row.id]
    assert asyncio.run(_dispatcher(db, handler).drain()) == 0  # nothing sent twice
    assert handler.delivered == ["a"]


def test_retryable_failure_backs_off_exponentially(db: Database) -> None:
    _enqueue(db, "a")
    handler = Recorder([Delivered(ok=False, retryable=True, error="503")] * 3)
    backoff = Backoff(base_seconds=10, max_seconds=1000, jitter=0.2)
    dispatcher = _dispatcher(db, handler, backoff=backoff)
    now = utcnow()
    expected = [10, 20, 40]
    for attempt, base in enumerate(expected, start=1):
        handled = asyncio.run(dispatcher.run_once(now))
        assert handled == 1
        row = _row(db, "a")
        assert row.status == OutboxStatus.PENDING and row.attempts == attempt
        assert row.last_error == "503"
        delay = (row.next_attempt_at - utcnow()).total_seconds()
        assert base * 0.8 - 2 <= delay <= base * 1.2 + 1
        assert asyncio.run(dispatcher.run_once(now)) == 0  # not due yet
        now = row.next_attempt_at + timedelta(seconds=1)
    assert asyncio.run(dispatcher.run_once(now)) == 1
    assert _row(db, "a").status == OutboxStatus.SENT


def test_backoff_is_capped() -> None:
    backoff = Backoff(base_seconds=5, max_seconds=60, jitter=0)
    assert [backoff.delay(n) for n in (1, 2, 3, 4, 5, 10)] == [5, 10, 20, 40, 60, 60]


def test_exhausted_retries_become_a_dead_letter(db: Database) -> None:
    with db.session() as session:
        outbox.enqueue(session, OutboxMessage(kind="test", key="a"), max_attempts=2)
        session.commit()
    handler = Recorder([Delivered(ok=False, retryable=True, error="timeout")] * 2)
    dispatcher = _dispatcher(db, handler)
    asyncio.run(dispatcher.run_once())
    asyncio.run(dispatcher.run_once(utcnow() + timedelta(days=1)))
    row = _row(db, "a")
    assert row.status == OutboxStatus.DEAD and row.last_error == "timeout"
    assert handler.dead_hook == [(row.id, "timeout")]
    with db.read_session() as session:
        assert [r.idempotency_key for r in outbox.dead_letters(session)] == ["a"]


def test_permanent_failure_is_dead_at_once_and_can_be_requeued(db: Database) -> None:
    _enqueue(db, "a")
    handler = Recorder([Delivered(ok=False, retryable=False, error="21211 invalid number")])
    asyncio.run(_dispatcher(db, handler).drain())
    row = _row(db, "a")
    assert row.status == OutboxStatus.DEAD and row.attempts == 1
    with db.session() as session:
        assert outbox.requeue_dead(session, row.id)  # type: ignore[arg-type]
        session.commit()
    asyncio.run(_dispatcher(db, handler).drain())
    assert _row(db, "a").status == OutboxStatus.SENT
    assert handler.delivered == ["a", "a"]


def test_unknown_kind_is_a_dead_letter_not_a_crash(db: Database) -> None:
    with db.session() as session:
        outbox.enqueue(session, OutboxMessage(kind="nobody-handles-this", key="a"))
        session.commit()
    asyncio.run(_dispatcher(db, Recorder()).drain())
    row = _row(db, "a")
    assert row.status == OutboxStatus.DEAD and "no handler" in (row.last_error or "")


def test_handler_exception_is_retried(db: Database) -> None:
    class Broken(Recorder):
        async def deliver(self, item: OutboxItem) -> Delivered:
            raise RuntimeError("bug")

    _enqueue(db, "a")
    asyncio.run(_dispatcher(db, Broken()).run_once())
    row = _row(db, "a")
    assert row.status == OutboxStatus.PENDING and "bug" in (row.last_error or "")


def _crash_mid_flight(db: Database, key: str) -> None:
    """A dispatcher claimed the row and died before recording the result."""
    crashed = _dispatcher(db, Recorder(), worker="dead-worker", lease_seconds=30)
    assert [c.item.idempotency_key for c in crashed.claim()] == [key]


def test_expired_lease_is_never_sent_blindly_when_the_provider_cannot_tell(db: Database) -> None:
    _enqueue(db, "a")
    _crash_mid_flight(db, "a")
    handler = Recorder(known=None)
    later = utcnow() + timedelta(seconds=31)
    assert asyncio.run(_dispatcher(db, handler).run_once(later)) == 1
    row = _row(db, "a")
    assert handler.delivered == []
    assert row.status == OutboxStatus.DEAD and row.last_error == outbox.UNCERTAIN


def test_expired_lease_reconciles_with_a_provider_that_can_tell(db: Database) -> None:
    _enqueue(db, "sent-before-crash", "never-sent")
    _crash_mid_flight_both = _dispatcher(db, Recorder(), worker="dead", lease_seconds=30)
    assert len(_crash_mid_flight_both.claim()) == 2
    handler = Recorder(known={"sent-before-crash"})
    asyncio.run(_dispatcher(db, handler).run_once(utcnow() + timedelta(seconds=31)))
    assert _row(db, "sent-before-crash").provider_message_id == "found"
    assert _row(db, "never-sent").status == OutboxStatus.SENT
    assert handler.delivered == ["never-sent"]  # the one the provider had is not sent again


def test_lease_still_valid_is_not_claimed_by_another_worker(db: Database) -> None:
    _enqueue(db, "a")
    _crash_mid_flight(db, "a")
    assert _dispatcher(db, Recorder(), worker="w2").claim() == []


def test_two_concurrent_dispatchers_never_deliver_one_row_twice(db: Database) -> None:
    keys = [f"k{i}" for i in range(60)]
    _enqueue(db, *keys)
    handler = Recorder()
    barrier = threading.Barrier(2)
    handled: list[int] = []

    def run(worker: str) -> None:
        dispatcher = _dispatcher(db, handler, worker=worker, batch_size=5)
        barrier.wait()
        handled.append(asyncio.run(dispatcher.drain()))

    threads = [threading.Thread(target=run, args=(f"w{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    counts = Counter(handler.delivered)
    assert sorted(counts) == sorted(keys)
    assert max(counts.values()) == 1
    assert sum(handled) == len(keys)
    with db.read_session() as session:
        statuses = set(session.scalars(select(OutboxItem.status)).all())
    assert statuses == {OutboxStatus.SENT}


@pytest.mark.parametrize("attempts", [1, 3])
def test_backoff_jitter_stays_within_bounds(attempts: int) -> None:
    backoff = Backoff(base_seconds=10, max_seconds=10_000, jitter=0.2)
    rng = random.Random(1)
    raw = 10 * 2 ** (attempts - 1)
    for _ in range(100):
        assert raw * 0.8 <= backoff.delay(attempts, rng) <= raw * 1.2


def test_hooks_racing_on_one_complaint_are_retried_not_lost(db: Database) -> None:
    """Several deliveries of one complaint finish at once; each hook writes on the complaint."""
    from gateway.complaints import workflow
    from gateway.store.models import Complaint
    from tests.gateway.factories import make_complaint

    complaint = make_complaint(db)

    class Noting(Recorder):
        def on_sent(self, session: Session, item: OutboxItem, result: Delivered) -> None:
            row = session.get(Complaint, complaint.id)
            assert row is not None
            workflow.record(
                session, row, actor="system", action="delivered", note=item.idempotency_key
            )

    with db.session() as session:
        for i in range(12):
            message = OutboxMessage(kind="test", key=f"n{i}", complaint_id=complaint.id)
            outbox.enqueue(session, message)
        session.commit()
    handler = Noting()
    threads = [
        threading.Thread(
            target=lambda w=w: asyncio.run(_dispatcher(db, handler, worker=w, batch_size=3).drain())
        )
        for w in ("a", "b", "c")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with db.read_session() as session:
        statuses = set(session.scalars(select(OutboxItem.status)).all())
        from gateway.store.models import ComplaintEvent

        notes = session.scalars(
            select(ComplaintEvent.note).where(ComplaintEvent.action == "delivered")
        ).all()
    assert statuses == {OutboxStatus.SENT}
    assert sorted(notes) == sorted(f"n{i}" for i in range(12))


class SlowFirst(Recorder):
    """A provider that takes longer for the first message than for the next ones."""

    async def deliver(self, item: OutboxItem) -> Delivered:
        await asyncio.sleep(0.2 if item.idempotency_key.endswith("in-progress") else 0)
        with self.lock:
            self.delivered.append(item.idempotency_key)
        return Delivered(ok=True, provider_message_id="p")


def test_one_recipient_gets_their_messages_in_the_order_they_were_queued(db: Database) -> None:
    """Seen in the demo: "sedang ditindaklanjuti" reached the reporter after "sudah dijawab"
    (both queued by one poll of the core and sent at once)."""
    with db.session() as session:
        for key, recipient in (
            ("a:in-progress", "+6281200000001"),
            ("a:answered", "+6281200000001"),
            ("b:notice", "+6281200000002"),
        ):
            message = OutboxMessage(kind="test", key=key, channel="sms", recipient=recipient)
            outbox.enqueue(session, message)
        session.commit()
    handler = SlowFirst()
    assert asyncio.run(_dispatcher(db, handler).run_once()) == 3
    assert [k for k in handler.delivered if k.startswith("a:")] == ["a:in-progress", "a:answered"]
    assert handler.delivered[0] == "b:notice"  # another recipient is not held up meanwhile


def test_rows_without_their_own_limit_follow_outbox_max_attempts(db: Database) -> None:
    """OUTBOX_MAX_ATTEMPTS is the deployment's limit; a row that set its own keeps it."""
    settings = Settings(_env_file=None, outbox_max_attempts=3)  # type: ignore[call-arg]
    with db.session() as session:
        outbox.enqueue(session, OutboxMessage(kind="test", key="deployment"))
        outbox.enqueue(session, OutboxMessage(kind="test", key="own"), max_attempts=5)
        session.commit()
    handler = Recorder([Delivered(ok=False, retryable=True, error="timeout")] * 8)
    dispatcher = outbox.Dispatcher(
        db,
        {"test": handler},
        worker_id="w",
        backoff=Backoff(base_seconds=0, max_seconds=0, jitter=0),
        max_attempts=settings.outbox_max_attempts,
    )
    later = utcnow()
    for _ in range(5):
        later += timedelta(minutes=1)
        asyncio.run(dispatcher.run_once(later))
    assert (_row(db, "deployment").status, _row(db, "deployment").attempts) == ("dead", 3)
    assert (_row(db, "own").status, _row(db, "own").attempts) == ("dead", 5)
