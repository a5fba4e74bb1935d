"""The outbox: a durable queue of everything that leaves the gateway.

Rows are written in the same transaction as the state change that caused them (`enqueue`), so a
crash can lose neither. Dispatchers claim due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL; on
SQLite the write lock serialises claims), deliver them outside any transaction, then record the
result: sent, retry later with exponential backoff, or dead letter for an admin to see.

A row whose lease expired while in flight (the dispatcher died mid-send) may or may not have
reached the provider. It is never sent blindly again: its handler is asked to reconcile (e.g. ask
Twilio whether the message exists); when nobody can tell, it becomes a dead letter that says so,
because a reply sent twice is the one thing we promised never to do.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.exc import StaleDataError
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
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(OutboxItem)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(col(OutboxItem.id))
    )
    # Core execution on the session's connection (same transaction): RETURNING yields no row
    # when the conflict skipped the insert, on both engines.
    return session.connection().execute(stmt).scalar() is not None


@dataclass(frozen=True)
class Delivered:
    ok: bool
    provider_message_id: str | None = None
    retryable: bool = False
    error: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


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
    ) -> None:
        self.db = db
        self.max_attempts = max_attempts
        self.handlers = handlers
        self.worker_id = worker_id
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease_seconds)
        self.backoff = backoff or Backoff()
        self.rng = rng or random.Random()

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
        item = claimed.item
        handler = self.handlers.get(item.kind)
        if handler is None:
            result = Delivered(ok=False, error=f"no handler for outbox kind {item.kind!r}")
        elif claimed.recovering:
            result = await self._reconcile(handler, item)
        else:
            result = await self._safe_deliver(handler, item)
        await asyncio.to_thread(self._record, item, handler, result)

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

    def _record_once(self, item: OutboxItem, handler: Handler | None, result: Delivered) -> None:
        now = utcnow()
        with self.db.session() as session:
            row = session.get(OutboxItem, item.id, with_for_update=self.db.is_postgres)
            if (
                row is None
                or row.claimed_by != self.worker_id
                or row.status != OutboxStatus.IN_FLIGHT
            ):
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
                row.next_attempt_at = now + timedelta(
                    seconds=self.backoff.delay(row.attempts, self.rng)
                )
            else:
                row.status = OutboxStatus.DEAD
                row.last_error = result.error or "failed"
                if handler is not None:
                    handler.on_dead(session, row, row.last_error)
            session.add(row)
            session.commit()
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
