"""Photos sent over WhatsApp are fetched after the complaint exists (failures kept and retried),
and a reply the provider refuses for good is shown on the complaint for the admin."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from channels.base import Media
from gateway.context import Gateway
from gateway.intake import attachments
from gateway.jobs.scheduler import worker_id
from gateway.store.db import Database
from gateway.store.models import Attachment, AttachmentStatus, Complaint, OutboxItem, OutboxStatus
from tests.conftest import RunningTelegram, RunningTwilio
from tests.gateway.chat import Chat
from tests.gateway.core_env import make_gateway
from tests.images import image_bytes, private_traces, same_picture


@pytest.fixture
def live(
    db: Database, db_url: str, tmp_path: Path, twilio: RunningTwilio, telegram: RunningTelegram
) -> Iterator[tuple[Gateway, RunningTwilio]]:
    yield make_gateway(db, db_url, tmp_path, "http://127.0.0.1:1", twilio, telegram), twilio


def _whatsapp_complaint(
    gateway: Gateway, media: list[Media], channel: str = "twilio_whatsapp"
) -> Complaint:
    sender = "+6281233330001" if channel == "twilio_whatsapp" else "5550001"
    chat = Chat(gateway, channel=channel, sender=sender)
    chat.send("halo")
    chat.send("ya")
    chat.send("Tumpukan sampah di depan Pasar Kragan sudah seminggu", media=media)
    chat.send("kirim")
    with gateway.db.read_session() as session:
        complaint = session.scalar(select(Complaint))
        assert complaint is not None
        return complaint


def _attachments(gateway: Gateway) -> list[Attachment]:
    with gateway.db.read_session() as session:
        return list(session.scalars(select(Attachment).order_by(Attachment.id)).all())


def test_whatsapp_photos_are_fetched_and_stored(live) -> None:  # type: ignore[no-untyped-def]
    gateway, twilio = live
    photo = image_bytes("JPEG")
    url = twilio.fake.add_media("MM1", "ME1", photo, "image/jpeg")
    missing = url.replace("ME1", "ME404")
    _whatsapp_complaint(
        gateway,
        [Media(url=url, content_type="image/jpeg"), Media(url=missing, content_type="image/jpeg")],
    )
    assert [a.status for a in _attachments(gateway)] == ["pending", "pending"]
    assert asyncio.run(attachments.fetch_pending(gateway)) == 1
    stored, failed = _attachments(gateway)
    assert stored.status == AttachmentStatus.STORED
    kept = gateway.files.read(stored.storage_key or "")
    # Stored cleaned (decoded, no metadata, encoded again), never the downloaded bytes.
    assert kept.startswith(b"\xff\xd8") and private_traces(kept) == [] and kept != photo
    assert failed.status == AttachmentStatus.FAILED and failed.error
    assert failed.complaint_id == stored.complaint_id  # the complaint is kept either way


def test_telegram_photos_are_fetched_by_their_file_id(live, telegram: RunningTelegram) -> None:  # type: ignore[no-untyped-def]
    """The file id arrives in the update; getFile then the file URL bring the bytes (the
    attachment used to be asked for its storage key instead: "no file id")."""
    gateway, _ = live
    photo = image_bytes("JPEG")
    telegram.fake.add_file("AgACAgUAAxkBAAIBZ2-1280", photo, "photos/file_7.jpg")
    _whatsapp_complaint(
        gateway,
        [Media(ref="AgACAgUAAxkBAAIBZ2-1280", content_type="image/jpeg", size=len(photo))],
        channel="telegram",
    )
    [pending] = _attachments(gateway)
    assert pending.status == AttachmentStatus.PENDING
    assert asyncio.run(attachments.fetch_pending(gateway)) == 1
    [stored] = _attachments(gateway)
    assert stored.status == AttachmentStatus.STORED, stored.error
    assert same_picture(gateway.files.read(stored.storage_key or ""), photo)
    assert telegram.fake.file_downloads == 1


def test_oversized_media_fails_for_good(live) -> None:  # type: ignore[no-untyped-def]
    gateway, twilio = live
    gateway.settings = gateway.settings.model_copy(update={"upload_max_bytes": 2048})
    url = twilio.fake.add_media("MM2", "ME2", image_bytes("PNG", (600, 600)), "image/png")
    _whatsapp_complaint(gateway, [Media(url=url, content_type="image/png")])
    asyncio.run(attachments.fetch_pending(gateway))
    [attachment] = _attachments(gateway)
    assert attachment.status == AttachmentStatus.FAILED
    assert attachment.attempts == attachments.MAX_ATTEMPTS  # not retried: it cannot get smaller
    assert asyncio.run(attachments.fetch_pending(gateway)) == 0


def test_a_permanently_refused_reply_is_shown_on_the_complaint(live) -> None:  # type: ignore[no-untyped-def]
    gateway, twilio = live
    complaint = _whatsapp_complaint(gateway, [])
    twilio.fake.fail(400, 21211, "Invalid 'To' Phone Number", times=None)
    chat = Chat(gateway, channel="twilio_whatsapp", sender="+6281233330001")
    chat.send("tambahan: baunya makin parah")
    asyncio.run(gateway.dispatcher(worker_id()).drain())
    with gateway.db.read_session() as session:
        row = session.get(Complaint, complaint.id)
        dead = session.scalars(
            select(OutboxItem).where(OutboxItem.status == OutboxStatus.DEAD)
        ).all()
    assert dead and all("21211" in (d.last_error or "") for d in dead)
    assert row is not None and row.delivery_problem and "21211" in row.delivery_problem
