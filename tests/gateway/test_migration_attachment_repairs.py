"""Migration citizen_0001 repairs the attachments the old download paths could never fetch: a
photo entered by hand becomes stored (it always was, on disk), a Telegram photo given up for
"no file id" gets fresh attempts. On a fresh database of each engine, from the revision
before."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from gateway.store.db import Database
from gateway.store.migrate import upgrade
from tests.conftest import _pg_base_url, _pg_reachable

BEFORE = "reports_0001"
KEY = "ab/" + "ab" * 32 + ".jpg"


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'old.db'}")
        yield db
        db.dispose()
        return
    base = _pg_base_url()
    problem = _pg_reachable(base)
    if problem:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(problem)
        pytest.skip(problem)
    schema = f"m_{uuid.uuid4().hex[:12]}"
    admin = Database(base)
    with admin.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    db = Database(url.render_as_string(hide_password=False))
    try:
        yield db
    finally:
        db.dispose()
        with admin.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _inbound(conn, id_: int, channel: str) -> None:  # type: ignore[no-untyped-def]
    now = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
    conn.execute(
        text(
            "INSERT INTO inbound_message (id, channel, external_id, sender, kind, text, media, "
            "extra, raw_payload, raw_content_type, received_at, status, attempts, created_at) "
            "VALUES (:id, :channel, :ext, 's', 'message', '', '[]', '{}', '', '', :now, "
            "'processed', 0, :now)"
        ),
        {"id": id_, "channel": channel, "ext": f"e{id_}", "now": now},
    )


def _attachment(conn, id_: int, inbound_id: int, **values: object) -> None:  # type: ignore[no-untyped-def]
    row = {"status": "pending", "attempts": 0, "error": None, "provider_ref": None, **values}
    conn.execute(
        text(
            "INSERT INTO attachment (id, inbound_message_id, source, kind, status, attempts, "
            "error, provider_ref, created_at) VALUES (:id, :inbound, 'reporter', 'photo', "
            ":status, :attempts, :error, :provider_ref, :now)"
        ),
        {"id": id_, "inbound": inbound_id, "now": datetime(2026, 11, 2, tzinfo=UTC), **row},
    )


def test_attachments_are_repaired(fresh_db: Database) -> None:
    upgrade(fresh_db.engine, BEFORE)
    with fresh_db.engine.begin() as conn:
        _inbound(conn, 1, "manual")
        _inbound(conn, 2, "telegram")
        _inbound(conn, 3, "twilio_whatsapp")
        _attachment(
            conn,
            1,
            1,
            status="failed",
            attempts=6,
            error="channel manual is not configured",
            provider_ref=KEY,
        )
        _attachment(
            conn,
            2,
            2,
            status="failed",
            attempts=6,
            error="Telegram media has no file id",
            provider_ref="AgACAgUAAxkBAAIBZ2-1280",
        )
        _attachment(conn, 3, 3, status="failed", attempts=6, error="Twilio media ME1: HTTP 404")
    upgrade(fresh_db.engine)
    with fresh_db.engine.connect() as conn:
        rows = {
            r.id: r
            for r in conn.execute(
                text(
                    "SELECT id, status, attempts, error, storage_key, sha256, provider_ref "
                    "FROM attachment"
                )
            )
        }
    manual, telegram, whatsapp = rows[1], rows[2], rows[3]
    assert (manual.status, manual.storage_key, manual.sha256, manual.error) == (
        "stored",
        KEY,
        "ab" * 32,
        None,
    )
    assert (telegram.status, telegram.attempts, telegram.provider_ref) == (
        "pending",
        0,
        "AgACAgUAAxkBAAIBZ2-1280",
    )
    assert (whatsapp.status, whatsapp.attempts) == ("failed", 6)  # a real 404 stays failed
