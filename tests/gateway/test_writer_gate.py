"""SQLite's writers of one process queue in a gate (`gateway/store/db.py`): handed over at once,
acks first, background writers never starved, a wait that runs out is a clean 'locked'."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy.exc import OperationalError

from gateway.store.db import _WriterGate


class Conn:
    """Stands for a DBAPI connection (the gate only needs its identity)."""


def _queued(gate: _WriterGate) -> int:
    return len(gate._urgent) + len(gate._waiters)


def test_acks_go_first_and_a_background_writer_gets_its_turn_within_a_streak() -> None:
    gate = _WriterGate()
    holder = Conn()
    gate.enter(holder, 1)
    order: list[str] = []
    threads = []

    def writer(name: str, urgent: bool) -> None:
        conn = Conn()
        gate.enter(conn, 10, urgent=urgent)
        order.append(name)
        gate.leave(conn)

    plan = [("processing", False)] + [(f"ack{n}", True) for n in range(12)]
    for name, urgent in plan:
        thread = threading.Thread(target=writer, args=(name, urgent))
        thread.start()
        threads.append(thread)
        while _queued(gate) < len(threads):  # queued in this order
            time.sleep(0.001)
    gate.leave(holder)
    for thread in threads:
        thread.join(10)
    streak = _WriterGate.URGENT_STREAK
    assert order == (
        [f"ack{n}" for n in range(streak)] + ["processing"] + [f"ack{n}" for n in range(streak, 12)]
    )
    assert not gate._busy  # the last one left: free again


def test_a_writer_that_waits_too_long_gets_locked_and_the_queue_goes_on() -> None:
    gate = _WriterGate()
    holder, late, next_one = Conn(), Conn(), Conn()
    gate.enter(holder, 1)
    with pytest.raises(OperationalError, match="locked"):
        gate.enter(late, 0.05, urgent=True)
    got: list[bool] = []
    thread = threading.Thread(target=lambda: got.append(gate.enter(next_one, 5) is None))
    thread.start()
    while _queued(gate) < 1:
        time.sleep(0.001)
    gate.leave(holder)
    thread.join(5)
    assert got == [True]
    gate.leave(next_one)
    assert not gate._busy
