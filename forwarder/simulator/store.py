"""The simulated core's own database: one SQLite file, stdlib `sqlite3`, nothing shared.

Reports (one per idempotency key; `origin` says whether the gateway submitted it or a citizen
filed it in LAPOR!, `regency_at` when the national admin disposed a citizen's report to the
regency), their events (a monotonic integer `seq` is the cursor; an event caused by the
gateway's follow-up carries that follow-up's idempotency key, unique, as `origin_key`), the
intake (one row per citizen's report the first time it reaches the regency; its `seq` is the
cursor of the incoming feed), reporter feedback, and the push queue (one row per event still to
be delivered). Every write that belongs together happens in one transaction, so an event and its
push row appear together or not at all.

Older simulator databases are upgraded in place when opened (`_upgrade`): missing columns are
added, new tables created.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from forwarder.simulator.lifecycle import KIND_INCOMING, Origin, SimStatus

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
    changed_at TEXT NOT NULL,
    origin TEXT NOT NULL DEFAULT 'gateway',
    regency_at TEXT,
    status_before TEXT
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
CREATE TABLE IF NOT EXISTS intake (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    core_id TEXT NOT NULL UNIQUE REFERENCES reports(core_id),
    disposed_at TEXT NOT NULL,
    agency_code TEXT
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
# Columns added since the first simulator database, with their SQL type: added in place to an
# older database when it is opened.
_ADDED_COLUMNS: dict[str, dict[str, str]] = {
    "events": {"origin_key": "TEXT"},
    "reports": {
        "origin": "TEXT NOT NULL DEFAULT 'gateway'",
        "regency_at": "TEXT",
        "status_before": "TEXT",
    },
}
# What `record_change` may set on a report besides its status and agency.
_REPORT_COLUMNS = frozenset({"regency_at", "status_before"})
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
    origin: Origin = Origin.GATEWAY
    regency_at: str | None = None  # a citizen's report: when it was disposed to the regency
    status_before: SimStatus | None = None  # while pending: where the reporter's reply goes

    @property
    def at_regency(self) -> bool:
        """The regency (its gateway, its agencies) may act on it: it submitted the report, or
        the national admin disposed it there (and it was not returned since)."""
        return self.origin is Origin.GATEWAY or self.regency_at is not None


@dataclass(frozen=True)
class IntakeEntry:
    """A citizen's report in the regency's incoming feed."""

    seq: int  # the feed's cursor
    disposed_at: str  # when it first reached the regency
    agency_code: str | None  # the agency the national admin disposed it to, if any
    report: StoredReport


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
            self._upgrade()
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

    def _upgrade(self) -> None:
        # A simulator database from an older version lacks some columns; add them in place
        # (new tables came with _SCHEMA's CREATE IF NOT EXISTS).
        for table, added in _ADDED_COLUMNS.items():
            columns = {row["name"] for row in self._conn.execute(f"PRAGMA table_info({table})")}
            for name, sql_type in added.items():
                if name not in columns:
                    self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}")
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
        self,
        idempotency_key: str,
        payload: dict[str, Any],
        now: datetime,
        origin: Origin = Origin.GATEWAY,
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
                " created_at, changed_at, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    next_seq,
                    core_id,
                    idempotency_key,
                    json.dumps(payload, ensure_ascii=False),
                    SimStatus.UNVERIFIED.value,
                    payload.get("agency_code"),
                    iso(now),
                    iso(now),
                    origin.value,
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
            origin=Origin(row["origin"]),
            regency_at=row["regency_at"],
            status_before=SimStatus(row["status_before"]) if row["status_before"] else None,
        )

    # --- intake: citizens' reports disposed to the regency ---------------------------------

    def dispose_to_regency(
        self,
        core_id: str,
        agency_code: str | None,
        text: str | None,
        actor: str,
        now: datetime,
        push_queued: bool,
    ) -> StoredEvent | None:
        """The national admin disposes a citizen's report to the regency (to one of its agencies
        when `agency_code`): the first time it joins the incoming feed and writes an `incoming`
        event; after a return it writes a `disposition` event. None when the report is not a
        citizen's report waiting at the national admin."""
        with self._tx() as conn:
            report = self._report_where(conn, "core_id = ?", core_id)
            if (
                report is None
                or report.at_regency
                or report.status not in (SimStatus.UNVERIFIED, SimStatus.RETURNED)
            ):
                return None
            first = (
                conn.execute(
                    "INSERT OR IGNORE INTO intake (core_id, disposed_at, agency_code)"
                    " VALUES (?, ?, ?)",
                    (core_id, iso(now), agency_code),
                ).rowcount
                == 1
            )
            conn.execute(
                "UPDATE reports SET status = ?, regency_at = ?, agency_code = ?, changed_at = ?,"
                " status_before = NULL WHERE core_id = ?",
                (SimStatus.UNVERIFIED.value, iso(now), agency_code, iso(now), core_id),
            )
            return self._insert_event(
                conn,
                core_id,
                kind=KIND_INCOMING if first else "disposition",
                status=SimStatus.UNVERIFIED,
                text=text,
                agency_code=agency_code,
                attachments=[],
                actor=actor,
                now=now,
                push_queued=push_queued,
                origin_key=None,
            )

    _INTAKE_SELECT = (
        "SELECT i.seq AS intake_seq, i.disposed_at AS intake_disposed_at,"
        " i.agency_code AS intake_agency, r.*"
        " FROM intake i JOIN reports r ON r.core_id = i.core_id"
    )

    def incoming_since(self, since: int, limit: int) -> tuple[list[IntakeEntry], bool]:
        """The regency's incoming feed after the cursor, oldest first, and whether more wait."""
        with self._lock:
            rows = self._conn.execute(
                self._INTAKE_SELECT + " WHERE i.seq > ? ORDER BY i.seq LIMIT ?",
                (since, limit + 1),
            ).fetchall()
        entries = [self._intake(row) for row in rows[:limit]]
        return entries, len(rows) > limit

    def intake_of(self, core_id: str) -> IntakeEntry | None:
        with self._lock:
            row = self._conn.execute(
                self._INTAKE_SELECT + " WHERE i.core_id = ?", (core_id,)
            ).fetchone()
        return self._intake(row) if row else None

    @classmethod
    def _intake(cls, row: sqlite3.Row) -> IntakeEntry:
        return IntakeEntry(
            seq=row["intake_seq"],
            disposed_at=row["intake_disposed_at"],
            agency_code=row["intake_agency"],
            report=cls._report(row),
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
        report_changes: Mapping[str, Any] | None = None,
    ) -> StoredEvent | None:
        """Change the status (and `report_changes`: `regency_at`, `status_before`) and write
        its event (and push row) at once.

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
                report_changes=report_changes or {},
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
        report_changes: Mapping[str, Any],
    ) -> StoredEvent | None:
        unknown = set(report_changes) - _REPORT_COLUMNS
        if unknown:
            raise ValueError(f"cannot set {', '.join(sorted(unknown))} on a report")
        with self._tx() as conn:
            changes: dict[str, Any] = {"status": new_status.value, "changed_at": iso(now)}
            if agency_code is not None:
                changes["agency_code"] = agency_code
            changes.update(report_changes)
            assignments = ", ".join(f"{name} = ?" for name in changes)
            updated = conn.execute(
                f"UPDATE reports SET {assignments} WHERE core_id = ? AND status = ?",  # noqa: S608
                [*changes.values(), core_id, expected_status.value],
            ).rowcount
            if updated != 1:
                return None
            return self._insert_event(
                conn,
                core_id,
                kind=kind,
                status=new_status,
                text=text,
                agency_code=agency_code,
                attachments=attachments,
                actor=actor,
                now=now,
                push_queued=push_queued,
                origin_key=origin_key,
            )

    def _insert_event(
        self,
        conn: sqlite3.Connection,
        core_id: str,
        *,
        kind: str,
        status: SimStatus,
        text: str | None,
        agency_code: str | None,
        attachments: list[dict[str, str]],
        actor: str,
        now: datetime,
        push_queued: bool,
        origin_key: str | None,
    ) -> StoredEvent:
        """Write one event (and its push row) inside the caller's transaction."""
        cursor = conn.execute(
            "INSERT INTO events (core_id, kind, status, text, agency_code, attachments, actor,"
            " occurred_at, origin_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                core_id,
                kind,
                status.value,
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
