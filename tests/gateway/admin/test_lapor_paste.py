"""`/admin/lapor`: a koordinator pastes a report filed directly in SP4N-LAPOR! and it joins the
inbox as a complaint of channel `lapor` — once, however often it is pasted — with bad pastes
answered in Indonesian, the pasted text kept."""

from __future__ import annotations

from sqlalchemy import select

from gateway.context import Gateway
from gateway.store.models import Complaint, OutboxItem, Status
from tests.gateway.admin.conftest import Admin

PASTE = """Tracking ID : 5123456
Judul : Jembatan Pandean ambrol
Tanggal : 2 Mei 2026 08.30 WIB
Isi Laporan : Jembatan di Desa Pandean ambrol sejak hujan deras, anak sekolah harus memutar jauh.
Kecamatan : Rembang
Dilaporkan via SMS
"""


def test_a_pasted_report_joins_the_inbox_once(clients: dict[str, Admin], gateway: Gateway) -> None:
    koor = clients["koor"]
    response = koor.post("/admin/lapor", {"text": PASTE})
    assert response.status_code == 303
    code = response.headers["location"].rsplit("/", 1)[1]
    again = koor.post("/admin/lapor", {"text": PASTE})
    assert again.status_code == 303 and again.headers["location"].endswith(code)
    with gateway.db.read_session() as session:
        [complaint] = session.scalars(
            select(Complaint).where(Complaint.origin_channel == "lapor")
        ).all()
        assert complaint.tracking_code == code and complaint.core_ref == "5123456"
        assert complaint.status == Status.RECEIVED and complaint.reply_channel is None
        assert not session.scalars(select(OutboxItem).where(OutboxItem.kind == "core_submit")).all()
    inbox = koor.get("/admin?channel=lapor").text
    assert code in inbox
    assert code not in koor.get("/admin?channel=twilio_whatsapp").text
    page = koor.get(f"/admin/complaints/{code}").text
    assert "SP4N-LAPOR!" in page and "5123456" in page


def test_a_paste_without_tracking_id_is_refused_in_indonesian(clients: dict[str, Admin]) -> None:
    koor = clients["koor"]
    text = "Jalan rusak parah di depan pasar, mohon diperbaiki secepatnya."
    response = koor.post("/admin/lapor", {"text": text})
    assert response.status_code == 422
    assert "Tracking ID" in response.text or "tracking" in response.text.lower()
    assert text in response.text  # the paste is kept for the admin to fix
