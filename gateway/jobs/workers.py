"""The threads that do the work after an ack, away from the event loop and the web threads.

- `InboundWorkers`: `INBOUND_THREADS` threads turning stored inbound messages into complaints
  (`intake.process`), one short transaction per message. A reporter's messages always go to
  the same thread, so they are processed in the order they arrived. Webhooks hand the new row
  ids over (`submit`); the periodic resume sweep hands over whatever is still pending (after a
  crash, or from another instance), so an id lost here is only late, never lost.
- `OutboxThread`: one thread with its own event loop running `Dispatcher.run_until`, which
  keeps sending while rows are due (per-channel concurrency and rate, one recipient in order).

Both use pooled connections of their own (the pool is sized for them, see `pool_size_for`).
`lapor-gateway serve` starts them in the web process (the single-machine default);
`lapor-gateway worker` runs the same classes, its inbound threads fed by polling the database
(`INBOUND_POLL_SECONDS`) for what the web processes stored.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
import zlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from config.settings import Settings
from gateway.intake import inbound as intake

if TYPE_CHECKING:
    from gateway.outbox.queue import Dispatcher
    from gateway.parts import Intake

log = logging.getLogger(__name__)

# Connections the scheduler's jobs may hold at once (asyncio's default executor runs them,
# min(32, cores + 4) threads; on the 2-core machine 6) plus the dispatcher's two (claim and
# record) and the leader election's own.
BACKGROUND_CONNECTIONS = 10

# A worker process polls for pending rows (the web processes stored them): the oldest
# POLL_BATCH at a time, and only while fewer than POLL_LOW_WATER are queued in its threads.
POLL_BATCH = 1000
POLL_LOW_WATER = 500


def pool_size_for(settings: Settings) -> int:
    """Every thread that can hold a connection at once gets one: web threads, inbound
    threads, the background jobs. A pool smaller than its users makes threads wait for one
    another's connections, and waits that nest deadlock (issue 12)."""
    if settings.database_pool_size:
        return settings.database_pool_size
    return settings.web_threads + settings.inbound_threads + BACKGROUND_CONNECTIONS


# While webhooks are being answered in this process, an inbound thread holds back at most this
# long before its next message: acks first, yet a flood slows the backlog without stopping it.
ACKS_FIRST_MAX_HOLD = 0.05


class AcksInFlight:
    """The webhooks this process is answering (`WebhookDoor` counts them). The inbound threads
    hold back while any is (`hold`), so on one machine a flood's acks get the CPU and the GIL
    first and its backlog is processed as the flood ebbs (issue 12). A worker process answers
    no webhook and never holds back."""

    def __init__(self) -> None:
        self._count = 0
        self._quiet = threading.Condition()

    def enter(self) -> None:
        with self._quiet:
            self._count += 1

    def leave(self) -> None:
        with self._quiet:
            self._count -= 1
            if self._count == 0:
                self._quiet.notify_all()

    def hold(self, timeout: float) -> None:
        """Wait until no ack is in flight, `timeout` at most."""
        with self._quiet:
            self._quiet.wait_for(lambda: self._count == 0, timeout)


class InboundWorkers:
    def __init__(self, gateway: Intake, threads: int) -> None:
        self.gateway = gateway
        self.acks = AcksInFlight()
        self._queues: list[queue.SimpleQueue[int | None]] = [
            queue.SimpleQueue() for _ in range(threads)
        ]
        self._threads: list[threading.Thread] = []
        self._queued: set[int] = set()  # ids waiting or being processed here
        self._lock = threading.Lock()
        self._polling = threading.Event()
        self.running = False

    def start(self, poll_seconds: float | None = None) -> None:
        """Start the threads. `poll_seconds`: also look for pending rows that often (a worker
        process, where no webhook hands rows over in memory; an indexed query on status)."""
        self.running = True
        for n, q in enumerate(self._queues):
            thread = threading.Thread(target=self._run, args=(q,), name=f"inbound-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        if poll_seconds is not None:
            feeder = threading.Thread(
                target=self._poll, args=(poll_seconds,), name="inbound-poll", daemon=True
            )
            feeder.start()
            self._threads.append(feeder)

    def _poll(self, seconds: float) -> None:
        while self.running:
            # While plenty is queued here, reading the pending rows again only costs CPU; the
            # next poll comes soon enough when the queue runs low.
            if self.backlog < POLL_LOW_WATER:
                try:
                    self.resume(0, limit=POLL_BATCH)
                except Exception:
                    log.exception("looking for pending inbound messages failed")
            self._polling.wait(seconds)

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the message in hand; what is still queued stays pending in the database."""
        self.running = False
        self._polling.set()
        for q in self._queues:
            q.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def submit(self, items: Iterable[tuple[int, str]]) -> bool:
        """Queue (inbound id, sender key) pairs; False when not running (the caller processes
        them itself). One sender's messages land on one thread, in order."""
        if not self.running:
            return False
        for inbound_id, sender in items:
            with self._lock:
                if inbound_id in self._queued:
                    continue
                self._queued.add(inbound_id)
            shard = zlib.crc32(sender.encode()) % len(self._queues)
            self._queues[shard].put(inbound_id)
        return True

    @property
    def backlog(self) -> int:
        with self._lock:
            return len(self._queued)

    def _run(self, q: queue.SimpleQueue[int | None]) -> None:
        while True:
            inbound_id = q.get()
            if inbound_id is None or not self.running:
                return
            self.acks.hold(ACKS_FIRST_MAX_HOLD)
            try:
                intake.process(self.gateway, inbound_id)
            except Exception:  # process() records its own failures; this is the unexpected
                log.exception("inbound worker failed", extra={"inbound_id": inbound_id})
            finally:
                with self._lock:
                    self._queued.discard(inbound_id)

    def resume(self, older_than_seconds: float = 0, limit: int | None = None) -> int:
        """Hand over what is pending in the database (the resume sweep); returns how many."""
        pending = intake.unprocessed_senders(self.gateway.db, older_than_seconds, limit)
        self.submit(pending)
        return len(pending)


class OutboxThread:
    """The dispatcher on a thread and an event loop of its own: sends never wait for the web
    process's loop, and the loop never waits for them."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stopped.set()
        if self._thread.ident is not None:  # started
            self._thread.join(timeout)

    def alive(self, slack_seconds: float) -> bool:
        last = self.dispatcher.last_cycle
        return self._thread.is_alive() and (last is None or time.monotonic() - last < slack_seconds)

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                asyncio.run(self.dispatcher.run_until(self._stopped))
            except Exception:
                log.exception("outbox dispatcher stopped; starting again")
                self._stopped.wait(1.0)
