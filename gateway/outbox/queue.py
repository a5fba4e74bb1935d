"""The outbox: a durable queue of everything that leaves the gateway.

Rows are written in the same transaction as the state change that caused them (`enqueue`), so a
crash can lose neither. Dispatchers claim due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL; on
SQLite the write lock serialises claims), deliver them outside any transaction, then record the
result: sent, retry later with exponential backoff, or dead letter for an admin to see.

A row whose lease expired while in flight (the dispatcher died mid-send) may or may not have
reached the provider. It is never sent blindly again: its handler is asked to reconcile (e.g. ask
Twilio whether the message exists); when nobody can tell, it becomes a dead letter that says so,
because a reply sent twice is the one thing we promised never to do.

`Dispatcher.run_until()` is the long-running form (a dedicated thread of its own, see
`gateway/jobs/workers.py`): it keeps claiming while rows are due, sends each channel with at
most `ChannelLimits.concurrency` requests at once and no faster than its rate (providers' own
limits: WhatsApp 80 msg/s per number, Telegram 30 msg/s), keeps one recipient's messages in the
order they were queued, and records results a batch per transaction. A commit that queued rows
wakes it at once in this process (`wake_on_commit`); other processes' rows wait at most one poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import event, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.dml import Insert
from sqlmodel import Session, col

from gateway.clock import utcnow
from gateway.outbox.payloads import Payload
from gateway.store.db import Database
from gateway.store.models import Complaint, OutboxItem, OutboxStatus

log = logging.getLogger(__name__)

UNCERTAIN = "uncertain: the dispatcher stopped mid-send and the provider cannot tell us"


@dataclass(frozen=True)
class OutboxMessage:
    """One thing to send; `key` makes it idempotent (the same key is queued once)."""

    kind: str
    key: str
    payload: Payload | None = None  # gateway/outbox/payloads.py; stored as JSON
    channel: str | None = None
    recipient: str | None = None
    complaint_id: int | None = None
    not_before: datetime | None = None


def _enqueue_statement(postgres: bool) -> Insert:
    insert = pg_insert if postgres else sqlite_insert
    return (
        insert(OutboxItem)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(col(OutboxItem.id))
    )


_ENQUEUE = {False: _enqueue_statement(False), True: _enqueue_statement(True)}

# A row's `max_attempts` of 0 means "the deployment's OUTBOX_MAX_ATTEMPTS", read by the
# dispatcher when it decides; kinds that need more patience (the core submission) set their own.
DEPLOYMENT_LIMIT = 0


def enqueue(
    session: Session, message: OutboxMessage, *, max_attempts: int = DEPLOYMENT_LIMIT
) -> bool:
    """Queue a message inside the caller's transaction. False if the key was already queued."""
    now = utcnow()
    values = {
        "kind": message.kind,
        "idempotency_key": message.key,
        "complaint_id": message.complaint_id,
        "channel": message.channel,
        "recipient": message.recipient,
        "payload": message.payload.to_json() if message.payload is not None else {},
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
        "max_attempts": max_attempts,
        "next_attempt_at": message.not_before or now,
        "created_at": now,
        "updated_at": now,
    }
    postgres = session.get_bind().dialect.name == "postgresql"
    # Core execution on the session's connection (same transaction): RETURNING yields no row
    # when the conflict skipped the insert, on both engines. The statement is built once and
    # the values go in as parameters: building it per row (`.values(**values)`) cost a third
    # of a millisecond of CPU each time, two or three times per processed message (issue 12).
    new = session.connection().execute(_ENQUEUE[postgres], values).scalar() is not None
    if new:
        session.info[_QUEUED] = True
    return new


# --- waking the dispatcher when a commit queued something ---------------------------------------

_QUEUED = "outbox_queued"
_wakers: list[Callable[[], None]] = []
_wakers_lock = threading.Lock()


def wake_on_commit(callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback` after every commit in this process that queued an outbox row (so a reply
    goes out at once, not at the next poll); returns the function that stops it."""
    with _wakers_lock:
        _wakers.append(callback)

    def stop() -> None:
        with _wakers_lock:
            if callback in _wakers:
                _wakers.remove(callback)

    return stop


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_QUEUED, False):
        for callback in list(_wakers):
            callback()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_QUEUED, None)


@dataclass(frozen=True)
class Delivered:
    ok: bool
    provider_message_id: str | None = None
    retryable: bool = False
    error: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    retry_after: float | None = None  # the provider said: not before this many seconds


class Handler(Protocol):
    """How one kind of outbox row is delivered. `deliver` does I/O only; the hooks run in the
    transaction that records the result, so their database effects commit with it."""

    async def deliver(self, item: OutboxItem) -> Delivered: ...

    async def reconcile(self, item: OutboxItem) -> Delivered | None: ...

    def on_sent(self, session: Session, item: OutboxItem, result: Delivered) -> None: ...

    def on_dead(self, session: Session, item: OutboxItem, error: str) -> None: ...


class BaseHandler:
    """Defaults: nothing to reconcile with, nothing to record."""

    async def deliver(self, item: OutboxItem) -> Delivered:  # pragma: no cover - abstract
        raise NotImplementedError

    async def reconcile(self, item: OutboxItem) -> Delivered | None:
        return None

    def on_sent(self, session: Session, item: OutboxItem, result: Delivered) -> None:
        return None

    def on_dead(self, session: Session, item: OutboxItem, error: str) -> None:
        return None


@dataclass(frozen=True)
class Backoff:
    base_seconds: float = 5.0
    max_seconds: float = 3600.0
    jitter: float = 0.2

    def delay(self, attempts: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after the `attempts`-th failed attempt: base·2^(n-1), capped, ±jitter."""
        raw = min(self.max_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        spread = raw * self.jitter
        return raw + (rng or random).uniform(-spread, spread)


@dataclass
class Claimed:
    item: OutboxItem
    recovering: bool  # its previous lease expired mid-flight


class SendThrottle:
    """At most `rate` sends a second, evenly spaced (providers count per second, so a burst
    of a whole second's worth at once is what gets a 429). One per channel, in one loop."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / rate
        self._clock = clock
        self._next = float("-inf")

    async def acquire(self) -> None:
        now = self._clock()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


class RecipientBuckets:
    """Per recipient of one channel: a short burst of `burst` messages, then `rate` a second
    (Telegram: about one message a second to one chat; WhatsApp Cloud's pair rate: one every
    6 s). A token bucket whose debt is the wait: reservations made one after another by one
    recipient's line come out spaced, and recipients never wait for one another."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.burst = rate, float(max(1, burst))
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # recipient: (tokens, at)

    async def acquire(self, recipient: str) -> None:
        now = self._clock()
        tokens, at = self._buckets.get(recipient, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate) - 1.0
        self._buckets[recipient] = (tokens, now)
        if len(self._buckets) > 10_000:
            self._forget_full(now)
        if tokens < 0:
            await asyncio.sleep(-tokens / self.rate)

    def _forget_full(self, now: float) -> None:
        """A full bucket is the same as none: forget those (memory stays bounded)."""
        full = [
            r
            for r, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self.rate >= self.burst
        ]
        for recipient in full:
            del self._buckets[recipient]


@dataclass(frozen=True)
class ChannelLimits:
    """Per channel: requests in flight at once, and sends per second (a channel absent from
    `rates` is not throttled). Each channel sends from one number/bot, so per channel is per
    number. Per recipient: `recipient_rates` per second after a burst of `burst` (a channel
    absent from it is not limited per recipient)."""

    concurrency: int = 16
    rates: Mapping[str, float] = field(default_factory=dict)
    recipient_rates: Mapping[str, float] = field(default_factory=dict)
    burst: int = 3


class _ChannelGate:
    def __init__(self, limits: ChannelLimits) -> None:
        self.limits = limits
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        self._throttles: dict[str, SendThrottle] = {}
        self._recipients: dict[str, RecipientBuckets] = {}

    async def recipient(self, channel: str, recipient: str | None) -> None:
        """Wait for this recipient's turn on the channel (before taking a send slot, so a
        reporter's backlog never holds up the others)."""
        rate = self.limits.recipient_rates.get(channel)
        if not rate or not recipient:
            return
        if channel not in self._recipients:
            self._recipients[channel] = RecipientBuckets(rate, self.limits.burst)
        await self._recipients[channel].acquire(recipient)

    def semaphore(self, channel: str) -> asyncio.Semaphore:
        if channel not in self._semaphores:
            self._semaphores[channel] = asyncio.Semaphore(self.limits.concurrency)
        return self._semaphores[channel]

    async def throttle(self, channel: str) -> None:
        rate = self.limits.rates.get(channel)
        if not rate:
            return
        if channel not in self._throttles:
            self._throttles[channel] = SendThrottle(rate)
        await self._throttles[channel].acquire()


class Dispatcher:
    def __init__(
        self,
        db: Database,
        handlers: Mapping[str, Handler],
        *,
        worker_id: str,
        batch_size: int = 20,
        lease_seconds: int = 120,
        backoff: Backoff | None = None,
        max_attempts: int = 8,
        rng: random.Random | None = None,
        limits: ChannelLimits | None = None,
        max_in_flight: int = 200,
        poll_seconds: float = 2.0,
    ) -> None:
        self.db = db
        self.max_attempts = max_attempts
        self.handlers = handlers
        self.worker_id = worker_id
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease_seconds)
        self.backoff = backoff or Backoff()
        self.rng = rng or random.Random()
        self.limits = limits or ChannelLimits()
        self.max_in_flight = max_in_flight
        self.poll_seconds = poll_seconds
        self.last_cycle: float | None = None  # monotonic time of the last claim (health)
        self._gate: _ChannelGate | None = None

    # --- claiming ---------------------------------------------------------------------------

    def claim(self, now: datetime | None = None, limit: int | None = None) -> list[Claimed]:
        now = now or utcnow()
        limit = limit or self.batch_size
        due = (
            (col(OutboxItem.status) == OutboxStatus.PENDING)
            & (col(OutboxItem.next_attempt_at) <= now)
        ) | (
            (col(OutboxItem.status) == OutboxStatus.IN_FLIGHT)
            & (col(OutboxItem.claimed_until) < now)
        )
        query = (
            select(col(OutboxItem.id), col(OutboxItem.status))
            .where(due)
            .order_by(col(OutboxItem.id))
        )
        query = query.limit(limit)
        with self.db.session() as session:
            if self.db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            rows = session.execute(query).all()
            if not rows:
                session.rollback()
                return []
            ids = [row.id for row in rows]
            recovering = {row.id for row in rows if row.status == OutboxStatus.IN_FLIGHT}
            session.execute(
                update(OutboxItem)
                .where(col(OutboxItem.id).in_(ids))
                .values(
                    status=OutboxStatus.IN_FLIGHT.value,
                    claimed_by=self.worker_id,
                    claimed_until=now + self.lease,
                    attempts=OutboxItem.attempts + 1,
                    updated_at=now,
                )
            )
            session.commit()
            items = session.scalars(
                select(OutboxItem).where(col(OutboxItem.id).in_(ids)).order_by(col(OutboxItem.id))
            ).all()
        return [Claimed(item, item.id in recovering) for item in items]

    # --- delivering ---------------------------------------------------------------------------

    async def run_once(self, now: datetime | None = None) -> int:
        """Claim one batch and deliver it; returns how many rows were handled."""
        claimed = await asyncio.to_thread(self.claim, now)
        # One recipient's messages go out one after another in the order they were queued (a
        # reporter must not read "answered" before "in progress"); recipients in parallel.
        lines: dict[tuple[str, str], list[Claimed]] = {}
        for c in claimed:
            item = c.item
            line = (item.channel or "", item.recipient) if item.recipient else ("", str(item.id))
            lines.setdefault(line, []).append(c)
        if lines:
            await asyncio.gather(*(self._deliver_in_order(line) for line in lines.values()))
        return len(claimed)

    async def _deliver_in_order(self, line: list[Claimed]) -> None:
        for claimed in line:
            await self._deliver_one(claimed)

    async def drain(self, now: datetime | None = None, max_batches: int = 100) -> int:
        """Deliver until nothing is due (tests, CLI)."""
        total = 0
        for _ in range(max_batches):
            handled = await self.run_once(now)
            total += handled
            if not handled:
                break
        return total

    async def _deliver_one(self, claimed: Claimed) -> None:
        handler, result = await self._attempt(claimed)
        await asyncio.to_thread(self._record, claimed.item, handler, result)

    async def _attempt(self, claimed: Claimed) -> tuple[Handler | None, Delivered]:
        """Talk to the provider (within the channel's concurrency and rate); no database."""
        item = claimed.item
        handler = self.handlers.get(item.kind)
        if handler is None:
            return None, Delivered(ok=False, error=f"no handler for outbox kind {item.kind!r}")
        if self._gate is None:
            self._gate = _ChannelGate(self.limits)
        channel = item.channel or item.kind
        await self._gate.recipient(channel, item.recipient)
        async with self._gate.semaphore(channel):
            await self._gate.throttle(channel)
            if claimed.recovering:
                return handler, await self._reconcile(handler, item)
            return handler, await self._safe_deliver(handler, item)

    # --- the long-running form ------------------------------------------------------------------

    async def run_until(self, stopped: threading.Event) -> None:
        """Deliver while rows are due, until `stopped` is set; rows already claimed are sent
        and recorded before it returns. A row is claimed only when there is room for it
        (`max_in_flight`), so none waits here long enough for its lease to expire."""
        loop = asyncio.get_running_loop()
        self._gate = _ChannelGate(self.limits)
        wake = asyncio.Event()

        def wake_threadsafe() -> None:
            loop.call_soon_threadsafe(wake.set)

        stop_waking = wake_on_commit(wake_threadsafe)
        lines: dict[tuple[str, str], deque[Claimed]] = {}
        tasks: set[asyncio.Task[None]] = set()
        results: asyncio.Queue[tuple[Claimed, Handler | None, Delivered] | None] = asyncio.Queue()
        in_flight = 0
        recorder = asyncio.create_task(self._record_batches(results))

        async def serve_line(key: tuple[str, str]) -> None:
            nonlocal in_flight
            line = lines[key]
            while line:
                claimed = line[0]
                handler, result = await self._attempt(claimed)
                await results.put((claimed, handler, result))
                line.popleft()
                in_flight -= 1
                wake.set()  # room for more
            del lines[key]

        try:
            while not stopped.is_set():
                room = self.max_in_flight - in_flight
                claimed = []
                if room > 0:
                    claimed = await asyncio.to_thread(self.claim, None, min(room, self.batch_size))
                    self.last_cycle = time.monotonic()
                for c in claimed:
                    item = c.item
                    key = (item.channel or "", item.recipient or f"#{item.id}")
                    in_flight += 1
                    if key in lines:
                        lines[key].append(c)  # its line is running: it goes after the others
                    else:
                        lines[key] = deque([c])
                        task = asyncio.create_task(serve_line(key))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                if claimed and len(claimed) == min(room, self.batch_size):
                    continue  # probably more due: claim again at once
                wake.clear()
                # Nothing due (or no room): wait for a commit that queued rows, a send that
                # made room, or the poll (other processes' rows, retries coming due).
                # `stopped` is a thread's event: looked at every quarter of a second.
                deadline = time.monotonic() + self.poll_seconds
                while not stopped.is_set() and not wake.is_set():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), timeout=min(left, 0.25))
        finally:
            stop_waking()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            await results.put(None)
            await recorder

    async def _record_batches(
        self, results: asyncio.Queue[tuple[Claimed, Handler | None, Delivered] | None]
    ) -> None:
        """Record results as they come, every waiting one in one transaction (a send a row
        costs one short write, not one transaction each)."""
        done = False
        while not done:
            batch = [await results.get()]
            while not results.empty() and len(batch) < 200:
                batch.append(results.get_nowait())
            if batch[-1] is None:
                done = True
            entries = [entry for entry in batch if entry is not None]
            if entries:
                try:
                    await asyncio.to_thread(self._record_many, entries)
                except Exception:
                    log.exception("outbox results not recorded; the leases will expire")

    async def _reconcile(self, handler: Handler, item: OutboxItem) -> Delivered:
        try:
            found = await handler.reconcile(item)
        except Exception as exc:  # a reconcile lookup that fails is itself retryable
            log.warning("outbox reconcile failed", extra={"outbox_id": item.id, "kind": item.kind})
            return Delivered(ok=False, retryable=True, error=f"reconcile failed: {exc}")
        if found is not None:
            return found
        return Delivered(ok=False, retryable=False, error=UNCERTAIN)

    async def _safe_deliver(self, handler: Handler, item: OutboxItem) -> Delivered:
        try:
            return await handler.deliver(item)
        except Exception as exc:  # a handler bug must not kill the dispatcher
            log.exception("outbox handler raised", extra={"outbox_id": item.id, "kind": item.kind})
            return Delivered(ok=False, retryable=True, error=f"{type(exc).__name__}: {exc}")

    def _record(self, item: OutboxItem, handler: Handler | None, result: Delivered) -> None:
        # The hooks write on the complaint; several deliveries of one complaint finish at once
        # (a disposition notifies every liaison officer), so a lost optimistic-locking race is
        # retried from a fresh read rather than lost.
        for attempt in range(5):
            try:
                self._record_once(item, handler, result)
                return
            except StaleDataError:
                if attempt == 4:
                    raise

    def _record_many(self, entries: list[tuple[Claimed, Handler | None, Delivered]]) -> None:
        """Several results in one transaction; if one of them loses a race on its complaint,
        each is recorded again on its own (with `_record`'s retries)."""
        if len(entries) == 1:
            claimed, handler, result = entries[0]
            self._record(claimed.item, handler, result)
            return
        # Complaints locked in one order, so two dispatchers' batches cannot deadlock.
        entries = sorted(entries, key=lambda e: (e[0].item.complaint_id or 0, e[0].item.id or 0))
        try:
            with self.db.session() as session:
                for claimed, handler, result in entries:
                    self._apply_result(session, claimed.item, handler, result)
                session.commit()
        except (StaleDataError, DBAPIError):
            # A lost race on a complaint (or a deadlock between two dispatchers locking
            # complaints in another order): one at a time, each with its own retries.
            for claimed, handler, result in entries:
                self._record(claimed.item, handler, result)

    def _record_once(self, item: OutboxItem, handler: Handler | None, result: Delivered) -> None:
        with self.db.session() as session:
            self._apply_result(session, item, handler, result)
            session.commit()

    def _apply_result(
        self, session: Session, item: OutboxItem, handler: Handler | None, result: Delivered
    ) -> None:
        now = utcnow()
        row = session.get(OutboxItem, item.id, with_for_update=self.db.is_postgres)
        if row is None or row.claimed_by != self.worker_id or row.status != OutboxStatus.IN_FLIGHT:
            # Our lease expired and someone else took over; they reconcile it.
            log.warning("outbox lease lost", extra={"outbox_id": item.id})
            return
        if row.complaint_id is not None and self.db.is_postgres:
            # Hooks write on the complaint: queue behind other deliveries of it.
            session.get(Complaint, row.complaint_id, with_for_update=True)
        row.updated_at = now
        row.claimed_by = None
        row.claimed_until = None
        if result.ok:
            row.status = OutboxStatus.SENT
            row.sent_at = now
            row.last_error = None
            row.provider_message_id = result.provider_message_id
            if handler is not None:
                handler.on_sent(session, row, result)
        elif result.retryable and row.attempts < (row.max_attempts or self.max_attempts):
            row.status = OutboxStatus.PENDING
            row.last_error = result.error
            # Our backoff, or longer when the provider asked for longer (Retry-After).
            delay = max(self.backoff.delay(row.attempts, self.rng), result.retry_after or 0)
            row.next_attempt_at = now + timedelta(seconds=delay)
        else:
            row.status = OutboxStatus.DEAD
            row.last_error = result.error or "failed"
            if handler is not None:
                handler.on_dead(session, row, row.last_error)
        session.add(row)
        session.flush()
        log.info(
            "outbox delivery",
            extra={
                "outbox_id": item.id,
                "kind": item.kind,
                "ok": result.ok,
                "retryable": result.retryable,
            },
        )


def requeue_dead(session: Session, item_id: int) -> bool:
    """An admin sends a dead letter again (e.g. after fixing a number)."""
    row = session.get(OutboxItem, item_id)
    if row is None or row.status != OutboxStatus.DEAD:
        return False
    row.status = OutboxStatus.PENDING
    row.attempts = 0
    row.next_attempt_at = utcnow()
    row.updated_at = utcnow()
    session.add(row)
    return True


def dead_letters(session: Session, limit: int = 100) -> list[OutboxItem]:
    query = (
        select(OutboxItem)
        .where(col(OutboxItem.status) == OutboxStatus.DEAD)
        .order_by(col(OutboxItem.updated_at).desc())
        .limit(limit)
    )
    return list(session.scalars(query).all())


def pending_for(session: Session, complaint_ids: Iterable[int]) -> list[OutboxItem]:
    query = select(OutboxItem).where(col(OutboxItem.complaint_id).in_(list(complaint_ids)))
    return list(session.scalars(query.order_by(col(OutboxItem.id))).all())
