"""The complaint page tells the truth about SP4N-LAPOR!: the flash after an action says what is
queued (it used to say "diteruskan ke SP4N-LAPOR!" while nothing had left), and the SP4N-LAPOR!
box shows each row for the core as it really is — antre, terkirim with the LAPOR! number,
menunggu input manual, or gagal with the reason and a button to send it again."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import select
from sqlmodel import col

from config.messages import t
from gateway.complaints import actions, workflow
from gateway.context import Gateway
from gateway.core import sync as core_sync
from gateway.jobs.scheduler import worker_id
from gateway.store.models import Complaint, ComplaintEvent, OutboxItem, OutboxStatus, Status
from tests.gateway.admin.conftest import Admin, Directory, csrf_of, version_of
from tests.gateway.factories import make_complaint
from tests.images import image_bytes

S = Status
ANSWER = "Lubang sudah ditambal tim DPUPR, terima kasih atas laporannya."


def _verified(gateway: Gateway) -> str:
    return make_complaint(
        gateway.db,
        S.VERIFIED,
        category="pengaduan",
        title="Jalan berlubang",
        clean_text="Jalan berlubang depan SD",
        reply_channel="webform",
        reply_address="web:warga",
    ).tracking_code


def _rows(gateway: Gateway, code: str) -> list[OutboxItem]:
    with gateway.db.read_session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert complaint is not None
        return list(
            session.scalars(
                select(OutboxItem)
                .where(OutboxItem.complaint_id == complaint.id)
                .where(col(OutboxItem.kind).in_(core_sync.CORE_KINDS))
                .order_by(OutboxItem.id)
            ).all()
        )


def _row_html(page: str, row: OutboxItem) -> str:
    match = re.search(rf'<tr [^>]*id="core-row-{row.id}">(.*?)</tr>', page, re.S)
    assert match, f"row {row.id} not on the page"
    return match.group(0)


def _actions(gateway: Gateway, code: str) -> list[str]:
    with gateway.db.read_session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert complaint is not None
        return list(
            session.scalars(
                select(ComplaintEvent.action)
                .where(ComplaintEvent.complaint_id == complaint.id)
                .order_by(ComplaintEvent.id)
            ).all()
        )


def test_dispose_says_queued_and_the_box_shows_each_state(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    koor = clients["koor"]
    code = _verified(gateway)
    response = koor.act(code, "dispose", {"agency_id": str(directory.dpupr)})
    assert response.status_code == 303
    page = koor.get(f"/admin/complaints/{code}").text
    assert "laporan ke SP4N-LAPOR! sudah antre" in page
    assert "diteruskan ke SP4N-LAPOR" not in page.lower()
    [submit] = _rows(gateway, code)
    assert 'data-state="queued"' in _row_html(page, submit) and "antre" in _row_html(page, submit)

    with gateway.db.session() as session:  # the core was down for a while: it says why
        row = session.get(OutboxItem, submit.id)
        assert row is not None
        row.attempts, row.last_error = 3, "core unavailable: submit: HTTP 503"
        session.commit()
    html = _row_html(koor.get(f"/admin/complaints/{code}").text, submit)
    assert "antre" in html and "Percobaan ke-3: core unavailable: submit: HTTP 503" in html

    with gateway.db.session() as session:  # gave up: failed, with the reason and a resend
        row = session.get(OutboxItem, submit.id)
        assert row is not None
        row.status, row.last_error = OutboxStatus.DEAD, "core rejected: submit: HTTP 422 title"
        session.commit()
    page = koor.get(f"/admin/complaints/{code}").text
    html = _row_html(page, submit)
    assert "gagal" in html and "HTTP 422 title" in html and "Kirim ulang" in html
    liaison_page = clients["pupr"].get(f"/admin/complaints/{code}").text
    assert "gagal" in _row_html(liaison_page, submit) and "Kirim ulang" not in liaison_page
    response = koor.act(code, "core_resend", {"item_id": str(submit.id)})
    assert response.status_code == 303
    [row] = _rows(gateway, code)
    assert row.status == OutboxStatus.PENDING and row.attempts == 0
    assert "core_resent" in _actions(gateway, code)
    again = koor.act(code, "core_resend", {"item_id": str(submit.id)})
    assert again.status_code == 422  # not failed any more: nothing to resend

    with gateway.db.session() as session:  # the core accepted it
        row = session.get(OutboxItem, submit.id)
        complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert row is not None and complaint is not None
        row.status, row.provider_message_id = OutboxStatus.SENT, "5000001"
        complaint.core_ref, complaint.core_status = "5000001", "unverified"
        session.commit()
    page = koor.get(f"/admin/complaints/{code}").text
    html = _row_html(page, submit)
    assert "terkirim" in html and "Diterima SP4N-LAPOR! (5000001)" in html
    status = re.search(r'<dd id="core-status-value">(.*?)</dd>', page, re.S)
    assert status and "(unverified)" in status.group(1)
    assert t("id", "status.received") in status.group(1)  # the core's word, in ours


def test_a_row_of_another_complaint_cannot_be_resent_from_this_page(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    koor = clients["koor"]
    mine, other = _verified(gateway), _verified(gateway)
    for code in (mine, other):
        assert koor.act(code, "dispose", {"agency_id": str(directory.dpupr)}).status_code == 303
    [theirs] = _rows(gateway, other)
    with gateway.db.session() as session:
        row = session.get(OutboxItem, theirs.id)
        assert row is not None
        row.status = OutboxStatus.DEAD
        session.commit()
    response = koor.act(mine, "core_resend", {"item_id": str(theirs.id)})
    assert response.status_code == 422
    assert _rows(gateway, other)[0].status == OutboxStatus.DEAD
    assert koor.act(mine, "core_resend", {"item_id": "x"}).status_code == 422
    assert clients["pupr"].act(mine, "core_resend", {"item_id": "1"}).status_code == 403


@pytest.fixture
def manual(gateway: Gateway) -> Gateway:
    gateway.settings = gateway.settings.model_copy(update={"core_backend": "manual"})
    return gateway


def _drain(gateway: Gateway) -> None:
    asyncio.run(gateway.dispatcher(worker_id()).drain())


def test_manual_backend_shows_a_copy_ready_answer_and_records_the_paste(
    clients: dict[str, Admin], manual: Gateway, directory: Directory
) -> None:
    gateway = manual
    koor, pupr = clients["koor"], clients["pupr"]
    code = _verified(gateway)
    assert koor.act(code, "dispose", {"agency_id": str(directory.dpupr)}).status_code == 303
    page = koor.get(f"/admin/complaints/{code}").text
    assert "Laporan perlu diinput manual ke SP4N-LAPOR!" in page  # not "antre", not "diteruskan"

    assert pupr.act(code, "acknowledge").status_code == 303
    page = pupr.get(f"/admin/complaints/{code}").text
    assert "Tempelkan statusnya di SP4N-LAPOR!" in page
    response = pupr.client.post(
        f"/admin/complaints/{code}/answer",
        data={"csrf_token": csrf_of(page), "version": version_of(page), "text": ANSWER},
        files=[("photos", ("hasil.jpg", image_bytes("JPEG"), "image/jpeg"))],
        follow_redirects=False,
    )
    assert response.status_code == 303
    _drain(gateway)
    submit, progress, answer = _rows(gateway, code)
    assert [r.kind for r in (submit, progress, answer)] == [
        core_sync.CORE_SUBMIT,
        core_sync.CORE_PROGRESS,
        core_sync.CORE_ANSWER,
    ]
    assert {r.delivery_state for r in (submit, progress, answer)} == {core_sync.MANUAL}

    page = koor.get(f"/admin/complaints/{code}").text
    html = _row_html(page, answer)
    assert "menunggu input manual" in html
    assert f'<textarea id="core-task-{answer.id}" rows="5" readonly>{ANSWER}\n</textarea>' in html
    assert 'data-copy="core-task-' in html and "/admin/attachments/" in html
    assert "Sudah ditempel di LAPOR!" not in html  # no LAPOR! report to paste into yet
    assert "Catat dulu nomor laporan SP4N-LAPOR!" in html
    refused = koor.act(code, "core_pasted", {"item_id": str(answer.id)})
    assert refused.status_code == 422

    assert koor.act(code, "core_ref", {"core_ref": "5123456"}).status_code == 303
    page = koor.get(f"/admin/complaints/{code}").text
    assert "sudah ditempel di LAPOR!" in _row_html(page, submit)
    html = _row_html(page, answer)
    assert "Sudah ditempel di LAPOR!" in html and "5123456" in html
    assert koor.act(code, "core_pasted", {"item_id": str(answer.id)}).status_code == 303
    assert koor.act(code, "core_pasted", {"item_id": str(answer.id)}).status_code == 303  # twice
    rows = {r.id: r for r in _rows(gateway, code)}
    assert rows[answer.id].delivery_state == core_sync.PASTED
    assert rows[progress.id].delivery_state == core_sync.MANUAL  # still to do
    assert _actions(gateway, code).count("core_pasted") == 1
    page = koor.get(f"/admin/complaints/{code}").text
    assert "sudah ditempel di LAPOR!" in _row_html(page, answer)
    assert "Tercatat sudah ditempel di SP4N-LAPOR!." in page
    # The liaison officer sees the state, not the koordinator's buttons.
    liaison = pupr.get(f"/admin/complaints/{code}").text
    assert "menunggu input manual" in _row_html(liaison, progress)
    assert "Sudah ditempel di LAPOR!" not in liaison
    forbidden = pupr.post(f"/admin/complaints/{code}/core_pasted", {"item_id": str(progress.id)})
    assert forbidden.status_code == 403


def test_a_reply_row_is_not_a_core_task(
    clients: dict[str, Admin], manual: Gateway, directory: Directory
) -> None:
    gateway = manual
    code = _verified(gateway)
    with gateway.db.session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert complaint is not None
        actions.dispose(gateway, session, complaint, actor="user:1", agency_id=directory.dpupr)
        workflow.commit(session)
    with gateway.db.read_session() as session:
        reply = session.scalar(select(OutboxItem).where(OutboxItem.kind == "reply"))
        assert reply is not None
    response = clients["koor"].act(code, "core_pasted", {"item_id": str(reply.id)})
    assert response.status_code == 422
