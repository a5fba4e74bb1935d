"""Intake: store every inbound message durably before the provider is acknowledged, then turn
it into (part of) a complaint outside the request.

`accept()` is the only thing a webhook does before answering: one INSERT, idempotent on
(channel, external_id), so a provider's retry is recognised and answered as success.
`process()` runs afterwards (a background task, the start-up resume, the periodic sweep); it
claims the row with a conditional UPDATE in the same transaction that creates the complaint, so
a crash rolls both back and the row is simply processed again later.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Table, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from channels import base
from gateway.clock import as_utc, utcnow
from gateway.complaints.tracking import new_code
from gateway.complaints.workflow import commit
from gateway.store.db import UNAVAILABLE_ERRORS, Database, row_ids, to_json
from gateway.store.models import Complaint, InboundMessage, InboundStatus

if TYPE_CHECKING:
    from gateway.parts import Intake

log = logging.getLogger(__name__)

MAX_PROCESS_ATTEMPTS = 5


@dataclass(frozen=True)
class Accepted:
    inbound_id: int
    duplicate: bool  # the provider sent this one before
    tracking_code: str | None = None  # pre-assigned (web form) so the citizen sees it at once


def _extra(message: base.InboundMessage) -> dict[str, object]:
    """The channel's extras, and whether the message was public (a comment under a post: see
    gateway/bot/public_posts.py), what a reply goes under, and where to see it."""
    extra: dict[str, object] = dict(message.extra)
    if message.public:
        extra["public"] = True
    if message.thread_ref:
        extra["thread_ref"] = message.thread_ref
    if message.permalink:
        extra["permalink"] = message.permalink
    return extra


def _row_values(message: base.InboundMessage, raw_payload: str, raw_content_type: str) -> dict:
    location = message.location
    return {
        "channel": message.channel,
        "external_id": message.external_id,
        "sender": message.sender,
        "sender_name": message.sender_name,
        "kind": message.kind.value,
        "text": message.text,
        "media": [asdict(m) for m in message.media],
        "latitude": location.latitude if location else None,
        "longitude": location.longitude if location else None,
        "location_label": location.label if location else None,
        "reply_to": message.reply_to,
        "edits": message.edits,
        "button_payload": message.button_payload,
        "contact_phone": message.contact_phone,
        "language": message.language,
        "extra": _extra(message),
        "raw_payload": raw_payload,
        "raw_content_type": raw_content_type,
        "received_at": message.received_at,
        "status": InboundStatus.PENDING.value,
        "attempts": 0,
        "created_at": utcnow(),
    }


def _new_code(taken: Callable[[str], bool]) -> str:
    """A tracking code for which `taken` says no."""
    while True:
        code = new_code()
        if not taken(code):
            return code


def _free_code(conn: Connection | Session) -> str:
    """A tracking code nobody has, read on the caller's connection or session."""
    return _new_code(
        lambda code: bool(
            conn.scalar(select(col(Complaint.id)).where(col(Complaint.tracking_code) == code))
            or conn.scalar(
                select(col(InboundMessage.id)).where(col(InboundMessage.assigned_code) == code)
            )
        )
    )


def accept(
    db: Database,
    message: base.InboundMessage,
    *,
    raw_payload: str = "",
    raw_content_type: str = "",
    assign_code: bool = False,
) -> Accepted:
    """Store one inbound message (once). Safe to call again with the same message."""
    for _ in range(3):
        try:
            return _accept_once(db, message, raw_payload, raw_content_type, assign_code, {})
        except IntegrityError:
            # Only a tracking-code collision between two concurrent submissions gets here.
            continue
    raise RuntimeError("could not allocate a tracking code")


def keep_unreadable(
    db: Database,
    channel: str,
    body: bytes,
    *,
    content_type: str,
    reason: str,
    subpath: str = "",
) -> Accepted:
    """A request the provider signed but the parser cannot read: kept raw with the reason
    (status `unreadable`, never processed by itself) so the provider can be acknowledged and an
    admin can read it. The provider's retries carry the same body, so it is stored once."""
    digest = hashlib.sha256(subpath.encode() + b"\n" + body).hexdigest()
    message = base.InboundMessage(
        channel=channel,
        external_id=f"unreadable:{digest}",
        sender="",
        received_at=utcnow(),
        extra={"subpath": subpath} if subpath else {},
    )
    unreadable = {"status": InboundStatus.UNREADABLE.value, "last_error": reason[:2000]}
    return _accept_once(
        db, message, body.decode("utf-8", errors="replace"), content_type, False, unreadable
    )


# The ack path's statements as the driver takes them (`Database.ack_cursor`), with named
# parameters (`:name` for sqlite3, `%(name)s` for psycopg); built once per set of columns.
@functools.cache
def _insert_sql(postgres: bool, columns: tuple[str, ...]) -> str:
    marks = [f"%({c})s" if postgres else f":{c}" for c in columns]
    return (
        f"INSERT INTO inbound_message ({', '.join(columns)}) VALUES ({', '.join(marks)}) "  # noqa: S608
        "ON CONFLICT (channel, external_id) DO NOTHING RETURNING id"
    )


def _sql(postgres: bool, statement: str) -> str:
    """A statement written with `:name` parameters, for this driver."""
    return re.sub(r":(\w+)", r"%(\1)s", statement) if postgres else statement


_STORED = (
    "SELECT id, assigned_code, complaint_id FROM inbound_message "
    "WHERE channel = :channel AND external_id = :external_id"
)
_CASE_CODE = "SELECT tracking_code FROM complaint WHERE id = :id"
_CODE_TAKEN = (
    "SELECT 1 FROM complaint WHERE tracking_code = :code "
    "UNION ALL SELECT 1 FROM inbound_message WHERE assigned_code = :code"
)


def _driver_values(values: Mapping[str, object], postgres: bool) -> dict[str, object]:
    """What SQLAlchemy's column types would bind: JSON as text, datetimes in UTC (naive text on
    SQLite, as SQLAlchemy stores them there)."""
    bound: dict[str, object] = {}
    for name, value in values.items():
        if isinstance(value, dict | list):
            value = to_json(value)
        elif isinstance(value, datetime):
            value = as_utc(value)
            if not postgres:
                value = value.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        bound[name] = value
    return bound


def _accept_once(
    db: Database,
    message: base.InboundMessage,
    raw_payload: str,
    raw_content_type: str,
    assign_code: bool,
    overrides: Mapping[str, object],
) -> Accepted:
    # The ack path: one connection, one INSERT in its own transaction, no ORM (issue 12).
    postgres = db.is_postgres
    values = {**_row_values(message, raw_payload, raw_content_type), **overrides}
    with db.ack_cursor() as cursor:
        if assign_code:
            values["assigned_code"] = _new_code(
                lambda code: (
                    cursor.execute(_sql(postgres, _CODE_TAKEN), {"code": code}).fetchone()
                    is not None
                )
            )
        inserted = cursor.execute(
            _insert_sql(postgres, tuple(values)), _driver_values(values, postgres)
        ).fetchone()
        if inserted is not None:
            return Accepted(inserted[0], duplicate=False, tracking_code=values.get("assigned_code"))
        key = {"channel": message.channel, "external_id": message.external_id}
        inbound_id, code, complaint_id = cursor.execute(_sql(postgres, _STORED), key).fetchone()
        if complaint_id and not code:
            found = cursor.execute(_sql(postgres, _CASE_CODE), {"id": complaint_id}).fetchone()
            code = found[0] if found else None
        return Accepted(inbound_id, duplicate=True, tracking_code=code)


# --- processing -------------------------------------------------------------------------------

Processor = Callable[["Intake", Session, InboundMessage], None]


def process(gateway: Intake, inbound_id: int) -> bool:
    """Turn one stored message into (part of) a complaint. False if someone already did, or
    the database went away meanwhile: the message stays pending and the periodic resume
    processes it later. A background task's database error must not escape as "Exception in
    ASGI application" with the statement in its traceback (issue 13 §12)."""
    try:
        return _process(gateway, inbound_id)
    except UNAVAILABLE_ERRORS as exc:
        log.error(
            "inbound processing deferred: database error",
            extra={"inbound_id": inbound_id, "error": type(exc).__name__},
        )
        return False


# The claim, built once: a conditional UPDATE only one processor can win (Core, on the
# session's connection; the values are parameters, so nothing is built or compiled per message).
_INBOUND: Table = InboundMessage.__table__  # type: ignore[attr-defined]
_CLAIM = (
    update(_INBOUND)
    .where(_INBOUND.c.id == bindparam("claim_id"))
    .where(_INBOUND.c.status == InboundStatus.PENDING.value)
    .values(
        status=InboundStatus.PROCESSED.value,
        processed_at=bindparam("claim_at", type_=_INBOUND.c.processed_at.type),
    )
)


def _process(gateway: Intake, inbound_id: int) -> bool:
    now = utcnow()
    with gateway.db.session() as session:
        claimed = (
            session.connection().execute(_CLAIM, {"claim_id": inbound_id, "claim_at": now}).rowcount
        )
        if not claimed:
            session.rollback()
            return False
        row = session.get(InboundMessage, inbound_id)
        assert row is not None
        try:
            gateway.processor_for(row.channel)(gateway, session, row)
            commit(session)
        except Exception as exc:
            session.rollback()
            _record_failure(gateway.db, inbound_id, exc)
            return False
    log.info("inbound processed", extra={"inbound_id": inbound_id, "channel": row.channel})
    return True


def _record_failure(db: Database, inbound_id: int, exc: Exception) -> None:
    log.exception("inbound processing failed", extra={"inbound_id": inbound_id})
    with db.session() as session:
        row = session.get(InboundMessage, inbound_id)
        if row is None:
            return
        row.attempts += 1
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= MAX_PROCESS_ATTEMPTS:
            row.status = InboundStatus.FAILED.value  # visible to admins, never silently dropped
        session.add(row)
        session.commit()


def unprocessed_ids(db: Database, older_than_seconds: float = 0) -> list[int]:
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    with db.read_session() as session:
        return row_ids(
            session.scalars(
                select(col(InboundMessage.id))
                .where(col(InboundMessage.status) == InboundStatus.PENDING.value)
                .where(col(InboundMessage.created_at) <= cutoff)
                .order_by(col(InboundMessage.id))
            )
        )


def sender_key(channel: str, sender: str) -> str:
    """Whose message it is: one reporter's messages are processed one after another."""
    return f"{channel}:{sender}"


def unprocessed_senders(
    db: Database, older_than_seconds: float = 0, limit: int | None = None
) -> list[tuple[int, str]]:
    """Pending rows as (id, sender key), oldest first (for the inbound threads)."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    query = (
        select(col(InboundMessage.id), col(InboundMessage.channel), col(InboundMessage.sender))
        .where(col(InboundMessage.status) == InboundStatus.PENDING.value)
        .where(col(InboundMessage.created_at) <= cutoff)
        .order_by(col(InboundMessage.id))
    )
    if limit is not None:
        query = query.limit(limit)
    with db.read_session() as session:
        rows = session.execute(query).all()
    return [(row.id, sender_key(row.channel, row.sender)) for row in rows]


def resume(gateway: Intake, older_than_seconds: float = 0) -> int:
    """Process what was stored but never processed (a crash, a restart, a lost task)."""
    done = 0
    for inbound_id in unprocessed_ids(gateway.db, older_than_seconds):
        done += process(gateway, inbound_id)
    if done:
        log.info("resumed unprocessed inbound messages", extra={"count": done})
    return done
