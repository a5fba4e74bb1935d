"""Issue 13 defect 1: a data error is not an outage. Input that PostgreSQL refuses (U+0000 in
text or JSON, an id longer than its column) is cleaned or refused with a reason on every route
and on both databases; 503 stays for a database that cannot be reached, and then `/healthz`
says so too."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from channels.base import InboundMessage as ChannelMessage
from channels.base import Poller, PollResult, Unreadable
from gateway.app import create_app
from gateway.context import Gateway
from gateway.jobs.pollers import PollerRunner
from gateway.store.db import Database
from gateway.store.models import InboundMessage, InboundStatus, PollerState
from tests.channels.cases import (
    PUBLIC_BASE,
    TEST_TELEGRAM_SECRET,
    channel_settings,
    twilio_signature,
)

SMS_FORM = (
    "ToCountry=ID&ToState=&SmsMessageSid=SM{sid}&NumMedia=0&ToCity=&FromZip=&SmsSid=SM{sid}"
    "&FromState=&SmsStatus=received&FromCity=&Body={body}&FromCountry=ID&To=%2B62215550100"
    "&ToZip=&NumSegments=1&MessageSid=SM{sid}&AccountSid=AC00000000000000000000000000000001"
    "&From=%2B6281234567890&ApiVersion=2010-04-01"
)


@pytest.fixture
def hostile_client(db: Database, db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = channel_settings(
        database_url=db_url,
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        app_env="test",
        secret_key="test-secret-key-not-for-production",
    )
    gateway = Gateway.create(settings, db=db)
    # The conversation is not under test here; only what the route stores and answers.
    gateway.processors = {name: (lambda *_: None) for name in gateway.processors}
    with TestClient(create_app(settings, gateway), base_url="http://testserver") as client:
        yield client, gateway


def _sms(body: bytes, path: str = "/webhooks/twilio_sms") -> tuple[bytes, dict[str, str]]:
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": twilio_signature(PUBLIC_BASE + path, body),
    }
    return body, headers


def _rows(gateway: Gateway) -> list[InboundMessage]:
    with gateway.db.read_session() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all())


def test_signed_sms_with_an_escaped_nul_is_stored_without_it(hostile_client) -> None:  # type: ignore[no-untyped-def]
    client, gateway = hostile_client
    body, headers = _sms(SMS_FORM.format(sid="1" * 32, body="Jalan%00rusak").encode())
    response = client.post("/webhooks/twilio_sms", content=body, headers=headers)
    assert response.status_code < 300, response.text
    [row] = _rows(gateway)
    assert row.text == "Jalanrusak"


def test_signed_sms_with_a_raw_nul_byte_is_stored_without_it(hostile_client) -> None:  # type: ignore[no-untyped-def]
    client, gateway = hostile_client
    body, headers = _sms(SMS_FORM.format(sid="2" * 32, body="Jalan\x00rusak").encode())
    response = client.post("/webhooks/twilio_sms", content=body, headers=headers)
    assert response.status_code < 300, response.text
    [row] = _rows(gateway)
    assert "\x00" not in row.text and "\x00" not in row.raw_payload
    again = client.post("/webhooks/twilio_sms", content=body, headers=headers)
    assert again.status_code < 300 and len(_rows(gateway)) == 1


def test_signed_telegram_body_with_a_nul_byte_is_kept_raw_without_it(hostile_client) -> None:  # type: ignore[no-untyped-def]
    client, gateway = hostile_client
    body = b'{"update_id": 5, "message": {"text": "a\x00b"}}'
    headers = {
        "content-type": "application/json",
        "x-telegram-bot-api-secret-token": TEST_TELEGRAM_SECRET,
    }
    response = client.post("/webhooks/telegram", content=body, headers=headers)
    assert response.status_code == 200, response.text
    [row] = _rows(gateway)
    assert row.status == InboundStatus.UNREADABLE
    assert row.raw_payload == '{"update_id": 5, "message": {"text": "ab"}}'


def test_json_api_with_nul_in_every_field_is_stored_without_it(hostile_client) -> None:  # type: ignore[no-untyped-def]
    client, gateway = hostile_client
    body = {
        "description": "Lampu jalan\u0000 di depan SD 1 Leteh mati sejak seminggu",
        "name": "Bu\u0000di",
        "location_text": "Leteh\u0000",
        "consent": True,
    }
    response = client.post("/api/v1/complaints", json=body)
    assert response.status_code == 202, response.text
    [row] = _rows(gateway)
    assert row.text is not None and "\x00" not in row.text and "Lampu jalan di depan" in row.text
    assert "\x00" not in row.raw_payload and "\\u0000" not in row.raw_payload


def test_json_api_with_nul_in_the_idempotency_key(hostile_client) -> None:  # type: ignore[no-untyped-def]
    client, gateway = hostile_client
    body = {"description": "Jalan di Desa Sumbergirang berlubang besar", "consent": True}
    # A header cannot carry a raw NUL; percent-encoded it is plain text and must just work.
    response = client.post("/api/v1/complaints", json=body, headers={"idempotency-key": "k%00"})
    assert response.status_code == 202, response.text
    [row] = _rows(gateway)
    assert row.external_id == "api:k%00"


def test_json_api_with_the_longest_idempotency_key_is_accepted(hostile_client) -> None:  # type: ignore[no-untyped-def]
    client, gateway = hostile_client
    body = {"description": "Jalan di Desa Sumbergirang berlubang besar", "consent": True}
    key = "k" * 200  # the documented maximum
    first = client.post("/api/v1/complaints", json=body, headers={"idempotency-key": key})
    assert first.status_code == 202, first.text
    again = client.post("/api/v1/complaints", json=body, headers={"idempotency-key": key})
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["tracking_code"] == first.json()["tracking_code"]
    assert len(_rows(gateway)) == 1


def test_json_api_with_a_too_long_idempotency_key_is_422(hostile_client) -> None:  # type: ignore[no-untyped-def]
    client, gateway = hostile_client
    body = {"description": "Jalan di Desa Sumbergirang berlubang besar", "consent": True}
    response = client.post("/api/v1/complaints", json=body, headers={"idempotency-key": "k" * 201})
    assert response.status_code == 422
    assert response.json()["message"]
    assert _rows(gateway) == []


def test_web_form_with_nul_is_stored_without_it(hostile_client) -> None:  # type: ignore[no-untyped-def]
    client, gateway = hostile_client
    page = client.get("/lapor")
    assert page.status_code == 200
    form = {
        "description": "Sampah\x00 menumpuk di pasar Rembang sejak minggu lalu",
        "name": "Si\x00ti",
        "consent": "on",
    }
    response = client.post("/lapor", data=form, follow_redirects=False)
    assert response.status_code < 400, response.text
    [row] = _rows(gateway)
    assert "\x00" not in (row.text or "") and "Sampah menumpuk" in (row.text or "")
    assert "\x00" not in row.raw_payload


def test_a_data_error_from_the_database_is_not_an_outage(hostile_client) -> None:  # type: ignore[no-untyped-def]
    """Whatever slips past the input checks and is refused by the database for its content is
    the request's fault: 422 with a reason, not 503 'try again', and /healthz stays ok."""
    client, gateway = hostile_client
    from sqlalchemy import text
    from sqlalchemy.exc import DataError

    def refuse() -> None:
        with gateway.db.session() as session:
            # A value too long for its column: PostgreSQL refuses it (DataError); SQLite has
            # no such limit, so there the same class of error is raised by hand.
            if gateway.db.is_postgres:
                session.execute(text("CREATE TEMP TABLE t_len (v varchar(3))"))
                session.execute(text("INSERT INTO t_len VALUES (:v)"), {"v": "abcd"})
            else:
                raise DataError("INSERT", {}, ValueError("value too long"))

    client.app.router.add_api_route("/api/v1/_refused", refuse, methods=["POST"])
    response = client.post("/api/v1/_refused")
    assert response.status_code == 422, response.text
    assert response.json()["message"]
    assert "Retry-After" not in response.headers
    assert client.get("/healthz").json()["database"] == "ok"


def test_an_unreachable_database_is_503_with_retry_after_and_healthz_says_so(
    tmp_path: Path,
) -> None:
    settings = channel_settings(
        database_url="postgresql+psycopg://nobody@127.0.0.1:9/none",
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        app_env="test",
        secret_key="test-secret-key-not-for-production",
    )
    db = Database(settings.database_url, connect_args={"connect_timeout": 1})
    gateway = Gateway.create(settings, db=db)
    with TestClient(create_app(settings, gateway), base_url="http://testserver") as client:
        body = {"description": "Jalan di Desa Sumbergirang berlubang besar", "consent": True}
        response = client.post("/api/v1/complaints", json=body)
        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) > 0
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json()["database"] == "unreachable"
        assert int(health.headers["Retry-After"]) > 0
        assert json.loads(health.text)["status"] != "ok"


def test_database_errors_never_carry_the_statements_values(db: Database) -> None:
    """A traceback of a database error is logged; the values it was given (a reporter's
    words, a phone number) must not be in it (issue 13 §12)."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    secret = "+6281299990001 Budi Santoso"
    with pytest.raises(DBAPIError) as raised, db.session() as session:
        session.execute(text("SELECT * FROM no_such_table WHERE x = :v"), {"v": secret})
    assert secret not in str(raised.value)
    assert "6281299990001" not in repr(raised.value)


def test_a_background_task_survives_a_database_that_went_away(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    """`intake.process` runs after the ack; with the database gone it logs one line (no
    statement, no traceback) and leaves the message for the periodic resume."""
    from gateway.intake import inbound as intake

    settings = channel_settings(
        database_url="postgresql+psycopg://nobody@127.0.0.1:9/none",
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        app_env="test",
        secret_key="test-secret-key-not-for-production",
    )
    gateway = Gateway.create(settings, db=Database(settings.database_url))
    assert intake.process(gateway, 1) is False
    [record] = [r for r in caplog.records if "deferred" in r.getMessage()]
    assert record.exc_info is None


def test_production_without_secret_key_is_one_line(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from gateway import cli

    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/g.db")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    assert cli.main(["serve"]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err == "configuration error: Invalid setting SECRET_KEY: required when APP_ENV=production"
    )


def test_a_read_only_page_never_says_the_report_was_not_saved(tmp_path: Path) -> None:
    settings = channel_settings(
        database_url="postgresql+psycopg://nobody@127.0.0.1:9/none",
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        app_env="test",
        secret_key="test-secret-key-not-for-production",
    )
    gateway = Gateway.create(settings, db=Database(settings.database_url))
    with TestClient(create_app(settings, gateway), base_url="http://testserver") as client:
        page = client.get("/status/LPR-7K3M9U")
    assert page.status_code == 503 and int(page.headers["Retry-After"]) > 0
    assert "Layanan sedang gangguan" in page.text and "belum tersimpan" not in page.text


class _PoisonMailbox(Poller):
    """A polled source whose every fetch brings the same mail it cannot read (a raw NUL)."""

    name = "poison_mailbox"
    channel = "email"

    def __init__(self) -> None:
        self.polls = 0

    async def fetch(self, cursor: str | None) -> PollResult:
        self.polls += 1
        poison = Unreadable(raw="Subject: racun\r\n\r\n\x00 isi", reason="no From header")
        return PollResult([], f"uid:{self.polls}", unreadable=(poison,))


def test_a_pollers_unreadable_item_is_kept_raw_once(hostile_client) -> None:  # type: ignore[no-untyped-def]
    """Through the runner's own store step (the cursor moves in the same transaction): kept
    raw without the NUL PostgreSQL refuses, once however often it is met again."""
    _client, gateway = hostile_client
    source = _PoisonMailbox()
    runner = PollerRunner(gateway, source)
    first, second = asyncio.run(runner.run_once()), asyncio.run(runner.run_once())
    assert first.error is None and second.error is None
    [row] = _rows(gateway)
    assert row.status == InboundStatus.UNREADABLE and row.channel == "email"
    assert row.last_error == "no From header" and "\x00" not in row.raw_payload
    with gateway.db.read_session() as session:
        state = session.get(PollerState, "poison_mailbox")
        assert state is not None and state.cursor == "uid:2" and state.unreadable == 1


class _OverlongMailbox(Poller):
    """A source whose parser let through a value no column holds (a sender of 300 characters)
    beside a good message: what a poller forgot to clip must not stop the source."""

    name = "overlong_mailbox"
    channel = "email"

    def __init__(self) -> None:
        self.polls = 0

    async def fetch(self, cursor: str | None) -> PollResult:
        self.polls += 1
        now = datetime.now(UTC)
        bad = ChannelMessage(
            channel="email", external_id="<a@x>", sender="w" * 300, received_at=now, text="a"
        )
        good = ChannelMessage(
            channel="email",
            external_id="<b@x>",
            sender="warga@example.org",
            received_at=now,
            text="Lampu jalan mati",
        )
        raw = {"<a@x>": "From: " + "w" * 300 + "\r\n\r\na", "<b@x>": "From: warga"}
        return PollResult([bad, good], f"uid:{self.polls}", raw=raw)


def test_a_polled_item_the_database_refuses_is_kept_raw_and_the_source_moves_on(
    hostile_client,  # type: ignore[no-untyped-def]
) -> None:
    _client, gateway = hostile_client
    if not gateway.db.is_postgres:
        pytest.skip("SQLite enforces no column length: nothing is refused there")
    runner = PollerRunner(gateway, _OverlongMailbox())
    first = asyncio.run(runner.run_once())
    assert first.error is None and len(first.stored) == 1
    asyncio.run(runner.run_once())  # fetched again: neither a loop nor a second copy
    rows = _rows(gateway)
    assert [r.external_id for r in rows if r.status != InboundStatus.UNREADABLE] == ["<b@x>"]
    [kept] = [r for r in rows if r.status == InboundStatus.UNREADABLE]
    assert "w" * 300 in kept.raw_payload and "refused" in (kept.last_error or "")
    with gateway.db.read_session() as session:
        state = session.get(PollerState, "overlong_mailbox")
        assert state is not None and state.cursor == "uid:2" and state.consecutive_errors == 0
