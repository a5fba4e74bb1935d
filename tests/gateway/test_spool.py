"""Issue 13 (operations): the database may go away. A verified webhook is then kept in the
local spool (append + fsync) and acknowledged; when the database is back the spool is fed into
intake, idempotently. A bad signature is still refused, and a full spool answers 503."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.app import create_app
from gateway.context import Gateway
from gateway.intake import inbound as intake
from gateway.intake import spool
from gateway.store.db import Database
from gateway.store.models import InboundMessage
from tests.channels.cases import channel_settings
from tests.gateway.test_data_errors import SMS_FORM, _sms

DOWN = "postgresql+psycopg://nobody@127.0.0.1:9/none"


def _settings(url: str, tmp_path: Path, **more: object):  # type: ignore[no-untyped-def]
    return channel_settings(
        database_url=url,
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        app_env="test",
        secret_key="test-secret-key-not-for-production",
        **more,
    )


def _down_client(tmp_path: Path, **more: object) -> tuple[TestClient, Gateway]:
    settings = _settings(DOWN, tmp_path, **more)
    gateway = Gateway.create(settings, db=Database(DOWN, connect_args={"connect_timeout": 1}))
    return TestClient(create_app(settings, gateway), base_url="http://testserver"), gateway


def test_a_webhook_accepted_while_the_database_is_down_is_not_lost(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    client, down = _down_client(tmp_path)
    first = _sms(SMS_FORM.format(sid="3" * 32, body="Jalan+rusak+di+Lasem").encode())
    second = _sms(SMS_FORM.format(sid="4" * 32, body="Lampu+mati").encode())
    with client:
        for body, headers in (first, second, first):  # the provider retries the first
            response = client.post("/webhooks/twilio_sms", content=body, headers=headers)
            assert response.status_code == 204, response.text
        forged = client.post("/webhooks/twilio_sms", content=first[0], headers={})
        assert forged.status_code == 403  # no signature: not spooled
    assert spool.pending(down) == 3
    # The database is back: the resume sweep feeds the spool into intake, once per message.
    up = Gateway.create(_settings(db_url, tmp_path), db=db)
    processed: list[int] = []
    up.processors = {name: (lambda gw, s, row: processed.append(row.id)) for name in up.processors}
    spool.drain(up)
    with up.db.read_session() as session:
        rows = session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
    assert [row.text for row in rows] == ["Jalan rusak di Lasem", "Lampu mati"]
    assert sorted(processed) == [row.id for row in rows]
    assert spool.pending(up) == 0
    spool.drain(up)  # nothing twice
    intake.resume(up)
    with up.db.read_session() as session:
        assert len(session.scalars(select(InboundMessage)).all()) == 2


def test_a_full_spool_answers_503_with_retry_after(tmp_path: Path) -> None:
    client, _ = _down_client(tmp_path, webhook_spool_max_bytes=1024 * 1024)
    (tmp_path / "var" / "spool").mkdir(parents=True)
    (tmp_path / "var" / "spool" / spool.FILE_NAME).write_bytes(b"x" * (1024 * 1024))
    body, headers = _sms(SMS_FORM.format(sid="5" * 32, body="halo").encode())
    with client:
        response = client.post("/webhooks/twilio_sms", content=body, headers=headers)
    assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
