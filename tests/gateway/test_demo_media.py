"""The demo (`make run`) end to end: the README's photo fixtures, sent with `send-fixture` to a
gateway served on a real 127.0.0.1 port in demo mode, reach the complaint page through the real
download paths (Twilio's authenticated media URL and CDN redirect, Telegram's getFile and file
URL) of the fake providers the demo mounts inside itself."""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from channels.fakes.server import FakeServer
from config.settings import Settings, load_settings
from gateway import cli
from gateway.admin import accounts as auth
from gateway.app import create_app
from gateway.context import Gateway
from gateway.dev import demo
from gateway.intake import attachments
from gateway.intake import inbound as intake
from gateway.store.db import Database
from gateway.store.models import Attachment, AttachmentStatus, Complaint, Role

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


class _LateApp:
    """An ASGI app set after the server is bound: the demo's settings need the server's URL."""

    app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@pytest.fixture
def demo_gateway(db: Database, db_url: str, tmp_path: Path) -> Iterator[tuple[Settings, Any]]:
    late = _LateApp()
    server = FakeServer(late)
    settings = load_settings(
        _env_file=None,
        app_env="development",
        database_url=db_url,
        data_dir=tmp_path / "var",
        public_base_url=server.base_url,
        scheduler_enabled=False,
        core_backend="manual",  # no simulator on :8100 beside the test
        secret_key="test-secret-key-not-for-production",
    )
    assert demo.is_demo(settings)
    late.app = create_app(settings)
    server.start()
    try:
        yield settings, late.app
    finally:
        server.stop()
        late.app.state.gateway.db.dispose()


def _send_fixture(settings: Settings, channel: str, name: str, **options: Any) -> None:
    args = argparse.Namespace(
        channel=channel,
        file=str(FIXTURES / channel / name),
        url=settings.public_base_url,
        fresh=True,
        text=options.get("text"),
        sender=options.get("sender"),
    )
    assert cli.cmd_send_fixture(settings, args) == 0


def _koordinator(settings: Settings, app: Any) -> TestClient:
    """A koordinator logged in to the demo's admin pages."""
    with app.state.gateway.db.session() as session:
        auth.create_user(session, "koor", "correct horse battery", role=Role.KOORDINATOR)
        session.commit()
    client = TestClient(app, base_url=settings.public_base_url)
    login = client.get("/admin/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login)
    assert token
    response = client.post(
        "/admin/login",
        data={
            "csrf_token": token.group(1),
            "username": "koor",
            "password": "correct horse battery",
            "next": "/admin",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    return client


def _settle(gateway: Gateway) -> None:
    """Wait for the webhook's background processing (the served app runs it after the ack)."""
    deadline = time.monotonic() + 20
    while intake.unprocessed_ids(gateway.db) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not intake.unprocessed_ids(gateway.db)


def _play(settings: Settings, gateway: Gateway, channel: str, first: str, texts: list[str]) -> None:
    _send_fixture(settings, channel, first)
    _settle(gateway)
    plain = "text.form" if channel.startswith("twilio") else "text.json"
    for text in texts:
        _send_fixture(settings, channel, plain, text=text)
        _settle(gateway)


@pytest.mark.parametrize(
    ("channel", "fixture", "texts"),
    [
        ("twilio_whatsapp", "image_caption.form", ["ya", "Di Jalan Pemuda Rembang", "kirim"]),
        ("telegram", "photo_caption.json", ["ya", "Di Jalan Pemuda Rembang", "kirim"]),
    ],
)
def test_the_readme_photo_fixtures_reach_the_complaint_page(
    demo_gateway: tuple[Settings, Any], channel: str, fixture: str, texts: list[str]
) -> None:
    settings, app = demo_gateway
    gateway: Gateway = app.state.gateway
    _play(settings, gateway, channel, fixture, texts)

    assert asyncio.run(attachments.fetch_pending(gateway)) == 1
    with gateway.db.read_session() as session:
        complaint = session.scalars(select(Complaint)).one()
        attachment = session.scalars(select(Attachment)).one()
        assert attachment.status == AttachmentStatus.STORED, attachment.error
        assert attachment.complaint_id == complaint.id
        assert attachment.content_type == "image/jpeg"

    client = _koordinator(settings, app)
    page = client.get(f"/admin/complaints/{complaint.tracking_code}").text
    assert f'src="/admin/attachments/{attachment.id}"' in page
    assert "belum diunduh" not in page
    photo = client.get(f"/admin/attachments/{attachment.id}")
    assert photo.status_code == 200 and photo.content[:2] == b"\xff\xd8"  # a JPEG


def test_meta_channels_in_the_demo_comment_dm_and_photo(demo_gateway: tuple[Settings, Any]) -> None:
    """`make run` with Meta's fixtures, as the README plays them: an Instagram comment gets the
    neutral public reply and the private reply (the demo's fake reads the comment's author from
    the gateway's record), the DMs of the same sender continue to a complaint, a WhatsApp Cloud
    photo is fetched through the media id with the bearer token; `/_demo` shows all of it."""
    settings, app = demo_gateway
    gateway: Gateway = app.state.gateway
    commenter = "6390012345678902"  # the author in tests/fixtures/instagram/comment.json
    _send_fixture(settings, "instagram", "comment.json")
    _settle(gateway)
    for text in ("ya", "kirim"):
        _send_fixture(settings, "instagram", "text.json", text=text, sender=commenter)
        _settle(gateway)
    _play(
        settings,
        gateway,
        "whatsapp_cloud",
        "image.json",
        ["ya", "Tiang listrik miring di Jl. Pemuda Rembang", "kirim"],
    )
    asyncio.run(attachments.fetch_pending(gateway))
    asyncio.run(gateway.dispatcher("demo-test").drain())
    with gateway.db.read_session() as session:
        complaints = session.scalars(select(Complaint).order_by(Complaint.id)).all()
        assert [c.origin_channel for c in complaints] == ["instagram", "whatsapp_cloud"]
        assert complaints[0].reply_address == commenter
        attachment = session.scalars(select(Attachment)).one()
        assert attachment.status == AttachmentStatus.STORED, attachment.error
        assert attachment.complaint_id == complaints[1].id
    page = TestClient(app, base_url=settings.public_base_url).get("/_demo").text
    assert "balasan publik di bawah komentar" in page
    assert "Terima kasih, sudah kami terima" in page
    assert "balasan pribadi atas komentar" in page
    assert complaints[0].tracking_code in page and complaints[1].tracking_code in page
    assert "WhatsApp Cloud" in page and "+6281234560021" in page
    # The complaint page: the comment is marked public, with the post it is under.
    admin = _koordinator(settings, app)
    complaint_page = admin.get(f"/admin/complaints/{complaints[0].tracking_code}").text
    assert "Komentar publik di bawah postingan" in complaint_page
    assert f'href="{demo.DEMO_INSTAGRAM_PERMALINK}"' in complaint_page
