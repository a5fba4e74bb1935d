"""`lapor-gateway send-fixture`: fixtures rewritten and signed so the real webhook route takes
them, against a live server (here: the app in a TestClient)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from channels.base import PayloadError, RawRequest
from channels.registry import build_channels
from gateway.app import create_app
from gateway.context import Gateway
from gateway.dev import signing
from gateway.store.db import Database
from gateway.store.models import Complaint, InboundMessage
from tests.channels.cases import channel_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.mark.parametrize(
    ("channel", "fixture", "sender"),
    [
        ("twilio_sms", "twilio_sms/text.form", "+6281200001111"),
        ("twilio_whatsapp", "twilio_whatsapp/text.form", "+6281200002222"),
        ("telegram", "telegram/text.json", "5550009"),
        ("whatsapp_cloud", "whatsapp_cloud/text.json", "+6281200003333"),
        ("instagram", "instagram/text.json", "6390012345670001"),
        ("instagram", "instagram/comment.json", "6390012345670002"),
        ("facebook", "facebook/text.json", "25000000000070001"),
        ("facebook", "facebook/comment.json", "25000000000070002"),
    ],
)
def test_rewritten_fixtures_are_signed_and_stored(
    db: Database, db_url: str, tmp_path: Path, channel: str, fixture: str, sender: str
) -> None:
    settings = channel_settings(
        database_url=db_url,
        data_dir=tmp_path,
        scheduler_enabled=False,
        app_env="test",
        secret_key="test-secret-key-not-for-production",
    )
    gateway = Gateway.create(settings, db=db)
    gateway.processors = {name: (lambda *_: None) for name in gateway.processors}
    original = (FIXTURES / fixture).read_bytes()
    with TestClient(create_app(settings, gateway), base_url="http://testserver") as client:
        for text in ("Jalan rusak di Leteh", "KIRIM"):
            body = signing.rewrite(channel, original, text=text, sender=sender)
            url = f"{settings.public_base_url}/webhooks/{channel}"
            headers = signing.signed_headers(settings, channel, url, body)
            response = client.post(f"/webhooks/{channel}", content=body, headers=headers)
            assert response.status_code < 300, response.text
        signed = ("x-twilio-signature", "X-Telegram-Bot-Api-Secret-Token", "X-Hub-Signature-256")
        forged = {k: v + "x" if k in signed else v for k, v in headers.items()}
        assert client.post(f"/webhooks/{channel}", content=body, headers=forged).status_code == 403
    with gateway.db.read_session() as session:
        rows = session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
    assert [r.text for r in rows] == ["Jalan rusak di Leteh", "KIRIM"]
    assert {r.sender for r in rows} == {sender}
    if channel == "telegram":
        assert json.loads(rows[0].raw_payload)["message"]["text"] == "Jalan rusak di Leteh"


def _now() -> datetime:
    """Now, to the second (a callback query carries no date: the channel stamps it on arrival,
    so the test compares with the time it runs, not the time it was collected)."""
    return datetime.now(UTC).replace(microsecond=0)


@pytest.mark.parametrize(
    "fixture", sorted(p.name for p in (FIXTURES / "telegram").glob("*.json")), ids=str
)
def test_a_fresh_telegram_update_is_sent_now(fixture: str) -> None:
    """`send-fixture --fresh` with a 2024 fixture: the message is dated now, not 2024 (the
    complaint showed as 738 days overdue); an edit keeps its distance to the original."""
    now = _now()
    original = json.loads((FIXTURES / "telegram" / fixture).read_bytes())
    body = signing.rewrite(
        "telegram", (FIXTURES / "telegram" / fixture).read_bytes(), fresh=True, now=now
    )
    data = json.loads(body)
    times = dict(_times(data))
    before = dict(_times(original))
    if before:  # an inline button's callback carries no date: stamped on arrival
        assert max(times.values()) == int(now.timestamp())
        assert {k: v - before[k] for k, v in times.items()} == dict.fromkeys(
            times, int(now.timestamp()) - max(before.values())
        )
    channel = build_channels(channel_settings())["telegram"]
    try:
        messages = channel.parse(RawRequest(body=body, headers={}, url=""))
    except PayloadError:
        return  # a fixture of a shape we keep raw (unreadable): its dates moved all the same
    for message in messages:
        assert abs(message.received_at - now) < timedelta(minutes=10)


def _times(node: object, path: str = "") -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}"
            if key in ("date", "edit_date") and isinstance(value, int) and value > 0:
                found.append((here, value))
            else:
                found.extend(_times(value, here))
    return found


def test_a_fresh_twilio_status_callback_carries_the_time_now() -> None:
    now = _now()
    body = (FIXTURES / "twilio_sms" / "status_delivered.form").read_bytes()
    fields = dict(parse_qsl(signing.rewrite("twilio_sms", body, fresh=True, now=now).decode()))
    assert fields["RawDlrDoneDate"] == now.strftime("%y%m%d%H%M")
    assert fields["MessageSid"] != dict(parse_qsl(body.decode()))["MessageSid"]


def test_a_conversation_played_from_the_telegram_fixture_is_not_overdue(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    """The README's walkthrough with the Telegram fixture: consent, the complaint, KIRIM. The
    complaint is received today and its verification deadline lies ahead."""
    settings = channel_settings(
        database_url=db_url,
        data_dir=tmp_path,
        scheduler_enabled=False,
        app_env="test",
        secret_key="test-secret-key-not-for-production",
    )
    gateway = Gateway.create(settings, db=db)
    original = (FIXTURES / "telegram" / "text.json").read_bytes()
    started = datetime.now(UTC)
    with TestClient(create_app(settings, gateway), base_url="http://testserver") as client:
        for text in (None, "ya", "Jalan di Desa Sumbergirang Lasem berlubang besar", "KIRIM"):
            body = signing.rewrite("telegram", original, fresh=True, text=text)
            url = f"{settings.public_base_url}/webhooks/telegram"
            headers = signing.signed_headers(settings, "telegram", url, body)
            assert (
                client.post("/webhooks/telegram", content=body, headers=headers).status_code < 300
            )
    with gateway.db.read_session() as session:
        complaint = session.scalars(select(Complaint)).one()
    received = complaint.received_at.replace(tzinfo=complaint.received_at.tzinfo or UTC)
    assert received >= started - timedelta(minutes=1)
    assert complaint.verify_due_at is not None
    due = complaint.verify_due_at.replace(tzinfo=complaint.verify_due_at.tzinfo or UTC)
    assert due > started


@pytest.mark.parametrize(
    ("channel", "fixture"),
    [
        ("whatsapp_cloud", "image.json"),
        ("instagram", "text.json"),
        ("instagram", "comment.json"),
        ("facebook", "text.json"),
        ("facebook", "comment.json"),
    ],
)
def test_a_fresh_meta_message_gets_a_new_id_and_the_time_now(channel: str, fixture: str) -> None:
    """`send-fixture --fresh` with Meta's fixtures: a new message or comment id (a retry would
    be stored once) and the time now, read back by the channel's own parser."""
    now = _now()
    original = (FIXTURES / channel / fixture).read_bytes()
    body = signing.rewrite(channel, original, fresh=True, now=now)
    parse = build_channels(channel_settings())[channel].parse
    [before] = parse(RawRequest(body=original, headers={}, url=""))
    [after] = parse(RawRequest(body=body, headers={}, url=""))
    assert after.external_id != before.external_id
    assert (after.sender, after.text, after.public) == (before.sender, before.text, before.public)
    assert abs(after.received_at - now) < timedelta(seconds=2)
