"""`lapor-gateway send-fixture`: fixtures rewritten and signed so the real webhook route takes
them, against a live server (here: the app in a TestClient)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway import signing
from gateway.app import create_app
from gateway.context import Gateway
from gateway.db import Database
from gateway.models import InboundMessage
from tests.channels.cases import channel_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.mark.parametrize(
    ("channel", "fixture", "sender"),
    [
        ("twilio_sms", "twilio_sms/text.form", "+6281200001111"),
        ("twilio_whatsapp", "twilio_whatsapp/text.form", "+6281200002222"),
        ("telegram", "telegram/text.json", "5550009"),
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
        signed = ("x-twilio-signature", "X-Telegram-Bot-Api-Secret-Token")
        forged = {k: v + "x" if k in signed else v for k, v in headers.items()}
        assert client.post(f"/webhooks/{channel}", content=body, headers=forged).status_code == 403
    with gateway.db.read_session() as session:
        rows = session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
    assert [r.text for r in rows] == ["Jalan rusak di Leteh", "KIRIM"]
    assert {r.sender for r in rows} == {sender}
    if channel == "telegram":
        assert json.loads(rows[0].raw_payload)["message"]["text"] == "Jalan rusak di Leteh"
