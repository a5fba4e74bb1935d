"""The long-running dispatcher (`Dispatcher.run_until`, issue 12): it keeps sending while rows
are due, wakes when a commit queues a row, honours each channel's send rate, and keeps one
recipient's messages in the order they were queued across many claims."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import func, select

from gateway.outbox import queue as outbox
from gateway.outbox.queue import ChannelLimits, Delivered, Dispatcher, OutboxMessage
from gateway.store.db import Database
from gateway.store.models import OutboxItem, OutboxStatus


class Provider(outbox.BaseHandler):
    """A fake provider that answers after a short, random delay and notes when each arrived."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.sent: list[tuple[float, str, str]] = []  # (time, recipient, key)
        self.lock = threading.Lock()
        self.rng = random.Random(3)

    async def deliver(self, item: OutboxItem) -> Delivered:
        with self.lock:
            self.sent.append((time.monotonic(), item.recipient or "", item.idempotency_key))
            pause = self.rng.uniform(0, self.delay)
        await asyncio.sleep(pause)
        return Delivered(ok=True, provider_message_id=f"p-{item.id}")


def _queue(db: Database, rows: list[tuple[str, str, str]]) -> None:
    """(key, channel, recipient) rows, queued in this order in one transaction."""
    with db.session() as session:
        for key, channel, recipient in rows:
            message = OutboxMessage(kind="test", key=key, channel=channel, recipient=recipient)
            outbox.enqueue(session, message)
        session.commit()


def _sent_rows(db: Database) -> int:
    with db.read_session() as session:
        query = select(func.count()).select_from(OutboxItem)
        return session.scalar(query.where(OutboxItem.status == OutboxStatus.SENT)) or 0


@contextmanager
def running(dispatcher: Dispatcher) -> Iterator[None]:
    stopped = threading.Event()
    thread = threading.Thread(target=lambda: asyncio.run(dispatcher.run_until(stopped)))
    thread.start()
    try:
        yield
    finally:
        stopped.set()
        thread.join(30)
        assert not thread.is_alive()


def _wait(condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())


def _dispatcher(db: Database, provider: Provider, **kw: object) -> Dispatcher:
    options: dict[str, object] = {"batch_size": 50, "poll_seconds": 30.0, **kw}
    return Dispatcher(db, {"test": provider}, worker_id="w", **options)  # type: ignore[arg-type]


def test_it_keeps_sending_while_rows_are_due_not_one_batch_per_poll(db: Database) -> None:
    """The old dispatcher sent 200 rows per 2-second tick; with a 30-second poll, 600 rows
    going out within seconds means it claimed again as soon as it had room."""
    rows = [(f"k{i}", "sms", f"+62812{i % 100:04d}") for i in range(600)]
    _queue(db, rows)
    provider = Provider(delay=0.002)
    with running(_dispatcher(db, provider, max_in_flight=100)):
        assert _wait(lambda: _sent_rows(db) == 600, 20), _sent_rows(db)
    assert sorted(key for _, _, key in provider.sent) == sorted(key for key, _, _ in rows)


def test_a_commit_that_queues_a_reply_wakes_it_at_once(db: Database) -> None:
    provider = Provider()
    with running(_dispatcher(db, provider)):
        time.sleep(0.3)  # idle now, its next poll 30 s away
        queued = time.monotonic()
        _queue(db, [("reply", "telegram", "111")])
        assert _wait(lambda: len(provider.sent) == 1, 5)
    # Far sooner than the 30-second poll (the slack is for a machine busy with other work).
    assert provider.sent[0][0] - queued < 2.0


def test_each_channel_is_sent_no_faster_than_its_rate(db: Database) -> None:
    _queue(db, [(f"t{i}", "telegram", str(1000 + i)) for i in range(40)])
    _queue(db, [(f"s{i}", "sms", f"+62813{i:04d}") for i in range(40)])
    provider = Provider()
    limits = ChannelLimits(concurrency=8, rates={"telegram": 20.0})
    with running(_dispatcher(db, provider, limits=limits)):
        assert _wait(lambda: _sent_rows(db) == 80, 20)
    telegram = sorted(t for t, recipient, _ in provider.sent if not recipient.startswith("+"))
    sms = sorted(t for t, recipient, _ in provider.sent if recipient.startswith("+"))
    assert telegram[-1] - telegram[0] >= 39 / 20 - 0.05  # 40 sends at 20/s
    for start in telegram:  # never more than a second's worth within any second
        assert sum(1 for t in telegram if start <= t < start + 1.0) <= 21
    assert sms[-1] - sms[0] < 1.0  # a channel without a rate is not held back


def test_one_recipients_messages_stay_in_order_across_claims(db: Database) -> None:
    """Small claims, slow random sends: a recipient's later rows are claimed while earlier
    ones are still in flight, and must still go out after them."""
    rows = []
    for n in range(8):
        for recipient in ("+6281200000001", "+6281200000002", "+6281200000003"):
            rows.append((f"{recipient}:{n}", "sms", recipient))
    _queue(db, rows)
    provider = Provider(delay=0.03)
    with running(_dispatcher(db, provider, batch_size=4, max_in_flight=8)):
        assert _wait(lambda: _sent_rows(db) == len(rows), 20)
    for recipient in ("+6281200000001", "+6281200000002", "+6281200000003"):
        order = [key for _, r, key in provider.sent if r == recipient]
        assert order == [f"{recipient}:{n}" for n in range(8)]


def test_one_chat_gets_a_short_burst_then_its_per_chat_rate(db: Database) -> None:
    """Telegram: no more than about one message per second to one chat (short bursts
    allowed); WhatsApp Cloud's pair rate is one per 6 s. A backlog for one reporter must not
    go out at the channel's full rate, while other chats are not held back by it."""
    _queue(db, [(f"a{i}", "telegram", "5001") for i in range(6)])
    _queue(db, [(f"b{i}", "telegram", str(6000 + i)) for i in range(20)])
    provider = Provider()
    limits = ChannelLimits(
        concurrency=8, rates={"telegram": 100.0}, recipient_rates={"telegram": 4.0}, burst=2
    )
    started = time.monotonic()
    with running(_dispatcher(db, provider, limits=limits)):
        assert _wait(lambda: _sent_rows(db) == 26, 20)
    one_chat = sorted(t for t, recipient, _ in provider.sent if recipient == "5001")
    others = sorted(t for t, recipient, _ in provider.sent if recipient != "5001")
    # 2 at once, then 4 more at 4 per second: the last no sooner than 1 s after the first.
    assert one_chat[-1] - one_chat[0] >= 4 / 4.0 - 0.05
    for start in one_chat:  # never more than the burst plus a second's worth in a second
        assert sum(1 for t in one_chat if start <= t < start + 1.0) <= 2 + 4
    assert [key for _, r, key in provider.sent if r == "5001"] == [f"a{i}" for i in range(6)]
    assert others[-1] - started < 5.0  # the other chats went out meanwhile
