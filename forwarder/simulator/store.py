"""The simulated core's own database: one SQLite file, stdlib `sqlite3`, nothing shared.

Reports (one per idempotency key), their events (a monotonic integer `seq` is the cursor; an
event caused by the gateway's follow-up carries that follow-up's idempotency key, unique, as
`origin_key`), reporter feedback, and the push queue (one row per event still to be
delivered). Every write that belongs together happens in one transaction, so an event and its
push row appear together or not at all.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from forwarder.simulator.lifecycle import SimStatus

# LAPOR! tracking ids are plain numbers; starting high makes them look like real ones.
CORE_ID_BASE = 5_000_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reports (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    core_id TEXT NOT NULL UNIQUE,
    idempotency_key TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    agency_code TEXT,
    created_at TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    core_id TEXT NOT NULL REFERENCES reports(core_id),
    kind TEXT NOT NULL,
    status TEXT,
    text TEXT,
    agency_code TEXT,
    attachments TEXT NOT NULL DEFAULT '[]',
    actor TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    origin_key TEXT
);
CREATE INDEX IF NOT EXISTS events_core_id ON events(core_id);
CREATE TABLE IF NOT EXISTS feedback (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    core_id TEXT NOT NULL REFERENCES reports(core_id),
    text TEXT NOT NULL,
    rating INTEGER,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS push_queue (
    event_seq INTEGER PRIMARY KEY REFERENCES events(seq),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    delivered_at TEXT,
    gave_up_at TEXT,
    last_error TEXT
);
"""
# Run after _SCHEMA, once the column exists (added to older simulator databases first).
_ORIGIN_INDEX = (
    "CREATE UNIQUE INDEX IF NOT EXISTS events_origin_key ON events(origin_key)"
    " WHERE origin_key IS NOT NULL"
)


def iso(moment: datetime) -> str:
    """Fixed-width ISO 8601 so stored timestamps also compare correctly as text."""
    return moment.isoformat(timespec="microseconds")


def sqlite_path(db_path_or_url: str | Path) -> str:
    """Accept a file path, `sqlite:///path` or `:memory:`."""
    text = str(db_path_or_url)
    if text.startswith("sqlite:///"):
        text = text.removeprefix("sqlite:///")
    elif text.startswith("sqlite://"):
        text = text.removeprefix("sqlite://") or ":memory:"
    return text or ":memory:"


@dataclass(frozen=True)
class StoredReport:
    seq: int
    core_id: str
    idempotency_key: str
    payload: dict[str, Any]
    status: SimStatus
    agency_code: str | None
    created_at: str
    changed_at: str


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    core_id: str
    kind: str
    status: str | None
    text: str | None
    agency_code: str | None
    attachments: list[dict[str, str]] = field(default_factory=list)
    actor: str = "admin"
    occurred_at: str = ""
    origin_key: str | None = None


@dataclass(frozen=True)
class StoredFeedback:
    core_id: str
    text: str
    rating: int | None
    received_at: str


@dataclass(frozen=True)
class PushItem:
    event: StoredEvent
    attempts: int


class CoreStore:
    """All SQL of the simulator. Thread-safe through one lock around one connection."""

    def __init__(self, db_path_or_url: str | Path) -> None:
        path = sqlite_path(db_path_or_url)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # The API runs in an event loop thread that may differ from the creating thread.
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            if path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.executescript(_SCHEMA)
            self._add_origin_key()
            self.instance_id = self._instance_id()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _add_origin_key(self) -> None:
        # A simulator database from before follow-ups lacks the column; add it in place.
        columns = {row["name"] for row in self._conn.execute("PRAGMA table_info(events)")}
        if "origin_key" not in columns:
            self._conn.execute("ALTER TABLE events ADD COLUMN origin_key TEXT")
        self._conn.execute(_ORIGIN_INDEX)

    def _instance_id(self) -> str:
        # Event ids carry this, so a fresh simulator database never reuses an id the gateway
        # has already applied (and would therefore skip).
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'instance'").fetchone()
        if row:
            return str(row["value"])
        instance = secrets.token_hex(4)
        self._conn.execute("INSERT INTO meta (key, value) VALUES ('instance', ?)", (instance,))
        return instance

    # --- reports -------------------------------------------------------------------------

    def create_report(
        self, idempotency_key: str, payload: dict[str, Any], now: datetime
    ) -> tuple[StoredReport, bool]:
        """Store a report once per key: (report, created). A known key returns the original."""
        with self._tx() as conn:
            existing = self._report_where(conn, "idempotency_key = ?", idempotency_key)
            if existing:
                return existing, False
            next_seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM reports").fetchone()[0]
            core_id = str(CORE_ID_BASE + int(next_seq))
            conn.execute(
                "INSERT INTO reports (seq, core_id, idempotency_key, payload, status, agency_code,"
                " created_at, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    next_seq,
                    core_id,
                    idempotency_key,
                    json.dumps(payload, ensure_ascii=False),
                    SimStatus.UNVERIFIED.value,
                    payload.get("agency_code"),
                    iso(now),
                    iso(now),
                ),
            )
            created = self._report_where(conn, "core_id = ?", core_id)
        assert created is not None
        return created, True

    def get_report(self, core_id: str) -> StoredReport | None:
        with self._lock:
            return self._report_where(self._conn, "core_id = ?", core_id)

    def find_report(self, idempotency_key: str) -> StoredReport | None:
        with self._lock:
            return self._report_where(self._conn, "idempotency_key = ?", idempotency_key)

    def list_reports(
        self, status: SimStatus | None = None, limit: int = 100, offset: int = 0
    ) -> list[StoredReport]:
        query = "SELECT * FROM reports"
        params: list[Any] = []
        if status is not None:
            query += " WHERE status = ?"
            params.append(status.value)
        query += " ORDER BY seq DESC LIMIT ? OFFSET ?"
        params += [limit, offset]
        with self._lock:
            return [self._report(row) for row in self._conn.execute(query, params)]

    def count_reports(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM reports").fetchone()[0])

    def reports_idle_since(self, statuses: list[SimStatus], before: datetime) -> list[StoredReport]:
        """Reports in one of `statuses` whose last change is at or before `before`."""
        marks = ",".join("?" for _ in statuses)
        with self._lock:
            rows = self._conn.execute(
                f"SELECT * FROM reports WHERE status IN ({marks}) AND changed_at <= ?"  # noqa: S608
                " ORDER BY seq",
                [s.value for s in statuses] + [iso(before)],
            )
            return [self._report(row) for row in rows]

    @staticmethod
    def _report_where(conn: sqlite3.Connection, where: str, value: str) -> StoredReport | None:
        row = conn.execute(f"SELECT * FROM reports WHERE {where}", (value,)).fetchone()  # noqa: S608
        return CoreStore._report(row) if row else None

    @staticmethod
    def _report(row: sqlite3.Row) -> StoredReport:
        return StoredReport(
            seq=row["seq"],
            core_id=row["core_id"],
            idempotency_key=row["idempotency_key"],
            payload=json.loads(row["payload"]),
            status=SimStatus(row["status"]),
            agency_code=row["agency_code"],
            created_at=row["created_at"],
            changed_at=row["changed_at"],
        )

    # --- events --------------------------------------------------------------------------

    def record_change(
        self,
        core_id: str,
        *,
        expected_status: SimStatus,
        new_status: SimStatus,
        kind: str,
        text: str | None,
        agency_code: str | None,
        attachments: list[dict[str, str]],
        actor: str,
        now: datetime,
        push_queued: bool,
        origin_key: str | None = None,
    ) -> StoredEvent | None:
        """Change the status and write its event (and push row) at once.

        Returns None when the status is no longer `expected_status` (someone else acted first)
        or an event with `origin_key` exists already (the same follow-up, sent twice at once).
        """
        try:
            return self._record_change(
                core_id,
                expected_status=expected_status,
                new_status=new_status,
                kind=kind,
                text=text,
                agency_code=agency_code,
                attachments=attachments,
                actor=actor,
                now=now,
                push_queued=push_queued,
                origin_key=origin_key,
            )
        except sqlite3.IntegrityError:
            if origin_key is None:
                raise
            return None

    def _record_change(
        self,
        core_id: str,
        *,
        expected_status: SimStatus,
        new_status: SimStatus,
        kind: str,
        text: str | None,
        agency_code: str | None,
        attachments: list[dict[str, str]],
        actor: str,
        now: datetime,
        push_queued: bool,
        origin_key: str | None,
    ) -> StoredEvent | None:
        with self._tx() as conn:
            agency_sql = ", agency_code = ?" if agency_code is not None else ""
            params: list[Any] = [new_status.value, iso(now)]
            if agency_code is not None:
                params.append(agency_code)
            params += [core_id, expected_status.value]
            updated = conn.execute(
                f"UPDATE reports SET status = ?, changed_at = ?{agency_sql}"  # noqa: S608
                " WHERE core_id = ? AND status = ?",
                params,
            ).rowcount
            if updated != 1:
                return None
            cursor = conn.execute(
                "INSERT INTO events (core_id, kind, status, text, agency_code, attachments, actor,"
                " occurred_at, origin_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    core_id,
                    kind,
                    new_status.value,
                    text,
                    agency_code,
                    json.dumps(attachments, ensure_ascii=False),
                    actor,
                    iso(now),
                    origin_key,
                ),
            )
            seq = int(cursor.lastrowid or 0)
            if push_queued:
                conn.execute(
                    "INSERT INTO push_queue (event_seq, next_attempt_at) VALUES (?, ?)",
                    (seq, iso(now)),
                )
            row = conn.execute("SELECT * FROM events WHERE seq = ?", (seq,)).fetchone()
        return self._event(row)

    def events_since(self, since: int, limit: int) -> tuple[list[StoredEvent], bool]:
        """Events with seq > since, oldest first, and whether more are waiting."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (since, limit + 1)
            ).fetchall()
        events = [self._event(row) for row in rows[:limit]]
        return events, len(rows) > limit

    def events_of(self, core_id: str) -> list[StoredEvent]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM events WHERE core_id = ? ORDER BY seq", (core_id,)
            ).fetchall()
        return [self._event(row) for row in rows]

    def event_by_origin(self, origin_key: str) -> StoredEvent | None:
        """The event a gateway follow-up with this idempotency key caused, if any."""
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM events WHERE origin_key = ?", (origin_key,)
            ).fetchone()
        return self._event(row) if row else None

    def followups_of(self, core_id: str) -> list[StoredEvent]:
        """The events of a report that the gateway's follow-ups caused, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM events WHERE core_id = ? AND origin_key IS NOT NULL ORDER BY seq",
                (core_id,),
            ).fetchall()
        return [self._event(row) for row in rows]

    @staticmethod
    def _event(row: sqlite3.Row) -> StoredEvent:
        return StoredEvent(
            seq=row["seq"],
            core_id=row["core_id"],
            kind=row["kind"],
            status=row["status"],
            text=row["text"],
            agency_code=row["agency_code"],
            attachments=json.loads(row["attachments"]),
            actor=row["actor"],
            occurred_at=row["occurred_at"],
            origin_key=row["origin_key"],
        )

    # --- feedback ------------------------------------------------------------------------

    def add_feedback(self, core_id: str, text: str, rating: int | None, now: datetime) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO feedback (core_id, text, rating, received_at) VALUES (?, ?, ?, ?)",
                (core_id, text, rating, iso(now)),
            )

    def feedback_of(self, core_id: str) -> list[StoredFeedback]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM feedback WHERE core_id = ? ORDER BY seq", (core_id,)
            ).fetchall()
        return [
            StoredFeedback(r["core_id"], r["text"], r["rating"], r["received_at"]) for r in rows
        ]

    # --- push queue ----------------------------------------------------------------------

    def next_push(self, now: datetime) -> PushItem | None:
        """The oldest undelivered event, if it is due; None while the head is waiting.

        Strictly the head of the queue: a later event never overtakes an earlier one, so the
        gateway sees a report's events in the order they happened.
        """
        with self._lock:
            row = self._conn.execute(
                "SELECT q.attempts, q.next_attempt_at, e.* FROM push_queue q"
                " JOIN events e ON e.seq = q.event_seq"
                " WHERE q.delivered_at IS NULL AND q.gave_up_at IS NULL"
                " ORDER BY q.event_seq LIMIT 1"
            ).fetchone()
        if row is None or row["next_attempt_at"] > iso(now):
            return None
        return PushItem(event=self._event(row), attempts=row["attempts"])

    def next_push_due_at(self) -> str | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT next_attempt_at FROM push_queue"
                " WHERE delivered_at IS NULL AND gave_up_at IS NULL ORDER BY event_seq LIMIT 1"
            ).fetchone()
        return row["next_attempt_at"] if row else None

    def push_delivered(self, event_seq: int, now: datetime) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE push_queue SET delivered_at = ?, attempts = attempts + 1"
                " WHERE event_seq = ?",
                (iso(now), event_seq),
            )

    def push_failed(
        self, event_seq: int, error: str, retry_at: datetime | None, now: datetime
    ) -> None:
        """Record a failed attempt; `retry_at=None` means give up on this event."""
        with self._tx() as conn:
            if retry_at is None:
                conn.execute(
                    "UPDATE push_queue SET attempts = attempts + 1, last_error = ?,"
                    " gave_up_at = ? WHERE event_seq = ?",
                    (error[:500], iso(now), event_seq),
                )
            else:
                conn.execute(
                    "UPDATE push_queue SET attempts = attempts + 1, last_error = ?,"
                    " next_attempt_at = ? WHERE event_seq = ?",
                    (error[:500], iso(retry_at), event_seq),
                )

    def push_counts(self) -> dict[str, int]:
        with self._lock:
            row = self._conn.execute(
                "SELECT"
                " SUM(delivered_at IS NOT NULL) AS delivered,"
                " SUM(gave_up_at IS NOT NULL) AS gave_up,"
                " SUM(delivered_at IS NULL AND gave_up_at IS NULL) AS waiting"
                " FROM push_queue"
            ).fetchone()
        return {k: int(row[k] or 0) for k in ("delivered", "gave_up", "waiting")}
