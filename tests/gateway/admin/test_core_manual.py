"""CORE_BACKEND=manual: the admin pastes the report into LAPOR!, types back its tracking id,
and types in the answer read there, which reaches the reporter like any answer."""

from __future__ import annotations

import asyncio
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.app import create_app
from gateway.complaints import actions, workflow
from gateway.context import Gateway
from gateway.core import sync as core_sync
from gateway.jobs.scheduler import worker_id
from gateway.store.models import Complaint, ComplaintEvent, OutboxItem, Status
from tests.gateway.admin.conftest import Accounts, Admin, Directory, login
from tests.gateway.factories import make_complaint


@pytest.fixture
def manual(gateway: Gateway, directory: Directory, accounts: Accounts):  # type: ignore[no-untyped-def]
    gateway.settings = gateway.settings.model_copy(update={"core_backend": "manual"})
    complaint = make_complaint(
        gateway.db,
        Status.VERIFIED,
        category="pengaduan",
        title="Jalan berlubang",
        clean_text="Jalan berlubang depan SD",
        reply_channel="webform",
        reply_address="web:x",
    )
    with gateway.db.session() as session:
        row = session.get(Complaint, complaint.id)
        assert row is not None
        actions.dispose(gateway, session, row, actor="user:1", agency_id=directory.dpupr)
        workflow.commit(session)
    asyncio.run(gateway.dispatcher(worker_id()).drain())  # the core_submit row: "manual needed"
    with TestClient(create_app(gateway.settings, gateway), base_url="http://127.0.0.1:8000") as c:
        assert login(c, "koor").status_code == 303
        yield Admin(c), complaint.tracking_code


def _status(gateway: Gateway, code: str) -> Complaint:
    with gateway.db.read_session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert complaint is not None
        return complaint


def test_paste_text_then_tracking_id_then_answer(manual, gateway: Gateway) -> None:  # type: ignore[no-untyped-def]
    admin, code = manual
    page = admin.get(f"/admin/complaints/{code}").text
    assert 'id="core-paste"' in page and code in page and "Jalan berlubang" in page
    with gateway.db.read_session() as session:
        submit = session.scalar(select(OutboxItem).where(OutboxItem.kind == core_sync.CORE_SUBMIT))
        assert submit is not None and submit.status == "sent"  # handed to the admin, not dead
        actions_seen = session.scalars(select(ComplaintEvent.action)).all()
    assert "core_manual_needed" in actions_seen

    bad = admin.act(code, "core_ref", {"core_ref": "abc"})
    assert bad.status_code == 422 and _status(gateway, code).core_ref is None
    ok = admin.act(code, "core_ref", {"core_ref": " 1234567 "})
    assert ok.status_code == 303
    assert _status(gateway, code).core_ref == "1234567"
    page = admin.get(f"/admin/complaints/{code}").text
    assert 'id="core-paste"' not in page and "1234567" in page

    entry = re.search(r'name="entry_id" value="([0-9a-f]+)"', page)
    assert entry
    body = {"text": "Lubang sudah ditambal tim DPUPR.", "entry_id": entry.group(1)}
    assert admin.act(code, "core_answer", body).status_code == 303
    assert _status(gateway, code).status == Status.ANSWERED
    # A double click (same form) answers once.
    admin.act(code, "core_answer", body)
    with gateway.db.read_session() as session:
        answers = session.scalars(
            select(OutboxItem)
            .where(OutboxItem.kind == "reply")
            .where(OutboxItem.recipient == "web:x")
        ).all()
    assert len([a for a in answers if "Lubang sudah ditambal" in a.payload["text"]]) == 1


def test_not_offered_with_an_api_backend(gateway: Gateway, clients: dict[str, Admin]) -> None:
    complaint = make_complaint(gateway.db, Status.DISPOSED)
    page = clients["koor"].get(f"/admin/complaints/{complaint.tracking_code}").text
    assert 'id="core-manual"' not in page
    response = clients["koor"].act(complaint.tracking_code, "core_ref", {"core_ref": "1234567"})
    assert response.status_code == 409
