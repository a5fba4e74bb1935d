"""Issue 13 defect 3, the gateway's side: the photos in a core answer are fetched only from the
core's own hosts (CORE_BASE_URL's, CORE_MEDIA_HOSTS), redirects only to allowed hosts, never
from a private or loopback address in production, and what an admin sees of a failure is
generic (no address, no port, no exception)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from channels.fakes.server import serving
from config.settings import load_settings
from forwarder.base import CoreAttachment, CoreEvent, CoreEventKind
from gateway.context import Gateway
from gateway.core import sync as core_sync
from gateway.intake import attachments
from gateway.store.db import Database
from gateway.store.models import Attachment, AttachmentStatus, OutboxItem, Status
from tests.gateway.factories import make_complaint
from tests.images import image_bytes

INTERNAL = "http://169.254.169.254/latest/meta-data/iam"


def _files_app(target: str | None = None) -> FastAPI:
    app = FastAPI()

    @app.get("/files/{name}")
    def file(name: str) -> Response:
        return Response(image_bytes(), media_type="image/jpeg")

    @app.get("/jump")
    def jump() -> Response:
        return RedirectResponse(target or INTERNAL, status_code=302)

    return app


def _gateway(db: Database, db_url: str, tmp_path: Path, core_url: str, **more: object) -> Gateway:
    settings = load_settings(
        _env_file=None,
        app_env="test",
        database_url=db_url,
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        secret_key="test-secret-key-not-for-production",
        core_backend="rest",
        core_base_url=core_url,
        **more,
    )
    return Gateway.create(settings, db=db)


def _answer(gateway: Gateway, urls: list[str]) -> list[Attachment]:
    complaint = make_complaint(gateway.db, Status.DISPOSED, core_ref="C-1")
    event = CoreEvent(
        event_id="e-1",
        core_id="C-1",
        kind=CoreEventKind.ANSWER,
        occurred_at=datetime(2026, 11, 20, 9, tzinfo=UTC),
        text="Sudah diperbaiki.",
        attachments=tuple(
            CoreAttachment(url, f"f{i}.jpg", "image/jpeg") for i, url in enumerate(urls)
        ),
    )
    core_sync.apply_event(gateway, event, "push")
    with gateway.db.read_session() as session:
        rows = list(
            session.scalars(
                select(Attachment)
                .where(Attachment.complaint_id == complaint.id)
                .order_by(Attachment.id)
            )
        )
        outbox = list(session.scalars(select(OutboxItem)))
    forwarded = [m.get("url") for item in outbox for m in item.payload.get("media", [])]
    assert INTERNAL not in forwarded, "a refused URL is passed on to nobody"
    return rows


def test_a_core_attachment_outside_the_core_hosts_is_never_fetched(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    with serving(_files_app()) as core_url:
        gateway = _gateway(db, db_url, tmp_path, core_url)
        good, internal, elsewhere = _answer(
            gateway, [f"{core_url}/files/1.jpg", INTERNAL, "https://evil.example/x.jpg"]
        )
        assert internal.status == AttachmentStatus.FAILED and attachments.gives_up(internal)
        assert elsewhere.status == AttachmentStatus.FAILED and attachments.gives_up(elsewhere)
        for refused in (internal, elsewhere):
            assert "169.254" not in (refused.error or "") and "evil" not in (refused.error or "")
            assert refused.error
        assert asyncio.run(attachments.fetch_pending(gateway)) == 1
    with gateway.db.read_session() as session:
        assert session.get(Attachment, good.id).status == AttachmentStatus.STORED  # type: ignore[union-attr]


def test_a_core_redirect_to_another_host_is_not_followed(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    with serving(_files_app()) as core_url:
        gateway = _gateway(db, db_url, tmp_path, core_url)
        [jump] = _answer(gateway, [f"{core_url}/jump"])
        assert jump.status == AttachmentStatus.PENDING  # the core's own host: allowed to try
        assert asyncio.run(attachments.fetch_pending(gateway)) == 0
    with gateway.db.read_session() as session:
        row = session.get(Attachment, jump.id)
        assert row is not None and row.status == AttachmentStatus.FAILED
        assert row.error and "169.254" not in row.error and "Errno" not in row.error


@pytest.mark.parametrize("allow_private", [False])
def test_in_production_a_core_media_host_on_a_private_address_is_refused(
    db: Database, db_url: str, tmp_path: Path, allow_private: bool
) -> None:
    """CORE_MEDIA_HOSTS names a host that resolves to a loopback address: refused when
    connecting (production), with a generic reason. CORE_BASE_URL's own host stays trusted."""
    with serving(_files_app()) as files_url:
        port = files_url.rsplit(":", 1)[1]
        gateway = _gateway(
            db,
            db_url,
            tmp_path,
            "http://127.0.0.1:9",  # the core API itself: elsewhere
            core_media_hosts=[f"localhost:{port}"],
            media_allow_private_addresses=allow_private,
        )
        [photo] = _answer(gateway, [f"http://localhost:{port}/files/1.jpg"])
        assert photo.status == AttachmentStatus.PENDING
        assert asyncio.run(attachments.fetch_pending(gateway)) == 0
    with gateway.db.read_session() as session:
        row = session.get(Attachment, photo.id)
        assert row is not None and row.status == AttachmentStatus.FAILED
        assert row.error and "127.0.0.1" not in row.error and port not in row.error
