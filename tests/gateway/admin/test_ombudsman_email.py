"""The Ombudsman package by e-mail (issue 18's optional e-mail, over issue 16's SMTP): the same
masked XLSX as the download, attached to one mail per press of the button, sent through a real
SMTP server (aiosmtpd on 127.0.0.1), audited; refused for a bad address or without SMTP."""

from __future__ import annotations

import asyncio
import email
import email.policy
import io
import re
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from config.settings import Settings
from gateway.context import Gateway
from gateway.jobs.scheduler import worker_id
from gateway.store.models import AuditEntry, Reporter, Status
from tests.channels.conftest import RunningSmtp
from tests.gateway.admin.conftest import Admin, Directory, csrf_of
from tests.gateway.factories import make_complaint

OFFICE = "jateng@ombudsman.test"


@pytest.fixture
def settings(settings: Settings, smtp_server: RunningSmtp) -> Settings:
    return settings.model_copy(
        update={
            "email_address": "pengaduan@lapor.test",
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_server.port,
            "smtp_security": "none",
            "ombudsman_email": OFFICE,
        }
    )


def _escalated(gateway: Gateway, directory: Directory) -> str:
    with gateway.db.session() as session:
        reporter = Reporter(display_name="Siti Aminah", phone="+6281234567890")
        session.add(reporter)
        session.commit()
        reporter_id = reporter.id
    late = make_complaint(
        gateway.db,
        Status.DISPOSED,
        agency_id=directory.dpupr,
        reporter_id=reporter_id,
        title="Jalan rusak Lasem",
        masked_text="Jalan rusak, hubungi 0812 3456 7890",
        category="pengaduan",
        disposed_at=datetime(2026, 10, 1, 3, 0, tzinfo=UTC),
        answer_due_at=datetime(2026, 10, 21, 9, 0, tzinfo=UTC),
        escalated=True,
        escalated_at=datetime(2026, 10, 22, 1, 0, tzinfo=UTC),
    )
    return late.tracking_code


def _send(koor: Admin, address: str) -> str:
    page = koor.get("/admin/ombudsman?month=2026-10").text
    send_id = re.search(r'name="send_id" value="([0-9a-f]+)"', page)
    assert send_id, "no e-mail form on the page"
    data = {"csrf_token": csrf_of(page), "address": address, "send_id": send_id.group(1)}
    for _ in range(2):  # a double click is one mail
        response = koor.client.post(
            "/admin/ombudsman/2026-10/email", data=data, follow_redirects=False
        )
        assert response.status_code == 303
    return koor.get(response.headers["location"]).text


def test_the_package_goes_by_email_with_its_xlsx(
    clients: dict[str, Admin],
    gateway: Gateway,
    directory: Directory,
    smtp_server: RunningSmtp,
) -> None:
    code = _escalated(gateway, directory)
    koor = clients["koor"]
    assert f'value="{OFFICE}"' in koor.get("/admin/ombudsman?month=2026-10").text
    page = _send(koor, OFFICE)
    assert f"diantrekan untuk dikirim ke {OFFICE}" in page
    assert asyncio.run(gateway.dispatcher(worker_id()).drain()) == 1
    [envelope] = smtp_server.sink.received
    mail = email.message_from_bytes(envelope.original_content, policy=email.policy.default)  # type: ignore[arg-type]
    assert mail["To"] == OFFICE and "2026-10" in mail["Subject"]
    [attachment] = list(mail.iter_attachments())  # type: ignore[attr-defined]
    assert attachment.get_filename() == "ombudsman-2026-10.xlsx"
    book = load_workbook(io.BytesIO(attachment.get_content()))
    rows = list(book.worksheets[0].iter_rows(min_row=3, values_only=True))
    assert [r[0] for r in rows] == [code]
    raw = envelope.original_content.decode("utf-8", "replace")  # type: ignore[union-attr]
    flat = " ".join(str(v) for r in rows for v in r)
    for secret in ("Siti Aminah", "+6281234567890", "0812 3456 7890"):
        assert secret not in flat and secret not in raw
    with gateway.db.read_session() as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.area == "ombudsman")).all()
    assert entry.action == "emailed" and entry.detail["to"] == OFFICE
    assert "Paket Ombudsman" in koor.get("/admin/audit").text


def test_a_bad_address_is_refused_and_nothing_is_queued(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    _escalated(gateway, directory)
    page = _send(clients["koor"], "bukan-alamat")
    assert "Alamat email tidak sah" in page
    assert asyncio.run(gateway.dispatcher(worker_id()).drain()) == 0


def test_only_a_koordinator_sends_it(clients: dict[str, Admin]) -> None:
    response = clients["pupr"].post("/admin/ombudsman/2026-10/email", {"address": OFFICE})
    assert response.status_code in (303, 403)
    assert "/admin/ombudsman" not in response.headers.get("location", "")
