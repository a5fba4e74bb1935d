"""One leader for the sweeps when several gateway instances share PostgreSQL.

Every instance dispatches the outbox (claims are safe), but the SLA sweeps and the digest run on
one instance only: the one holding a PostgreSQL session-level advisory lock. The lock lives as
long as the leader's own database connection (outside the pool, so closing it really ends the
session and frees the lock): if the leader dies or loses its connection, PostgreSQL releases the
lock and another instance takes over on its next try. On SQLite there is one instance by
construction (one file, one process), which is always the leader.

The sweeps are idempotent anyway (outbox keys), so a short overlap while leadership changes
hands sends nothing twice; the lock only keeps the work from being done N times.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Connection, text
from sqlalchemy.pool import NullPool

from gateway.store.db import Database, make_engine

log = logging.getLogger(__name__)

# pg_advisory_lock takes a bigint; this one reads "LAPORSLA" in ASCII.
SWEEP_LOCK_ID = 0x4C41504F52534C41
# Advisory locks are per database, not per schema: mixed with the schema's name, the key lets
# two gateways kept in one database under different schemas (and parallel test sessions) each
# elect their own leader instead of one of them never leading.
_KEY = "(CAST(:id AS bigint) # CAST(hashtext(current_schema()) AS bigint))"


class Leadership:
    """Try to become (or stay) the sweeps' leader; `try_lead()` is cheap to call often."""

    def __init__(self, db: Database, lock_id: int = SWEEP_LOCK_ID) -> None:
        self.db = db
        self.lock_id = lock_id
        self._engine = None if db.is_sqlite else make_engine(db.url, poolclass=NullPool)
        self._connection: Connection | None = None
        # try_lead runs in a worker thread, close in the event loop's: an election still in
        # flight when the scheduler shuts down must not take the lock after close() and keep
        # it on a connection nobody will ever release (no instance could lead until the GC).
        self._guard = threading.Lock()
        self._closed = False

    @property
    def is_leader(self) -> bool:
        return self.db.is_sqlite or self._connection is not None

    def try_lead(self) -> bool:
        """True while this instance leads: keeps the lock it has, or tries to take it."""
        if self._engine is None:
            return True
        with self._guard:
            if self._closed:
                return False
            return self._try_lead()

    def _try_lead(self) -> bool:
        assert self._engine is not None
        if self._connection is not None:
            if self._alive(self._connection):
                return True
            log.warning("sweep leadership lost: the lock's connection is gone")
            self._drop()
        connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            taken = connection.execute(
                text(f"SELECT pg_try_advisory_lock({_KEY})"), {"id": self.lock_id}
            ).scalar()
        except Exception:
            connection.close()
            raise
        if taken:
            self._connection = connection
            log.info("sweep leadership taken")
            return True
        connection.close()
        return False

    def release(self) -> None:
        """Give the lock back (shutdown): another instance can lead at once."""
        with self._guard:
            self._release()

    def _release(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.execute(
                text(f"SELECT pg_advisory_unlock({_KEY})"), {"id": self.lock_id}
            )
        except Exception:  # the connection is gone: the lock went with it
            log.warning("sweep leadership: unlock failed, closing the connection")
        self._drop()

    def close(self) -> None:
        with self._guard:
            self._closed = True
            self._release()
        if self._engine is not None:
            self._engine.dispose()

    def _alive(self, connection: Connection) -> bool:
        try:
            connection.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # already broken
                log.debug("closing a broken leader connection failed")
