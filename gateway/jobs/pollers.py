"""The one way the gateway runs a polled source (X mentions and DMs, YouTube comments, the
mailbox): `PollerRunner` asks the channel's `Poller.fetch(cursor)` and stores what it brought.

- One instance only: the scheduler starts the runners on the leader (`gateway/jobs/leader.py`)
  and stops them when it stops leading. As a second guard, the store step locks the source's
  row and refuses to move a cursor that changed since it was read (another instance polled
  in between, during a change of leader): that poll's messages are simply not stored, and the
  next poll, from the newer cursor, finds them again.
- Never skips: the cursor is written in the same transaction as the inbound rows it produced,
  so a crash before the commit re-fetches from the old cursor; the intake is idempotent on
  (channel, external_id), so what is fetched twice is stored once.
- Never loops on one item: what the poller could not read (`PollResult.unreadable`), and a
  message whose values the database refuses (each insert has its own savepoint), are kept raw
  with the reason (status `unreadable`, /admin/unreadable) in that same transaction, and the
  cursor moves past them.
- Rate limits and quotas: a `PollError` backs the source off (the provider's Retry-After, or
  twice the wait after each failure, up to POLLER_BACKOFF_MAX_SECONDS); a source with a daily
  budget (X reads, YouTube units) is left alone for the rest of the provider's day once it is
  spent.
- Health: last poll, last success, last error, counts and budget per source, in `poller_state`;
  read for the health page, `/healthz` and the alarms by `gateway/admin/health.py`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col

from channels import base
from channels.base import BUDGET_SPENT
from gateway.clock import utcnow
from gateway.intake import inbound as intake
from gateway.store.db import Database, is_unavailable
from gateway.store.models import InboundMessage, InboundStatus, PollerState

if TYPE_CHECKING:
    from gateway.context import Gateway

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What one turn of a runner did, and how long until the next."""

    polled: bool
    stored: list[int]  # new inbound ids (to process)
    wait_seconds: float
    error: str | None = None


class CursorMoved(RuntimeError):
    """Another instance stored a newer cursor for this source since this poll read it."""


def _state(session: Session, poller: base.Poller, *, lock: bool = False) -> PollerState:
    query = select(PollerState).where(col(PollerState.source) == poller.name)
    if lock:
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        row = PollerState(source=poller.name, channel=poller.channel)
        session.add(row)
        session.flush()
    return row


def ensure_state(db: Database, poller: base.Poller) -> PollerState:
    """The source's row (created on first sight, so the health page lists it at once)."""
    insert = pg_insert if db.is_postgres else sqlite_insert
    with db.session() as session:
        session.execute(
            insert(PollerState)
            .values(
                source=poller.name,
                channel=poller.channel,
                consecutive_errors=0,
                polls=0,
                messages=0,
                unreadable=0,
                errors=0,
                budget_used=0,
                updated_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["source"])
        )
        session.commit()
        row = session.get(PollerState, poller.name)
        assert row is not None
        return row


def _insert_inbound(session: Session, db: Database, values: dict[str, object]) -> int | None:
    """One inbound row, or nothing when the provider's id is already stored (idempotent)."""
    insert = pg_insert if db.is_postgres else sqlite_insert
    stmt = (
        insert(InboundMessage)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(col(InboundMessage.id))
    )
    return session.connection().execute(stmt).scalar()


def _unreadable_values(poller: base.Poller, item: base.Unreadable) -> dict[str, object]:
    # Like a signed webhook the parser cannot read: kept raw with the reason, once (the same
    # record fetched again has the same digest), shown on /admin/unreadable.
    digest = hashlib.sha256(f"{poller.name}\n{item.raw}".encode()).hexdigest()
    message = base.InboundMessage(
        channel=poller.channel,
        external_id=f"unreadable:{digest}",
        sender="",
        received_at=utcnow(),
        extra={"source": poller.name},
    )
    values = intake._row_values(message, item.raw, _raw_type(poller))
    values["status"] = InboundStatus.UNREADABLE.value
    values["last_error"] = item.reason[:2000]
    return values


def _refused(message: base.InboundMessage, raw: str, exc: DBAPIError) -> base.Unreadable:
    state = getattr(exc.orig, "sqlstate", None) or type(exc.orig).__name__
    log.warning("polled item refused by the database", extra={"sqlstate": state})
    record = raw or json.dumps(
        {"external_id": message.external_id, "sender": message.sender, "text": message.text}
    )
    return base.Unreadable(record, f"refused by the database (SQLSTATE {state})")


def _raw_type(poller: base.Poller) -> str:
    # What the provider's own record is: the mail as it came (cut to a size), or the API's JSON.
    return "message/rfc822" if poller.channel == "email" else "application/json"


def store_poll(
    db: Database, poller: base.Poller, fetched_from: str | None, result: base.PollResult
) -> list[int]:
    """The messages of one poll and the cursor after them, in one transaction. Returns the new
    inbound ids. Raises `CursorMoved` (nothing stored) if the cursor is no longer the one the
    poll started from."""
    now = utcnow()
    with db.session() as session:
        state = _state(session, poller, lock=True)
        if state.cursor != fetched_from:
            session.rollback()
            raise CursorMoved(poller.name)
        new_ids: list[int] = []
        refused: list[base.Unreadable] = []
        for message in result.messages:
            raw = result.raw.get(message.external_id, "")
            values = intake._row_values(message, raw, _raw_type(poller))
            try:
                with session.begin_nested():
                    new_id = _insert_inbound(session, db, values)
            except DBAPIError as exc:
                if is_unavailable(exc):
                    raise
                # The database refuses this one item (a value no column holds): kept raw like
                # an unreadable item, so the cursor still moves on; never a loop on it.
                refused.append(_refused(message, raw, exc))
                continue
            if new_id is not None:
                new_ids.append(new_id)
        kept = 0
        for item in (*result.unreadable, *refused):
            kept += _insert_inbound(session, db, _unreadable_values(poller, item)) is not None
        if result.cursor is not None:
            state.cursor = result.cursor
        _spend(state, poller, now, result.cost)
        state.polls += 1
        state.messages += len(new_ids)
        state.unreadable += kept
        state.last_poll_at = state.last_success_at = now
        state.consecutive_errors = 0
        state.next_poll_at = None
        state.updated_at = now
        session.add(state)
        session.commit()
    return new_ids


def _spend(state: PollerState, poller: base.Poller, now: datetime, cost: int) -> None:
    day = poller.budget_day(now)
    if state.budget_day != day:
        state.budget_day, state.budget_used = day, 0
    state.budget_used += max(cost, 0)


def budget_left(state: PollerState, poller: base.Poller, now: datetime) -> int | None:
    """What the source may still spend today (None: no budget)."""
    return poller.budget_left(state.budget_day, state.budget_used, now)


def _next_budget_day(poller: base.Poller, now: datetime) -> datetime:
    """The first moment of the provider's next accounting day, found by stepping forward (the
    day may be in the provider's zone, which `budget_day` knows and we do not)."""
    today = poller.budget_day(now)
    probe = datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)
    for _ in range(4 * 48):
        probe += timedelta(minutes=30)
        if probe > now and poller.budget_day(probe) != today:
            return probe
    return now + timedelta(days=1)


def record_failure(
    db: Database,
    poller: base.Poller,
    error: str,
    *,
    retry_after: float | None,
    retryable: bool,
    cost: int,
    max_backoff: float,
) -> float:
    """Note a failed poll; returns how long the source now waits."""
    now = utcnow()
    with db.session() as session:
        state = _state(session, poller, lock=True)
        state.consecutive_errors += 1
        state.errors += 1
        state.polls += 1
        _spend(state, poller, now, cost)
        doubling = poller.interval_seconds * 2 ** min(state.consecutive_errors, 20)
        # Credentials or a request the provider refuses do not heal by themselves: wait the
        # longest, an admin has to act (the health page says why).
        wait = min(doubling, max_backoff) if retryable else max_backoff
        if retry_after is not None:
            wait = max(wait, retry_after)
        state.last_poll_at = state.last_error_at = now
        state.last_error = error[:2000]
        state.next_poll_at = now + timedelta(seconds=wait)
        state.updated_at = now
        session.add(state)
        session.commit()
    return wait


class PollerRunner:
    """Runs one poller: a turn (`run_once`) fetches, stores and hands the new messages to the
    intake; `run` repeats turns until stopped."""

    def __init__(self, gateway: Gateway, poller: base.Poller) -> None:
        self.gateway = gateway
        self.poller = poller

    @property
    def db(self) -> Database:
        return self.gateway.db

    async def run_once(self, now: datetime | None = None) -> Outcome:
        poller = self.poller
        backoff_max = self.gateway.settings.poller_backoff_max_seconds
        now = now or utcnow()
        state = await asyncio.to_thread(ensure_state, self.db, poller)
        if state.next_poll_at is not None and state.next_poll_at > now:
            return Outcome(False, [], (state.next_poll_at - now).total_seconds())
        left = budget_left(state, poller, now)
        if left is not None and left <= 0:
            wait = (_next_budget_day(poller, now) - now).total_seconds()
            await asyncio.to_thread(self._budget_spent, wait)
            return Outcome(False, [], wait, BUDGET_SPENT)
        cursor = state.cursor
        try:
            result = await poller.fetch(cursor)
        except base.PollError as exc:
            return await self._failed(
                f"{exc}",
                exc.retry_after,
                exc.retryable,
                exc.cost,
                backoff_max,
            )
        except Exception as exc:  # a bug or an SDK surprise: the source backs off, others go on
            log.exception("poller failed unexpectedly", extra={"source": poller.name})
            return await self._failed(f"{type(exc).__name__}: {exc}", None, True, 0, backoff_max)
        try:
            new_ids = await asyncio.to_thread(store_poll, self.db, poller, cursor, result)
        except CursorMoved:
            log.warning("poll discarded: the cursor moved meanwhile", extra={"source": poller.name})
            return Outcome(True, [], 0.0, "cursor moved")
        if new_ids or result.unreadable:
            log.info(
                "polled",
                extra={
                    "source": poller.name,
                    "new": len(new_ids),
                    "unreadable": len(result.unreadable),
                },
            )
        for inbound_id in new_ids:
            await asyncio.to_thread(intake.process, self.gateway, inbound_id)
        return Outcome(True, new_ids, 0.0 if result.more else poller.interval_seconds)

    async def _failed(
        self, error: str, retry_after: float | None, retryable: bool, cost: int, max_backoff: float
    ) -> Outcome:
        log.warning(
            "poll failed",
            extra={"source": self.poller.name, "retryable": retryable, "error": error[:200]},
        )
        wait = await asyncio.to_thread(
            record_failure,
            self.db,
            self.poller,
            error,
            retry_after=retry_after,
            retryable=retryable,
            cost=cost,
            max_backoff=max_backoff,
        )
        return Outcome(True, [], wait, error)

    def _budget_spent(self, wait: float) -> None:
        now = utcnow()
        with self.db.session() as session:
            state = _state(session, self.poller, lock=True)
            state.last_error, state.last_error_at = BUDGET_SPENT, now
            state.next_poll_at = now + timedelta(seconds=wait)
            state.updated_at = now
            session.add(state)
            session.commit()

    async def run(self, stop: asyncio.Event) -> None:
        """Turns until `stop` is set (the scheduler stops leading, or shuts down)."""
        try:
            await self._turns(stop)
        finally:
            try:
                await self.poller.aclose()
            except Exception:  # closing a broken connection: nothing more to do
                log.debug("poller close failed", extra={"source": self.poller.name})

    async def _turns(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                outcome = await self.run_once()
                wait = outcome.wait_seconds
            except Exception:  # the database is away: try again later, never die
                log.exception("poller turn failed", extra={"source": self.poller.name})
                wait = min(self.poller.interval_seconds, 60.0)
            if wait <= 0:
                continue
            waiter = asyncio.create_task(self.poller.wait_for_news(wait))
            stopper = asyncio.create_task(stop.wait())
            try:
                await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            except Exception:
                log.exception("poller wait failed", extra={"source": self.poller.name})
            finally:
                for task in (waiter, stopper):
                    task.cancel()
                await asyncio.gather(waiter, stopper, return_exceptions=True)
