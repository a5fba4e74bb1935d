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

import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, create_engine, event, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
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


# The exceptions the app's error handlers look at; `is_unavailable` says which kind it is.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (OperationalError, DBAPIError)

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


def _json_serializer(value: Any) -> str:
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
    kwargs.setdefault("json_serializer", _json_serializer)
    # An error's text (logged with its traceback) must not carry the statement's values: they
    # are reporters' words and numbers (issue 13 §12).
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = _sqlite_engine(url, **kwargs)
    else:
        kwargs.setdefault("pool_pre_ping", True)
        kwargs.setdefault("connect_args", {"connect_timeout": 5})
        engine = create_engine(url, **kwargs)
    event.listen(engine, "before_cursor_execute", _clean_parameters, retval=True)
    return engine


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (see below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction that reads and then writes fails at once with SQLITE_BUSY when
        # another writer got there first; taking the write lock up front makes writers queue
        # (busy_timeout) instead. Read-only sessions keep the cheap deferred BEGIN.
        if conn.get_execution_options().get("sqlite_readonly"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Database:
    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._read_engine = (
            self.engine.execution_options(sqlite_readonly=True) if self.is_sqlite else self.engine
        )

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


def row_ids(ids: Iterable[int | None]) -> list[int]:
    """Primary keys read from the database: SQLModel types them `int | None` (unset before an
    INSERT), but a stored row always has one."""
    return [i for i in ids if i is not None]
