"""A photo that could not be downloaded is shown as failed, with the reason, and a koordinator
can try again (a CSRF-protected button); it never says "not downloaded yet" for ever."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from config.settings import Settings, load_settings
from gateway.context import Gateway
from gateway.intake import attachments
from gateway.store.models import Attachment, AttachmentStatus, Status
from tests.conftest import RunningTwilio
from tests.gateway.admin.conftest import Admin
from tests.gateway.factories import make_complaint
from tests.images import image_bytes, same_picture


@pytest.fixture
def settings(tmp_path: Path, db_url: str, twilio: RunningTwilio) -> Settings:
    """The core's media host is the fake file server here: a core attachment is fetched only
    from the core's own hosts (CORE_MEDIA_HOSTS), never from any URL a core answer names."""
    return load_settings(
        app_env="test",
        database_url=db_url,
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        secret_key="test-secret-key-not-for-production",
        core_media_hosts=[twilio.url.removeprefix("http://")],
        _env_file=None,
    )


def _failed_photo(gateway: Gateway, url: str) -> tuple[str, int]:
    complaint = make_complaint(gateway.db)
    with gateway.db.session() as session:
        attachment = Attachment(
            complaint_id=complaint.id,
            source="core",
            kind="photo",
            content_type="image/jpeg",
            original_url=url,
            status=AttachmentStatus.FAILED,
            error="Twilio media ME9: provider answered HTTP 404",
            attempts=attachments.MAX_ATTEMPTS,  # given up
        )
        session.add(attachment)
        session.commit()
        return complaint.tracking_code, attachment.id  # type: ignore[return-value]


def _attachment(gateway: Gateway, attachment_id: int) -> Attachment:
    with gateway.db.read_session() as session:
        row = session.get(Attachment, attachment_id)
        assert row is not None
        return row


def test_a_failed_download_shows_why_and_can_be_retried(
    clients: dict[str, Admin], gateway: Gateway, twilio: RunningTwilio
) -> None:
    photo = image_bytes("JPEG")
    twilio.fake.add_media("MM9", "ME9", photo, "image/jpeg")
    code, attachment_id = _failed_photo(gateway, f"{twilio.url}/cdn/ME9")
    koor = clients["koor"]

    page = koor.get(f"/admin/complaints/{code}").text
    assert "belum diunduh" not in page
    assert "Foto gagal diunduh" in page and "provider answered HTTP 404" in page
    assert f'action="/admin/attachments/{attachment_id}/retry"' in page

    # No CSRF token: refused, nothing changes.
    forged = koor.client.post(f"/admin/attachments/{attachment_id}/retry", follow_redirects=False)
    assert forged.status_code == 403
    assert _attachment(gateway, attachment_id).status == AttachmentStatus.FAILED

    response = koor.post(f"/admin/attachments/{attachment_id}/retry")
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/complaints/{code}"
    stored = _attachment(gateway, attachment_id)
    assert stored.status == AttachmentStatus.STORED and stored.error is None
    assert same_picture(gateway.files.read(stored.storage_key or ""), photo)
    page = koor.get(f"/admin/complaints/{code}").text
    assert "Foto berhasil diunduh." in page  # the outcome, at once
    assert f'src="/admin/attachments/{attachment_id}"' in page
    assert "Foto gagal diunduh" not in page


def test_a_retry_that_fails_again_says_so(
    clients: dict[str, Admin], gateway: Gateway, twilio: RunningTwilio
) -> None:
    _, attachment_id = _failed_photo(gateway, f"{twilio.url}/cdn/ME404")
    response = clients["koor"].post(
        f"/admin/attachments/{attachment_id}/retry", follow_redirects=True
    )
    assert response.status_code == 200
    row = _attachment(gateway, attachment_id)
    assert row.status == AttachmentStatus.FAILED and "404" in (row.error or "")
    assert "Foto masih gagal diunduh" in response.text
    assert "Foto gagal diunduh" in response.text and "404" in response.text


def test_only_a_koordinator_may_retry(
    clients: dict[str, Admin], gateway: Gateway, twilio: RunningTwilio
) -> None:
    _, attachment_id = _failed_photo(gateway, f"{twilio.url}/cdn/ME9")
    for role in ("pupr", "lihat"):
        response = clients[role].post(f"/admin/attachments/{attachment_id}/retry")
        assert response.status_code in (403, 404), role
    assert _attachment(gateway, attachment_id).status == AttachmentStatus.FAILED
    with gateway.db.read_session() as session:
        assert session.scalar(select(Attachment.attempts)) == attachments.MAX_ATTEMPTS


def test_a_pending_download_says_it_is_on_its_way(
    clients: dict[str, Admin], gateway: Gateway
) -> None:
    complaint = make_complaint(gateway.db, Status.RECEIVED)
    with gateway.db.session() as session:
        session.add(
            Attachment(
                complaint_id=complaint.id,
                source="core",
                original_url="http://127.0.0.1:1/x.jpg",
                status=AttachmentStatus.PENDING,
            )
        )
        session.commit()
    page = clients["koor"].get(f"/admin/complaints/{complaint.tracking_code}").text
    assert "Foto sedang diunduh" in page and "belum diunduh" not in page
