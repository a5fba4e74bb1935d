"""Database engines and sessions: SQLite (WAL) as the embedded default, PostgreSQL for real
deployments. Everything else talks to the database through `Database.session()`.

Two things every engine does at this boundary (issue 13):

- Text a database cannot store is cleaned on the way in, whatever route it came by: U+0000
  (PostgreSQL refuses it in text and in JSON; nobody typed it) is removed and a lone surrogate
  (no UTF-8 encoder takes one) becomes U+FFFD — in bound parameters and in JSON values alike,
  on both engines so that SQLite behaves as PostgreSQL does. The channels and the form already
  clean their fields; this is the net under every other path (admin notes, imports, raw bodies).
- `is_unavailable(exc)` tells an outage (no connection, server shutting down, lock or timeout:
  try again later, 503) from a data error (a value the database refuses: the request's fault,
  4xx). Before, every `DBAPIError` was "database unavailable" and a citizen was told to retry
  what could never succeed.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import threading
import weakref
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, create_engine, event, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session

from gateway.clock import as_utc

JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, returns aware UTC datetimes on every engine (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return as_utc(value) if value is not None else None


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached; the API answers 503."""


# Connections of the ack path (`Database.ack_engine`): an ack holds one for one INSERT, a
# millisecond or so, so a few serve hundreds of webhooks a second.
ACK_CONNECTIONS = 8

# The exceptions the app's error handlers look at; `is_unavailable` says which kind it is. A
# pool that had no connection free in time (the ack engine waits ACK_TIMEOUT_SECONDS) is the
# database being unavailable to this request too: 503, the provider retries.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (OperationalError, DBAPIError, PoolTimeout)

# PostgreSQL SQLSTATEs that mean "not now" rather than "not this": connection exceptions (08),
# insufficient resources (53: too many connections, disk full), operator intervention (57: admin
# or crash shutdown, cannot connect now, statement timeout), and the transient transaction
# failures (40001 serialization, 40P01 deadlock, 55P03 lock not available).
_TRANSIENT_CLASSES = ("08", "53", "57")
_TRANSIENT_STATES = frozenset({"40001", "40P01", "55P03", "58000", "58030"})


def is_unavailable(exc: BaseException) -> bool:
    """True when `exc` means the database cannot serve us now (503 and try again), False when
    it refused what we sent it (a data error: answering 503 would make the client retry the
    same refusal for ever)."""
    if isinstance(exc, PoolTimeout):
        return True  # no connection free in time: busy, not refused
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, InterfaceError):
        return True
    state = getattr(exc.orig, "sqlstate", None)
    if state:  # PostgreSQL told us why
        return state.startswith(_TRANSIENT_CLASSES) or state in _TRANSIENT_STATES
    # No SQLSTATE: psycopg never reached a server (connection refused, DNS, timeout), or
    # SQLite (locked, disk I/O, cannot open). Both are outages; SQLite's data errors (a type it
    # cannot bind) arrive as InterfaceError/ProgrammingError, which are not OperationalError.
    return isinstance(exc, OperationalError)


_SURROGATES = re.compile("[\ud800-\udfff]")


def storable(value: str) -> str:
    """`value` without U+0000 and with lone surrogates replaced: what any engine can store."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    if not value.isascii():
        value = _SURROGATES.sub("\ufffd", value)
    return value


def _storable_json(value: Any) -> Any:
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {
            (storable(k) if isinstance(k, str) else k): _storable_json(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_storable_json(v) for v in value]
    return value


def to_json(value: Any) -> str:
    return json.dumps(_storable_json(value))


def _storable_params(params: Any) -> Any:
    if isinstance(params, dict):
        if any(isinstance(v, str) and not _plain(v) for v in params.values()):
            return {k: storable(v) if isinstance(v, str) else v for k, v in params.items()}
        return params
    if isinstance(params, tuple):
        if any(isinstance(v, str) and not _plain(v) for v in params):
            return tuple(storable(v) if isinstance(v, str) else v for v in params)
        return params
    if isinstance(params, list):  # executemany: one set of parameters per row
        return [_storable_params(p) for p in params]
    return params


def _plain(value: str) -> bool:
    return "\x00" not in value and (value.isascii() or not _SURROGATES.search(value))


def _clean_parameters(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> tuple[str, Any]:
    return statement, _storable_params(parameters)


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("connect_args", {"connect_timeout": 5})
    return _storing_safely(create_engine(url, **_safe_options(kwargs)))


def _safe_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    kwargs.setdefault("json_serializer", to_json)
    # An error's text (logged with its traceback) must not carry the statement's values: they
    # are reporters' words and numbers (issue 13 §12).
    kwargs.setdefault("hide_parameters", True)
    return kwargs


def _storing_safely(engine: Engine) -> Engine:
    """Every engine, the ack path's included: what it binds is cleaned (module docstring)."""
    event.listen(engine, "before_cursor_execute", _clean_parameters, retval=True)
    return engine


def _sqlite_engine(
    url: str, *, lock_timeout: float = 30.0, urgent: bool = False, **kwargs: Any
) -> Engine:
    kwargs = _safe_options(kwargs)
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": lock_timeout}, **kwargs
    )
    busy_ms = int(lock_timeout * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (see below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.close()

    writers = _writer_gate(path)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction that reads and then writes fails at once with SQLITE_BUSY when
        # another writer got there first; taking the write lock up front makes writers queue
        # instead. Read-only sessions keep the cheap deferred BEGIN.
        if conn.get_execution_options().get("sqlite_readonly"):
            conn.exec_driver_sql("BEGIN")
            return
        writers.enter(conn.connection, lock_timeout, urgent=urgent)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            writers.leave(conn.connection)
            raise

    writers.wrap(engine.dialect)
    _engine_gates[engine] = writers
    return _storing_safely(engine)


class _WriterGate:
    """This process's writers of one SQLite file queue here, in Python, before BEGIN IMMEDIATE.

    SQLite's own wait (busy_timeout) polls with growing sleeps (1, 2, 5 ... 100 ms): under a
    flood a waiting writer sleeps through many chances and newcomers overtake it, so acks
    took seconds (issue 12). Here the turn is handed over at once: to the ack that waited
    longest first (`urgent`), else to the background writer that did. busy_timeout still
    covers writers in other processes (the CLI, a second instance).
    """

    # Acks (one INSERT, about a millisecond) go before background writers (processing, the
    # outbox), but a background writer gets a turn at least every this many acks, so a flood
    # delays the backlog without stopping it.
    URGENT_STREAK = 8

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._busy = False
        self._waiters: deque[threading.Lock] = deque()
        self._urgent: deque[threading.Lock] = deque()
        self._streak = 0
        self._holders: set[int] = set()

    def enter(self, connection: Any, timeout: float, *, urgent: bool = False) -> None:
        key = id(_raw(connection))
        with self._mutex:
            if not self._busy:
                self._busy = True
                self._holders.add(key)
                return
            waiter = threading.Lock()
            waiter.acquire()
            (self._urgent if urgent else self._waiters).append(waiter)
        if waiter.acquire(timeout=timeout):  # the previous writer handed the turn over
            with self._mutex:
                self._holders.add(key)
            return
        with self._mutex:
            try:
                (self._urgent if urgent else self._waiters).remove(waiter)
            except ValueError:  # handed over just as the wait ran out: pass it on
                self._hand_over()
        raise OperationalError(
            "BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")
        )

    def leave(self, connection: Any) -> None:
        key = id(_raw(connection))
        with self._mutex:
            if key in self._holders:
                self._holders.discard(key)
                self._hand_over()

    def _hand_over(self) -> None:
        # Still busy after a hand-over: the next writer's turn, the longest-waiting of its kind.
        if self._urgent and (not self._waiters or self._streak < self.URGENT_STREAK):
            self._streak += 1
            self._urgent.popleft().release()
        elif self._waiters:
            self._streak = 0
            self._waiters.popleft().release()
        else:
            self._streak = 0
            self._busy = False

    def wrap(self, dialect: Dialect) -> None:
        """Release the turn once the transaction is really over (after COMMIT, not before)."""
        for name in ("do_commit", "do_rollback", "do_close"):
            original = getattr(dialect, name)

            def ended(connection: Any, _original: Any = original) -> None:
                try:
                    _original(connection)
                finally:
                    self.leave(connection)

            setattr(dialect, name, ended)


def _raw(connection: Any) -> Any:
    return getattr(connection, "dbapi_connection", None) or connection


_gates: dict[str, _WriterGate] = {}
_gates_lock = threading.Lock()
# Each SQLite engine's gate, for the ack path's statements outside SQLAlchemy (`ack_cursor`).
_engine_gates: weakref.WeakKeyDictionary[Engine, _WriterGate] = weakref.WeakKeyDictionary()


def _writer_gate(path: str) -> _WriterGate:
    key = str(Path(path).resolve()) if path and path != ":memory:" else f"memory:{id(object())}"
    with _gates_lock:
        return _gates.setdefault(key, _WriterGate())


class Database:
    def __init__(self, url: str, *, ack_timeout: float = 5.0, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._read_engine = (
            self.engine.execution_options(sqlite_readonly=True) if self.is_sqlite else self.engine
        )
        self.ack_timeout = ack_timeout
        self._ack_engine: Engine | None = None

    @property
    def ack_engine(self) -> Engine:
        """Where a provider's message is stored before it is acknowledged (`intake.accept`):
        a few connections of its own, so an ack never waits for a connection that processing
        or an admin page holds, and never longer than `ack_timeout` for a lock or a connection
        (then 503, and the provider retries; issue 11 §2). No pre-ping: a stale connection
        after a database restart costs one 503, a ping would cost every ack a round trip."""
        if self.is_sqlite and self.url.endswith((":memory:", "://")):
            return self.engine  # (an in-memory database is one per engine)
        if self._ack_engine is None:
            options: dict[str, Any] = {
                "pool_size": ACK_CONNECTIONS,
                "max_overflow": 0,
                "pool_timeout": self.ack_timeout,
            }
            if self.is_sqlite:
                self._ack_engine = _sqlite_engine(
                    self.url,
                    lock_timeout=self.ack_timeout,
                    urgent=True,
                    json_serializer=to_json,
                    hide_parameters=True,
                    **options,
                )
                # The same cleaning as every engine of ours (make_engine): no NUL, no lone
                # surrogate reaches the database, whichever door the text came in by.
                event.listen(
                    self._ack_engine, "before_cursor_execute", _clean_parameters, retval=True
                )
            else:
                self._ack_engine = make_engine(self.url, pool_pre_ping=False, **options)
                lock_ms = int(self.ack_timeout * 1000)

                @event.listens_for(self._ack_engine, "connect")
                def _lock_timeout(dbapi_connection: Any, _record: Any) -> None:
                    with dbapi_connection.cursor() as cursor:
                        cursor.execute(f"SET lock_timeout = {lock_ms}")
                    dbapi_connection.commit()
                    # `ack_cursor`: each statement is its own transaction, one round trip.
                    dbapi_connection.autocommit = True

        return self._ack_engine

    @contextmanager
    def ack_cursor(self) -> Iterator[Any]:
        """A DB-API cursor of the ack path (issue 12), each statement its own transaction:
        an ack is one INSERT, and SQLAlchemy's machinery around a statement (events, compiled
        parameters, BEGIN and COMMIT) cost more CPU than the INSERT itself. On SQLite the
        statement still takes its turn at this process's writer gate. Driver errors come out
        as SQLAlchemy's (`UNAVAILABLE_ERRORS`, `IntegrityError`), a dead connection is dropped
        from the pool, and what is bound is cleaned as on every engine of ours."""
        engine = self.ack_engine
        gate = _engine_gates.get(engine)
        connection, cursor = None, None
        try:
            connection = engine.raw_connection()
            if gate is not None:
                gate.enter(connection, self.ack_timeout, urgent=True)
            try:
                cursor = connection.cursor()
                yield _CleanCursor(cursor)
            finally:
                if gate is not None:
                    gate.leave(connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            invalidated = connection is not None and engine.dialect.is_disconnect(
                exc, connection.dbapi_connection, cursor
            )
            if invalidated and connection is not None:
                connection.invalidate(exc)
            raise DBAPIError.instance(
                None,
                None,
                exc,
                engine.dialect.loaded_dbapi.Error,
                hide_parameters=True,
                connection_invalidated=invalidated,
                dialect=engine.dialect,
            ) from exc
        finally:
            if cursor is not None:
                with contextlib.suppress(Exception):
                    cursor.close()
            if connection is not None:
                connection.close()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read-write session; the caller commits. Rolled back on error."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        with Session(self._read_engine, expire_on_commit=False) as session:
            yield session

    def ping(self) -> bool:
        try:
            with self._read_engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except UNAVAILABLE_ERRORS:
            return False

    def dispose(self) -> None:
        self.engine.dispose()
        if self._ack_engine is not None:
            self._ack_engine.dispose()


class _CleanCursor:
    """A DB-API cursor whose parameters are cleaned (`storable`) like every engine's."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, statement: str, parameters: Any = ()) -> Any:
        """Runs it and returns the driver's cursor, to fetch from."""
        self._cursor.execute(statement, _storable_params(parameters))
        return self._cursor


def row_ids(ids: Iterable[int | None]) -> list[int]:
    """Primary keys read from the database: SQLModel types them `int | None` (unset before an
    INSERT), but a stored row always has one."""
    return [i for i in ids if i is not None]
