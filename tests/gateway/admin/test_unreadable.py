"""A provider request signed correctly but unreadable is kept raw and acknowledged, and a
koordinator sees it (`/admin/unreadable`, a banner on the inbox) with its payload, reads it again
once the parser knows the shape, or marks it done."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from config.settings import Settings
from gateway.context import Gateway
from gateway.intake import inbound as intake
from gateway.store.models import InboundMessage, InboundStatus, OutboxItem
from tests.channels.cases import TEST_TELEGRAM_SECRET, channel_settings, fixture_bytes
from tests.gateway.admin.conftest import Admin

SECRET = {"x-telegram-bot-api-secret-token": TEST_TELEGRAM_SECRET}


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """The admin fixtures' settings, with the test channels' credentials."""
    return channel_settings(
        app_env="test",
        public_base_url="http://127.0.0.1:8000",  # the test clients' (cookies not Secure)
        database_url=db_url,
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        secret_key="test-secret-key-not-for-production",
    )


def _rows(gateway: Gateway) -> list[InboundMessage]:
    with gateway.db.read_session() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all())


GARBLED = json.dumps(
    {"update_id": 77, "message": {"message_id": 1, "text": "<script>alert(1)</script> halo"}}
).encode()


def test_an_unreadable_update_is_kept_and_shown_to_the_koordinator(
    clients: dict[str, Admin], gateway: Gateway
) -> None:
    anonymous = clients["anonymous"].client
    response = anonymous.post(
        "/webhooks/telegram",
        content=GARBLED,
        headers={"content-type": "application/json", **SECRET},
    )
    assert response.status_code == 200
    [row] = _rows(gateway)
    assert row.status == InboundStatus.UNREADABLE and row.raw_payload == GARBLED.decode()

    koor = clients["koor"]
    inbox = koor.get("/admin").text
    assert "1 kiriman penyedia tidak terbaca" in inbox and 'href="/admin/unreadable"' in inbox
    page = koor.get("/admin/unreadable").text
    assert f'id="unreadable-{row.id}"' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "not a Telegram update" in page  # the reason

    assert "kiriman penyedia tidak terbaca" not in clients["pupr"].get("/admin").text
    assert clients["pupr"].get("/admin/unreadable").status_code == 403


def test_reading_again_after_an_upgrade_feeds_the_conversation(
    clients: dict[str, Admin], gateway: Gateway
) -> None:
    """A payload kept by an older parser (here: a reply to a sticker of the old shape, which
    this parser reads) becomes a message once read again, and the raw row leaves the list."""
    body = fixture_bytes("telegram", "reply_to_old_sticker.json")
    kept = intake.keep_unreadable(
        gateway.db,
        "telegram",
        body,
        content_type="application/json",
        reason="not a Telegram update: TypeError: Sticker.__init__() missing 'is_animated'",
    )
    koor = clients["koor"]
    assert koor.client.post(f"/admin/unreadable/{kept.inbound_id}/read").status_code == 403
    response = koor.post(f"/admin/unreadable/{kept.inbound_id}/read", follow_redirects=True)
    assert response.status_code == 200
    assert "Kiriman terbaca: 1 pesan" in response.text
    assert f'id="unreadable-{kept.inbound_id}"' not in response.text
    raw, message = _rows(gateway)
    assert raw.status == InboundStatus.IGNORED and raw.raw_payload == body.decode()
    assert message.external_id == "810000016" and message.status == InboundStatus.PROCESSED
    with gateway.db.read_session() as session:
        reply = session.scalar(select(OutboxItem).where(OutboxItem.recipient == "111222333"))
    assert reply is not None  # the bot answered (it asks for consent first)


def test_still_unreadable_stays_and_says_why_then_can_be_dismissed(
    clients: dict[str, Admin], gateway: Gateway
) -> None:
    kept = intake.keep_unreadable(
        gateway.db, "telegram", b"[1, 2]", content_type="application/json", reason="old reason"
    )
    koor = clients["koor"]
    response = koor.post(f"/admin/unreadable/{kept.inbound_id}/read", follow_redirects=True)
    assert "Masih tidak terbaca" in response.text and "no integer update_id" in response.text
    [row] = _rows(gateway)
    assert row.status == InboundStatus.UNREADABLE and "update_id" in (row.last_error or "")

    response = koor.post(f"/admin/unreadable/{kept.inbound_id}/dismiss", follow_redirects=True)
    assert "Kiriman ditandai selesai" in response.text
    assert "Tidak ada kiriman yang tak terbaca" in response.text
    [row] = _rows(gateway)
    assert row.status == InboundStatus.IGNORED and row.raw_payload == "[1, 2]"
    assert "kiriman penyedia tidak terbaca" not in koor.get("/admin").text
