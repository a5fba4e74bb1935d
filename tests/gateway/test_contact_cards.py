"""Issue 13 §13 (gateway side): a WhatsApp contact card shared through Twilio keeps its phone
number — after the ack, the card is fetched through the channel and the number stored on the
inbound row before the conversation reads it."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.app import create_app
from gateway.context import Gateway
from gateway.store.db import Database
from gateway.store.models import InboundMessage
from tests.channels.cases import channel_settings, route_request, twilio_whatsapp_cases
from tests.conftest import RunningTwilio

VCARD = (
    b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Wibowo;Slamet;;;\r\nFN:Pak RT Slamet\r\n"
    b"item1.TEL;waid=6281234567001:+62 812-3456-7001\r\nitem1.X-ABLabel:Ponsel\r\n"
    b"END:VCARD\r\n"
)


def test_a_contact_card_through_the_webhook_keeps_its_number(
    db: Database, db_url: str, tmp_path: Path, twilio: RunningTwilio
) -> None:
    settings = channel_settings(
        database_url=db_url,
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        app_env="test",
        secret_key="test-secret-key-not-for-production",
        twilio_api_base_url=twilio.url,
    )
    gateway = Gateway.create(settings, db=db)
    seen: list[str | None] = []
    # What the conversation would read when it runs (after the card was resolved).
    gateway.processors = {
        name: (lambda gw, session, row: seen.append(row.contact_phone))
        for name in gateway.processors
    }
    twilio.fake.add_media(
        "MM0000000000000000000000000000c008",
        "ME00000000000000000000000000000008",
        VCARD,
        "text/vcard",
    )
    case = next(c for c in twilio_whatsapp_cases() if c.fixture == "contact_card.form")
    path, body, headers = route_request(case)
    with TestClient(create_app(settings, gateway), base_url="http://testserver") as client:
        assert client.post(path, content=body, headers=headers).status_code < 300
    with gateway.db.read_session() as session:
        row = session.scalars(select(InboundMessage)).one()
    assert row.contact_phone == "+6281234567001"
    assert row.extra["contact_name"] == "Pak RT Slamet"
    assert seen == ["+6281234567001"]
