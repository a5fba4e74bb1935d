"""Every complaint arrives enriched (clean text, personal data masked, place, class and agency
with reasons) and folded with its duplicates: merged for the same reporter, clustered for the
same problem."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.complaints import enrich
from gateway.complaints.tracking import find_code
from gateway.context import Gateway
from gateway.dev import seed
from gateway.store.models import Complaint, ComplaintEvent, Status
from tests.gateway.chat import Chat


def _directory(gateway: Gateway) -> None:
    from gateway.admin.directory import load_directory, sync_directory

    with gateway.db.session() as session:
        sync_directory(session, load_directory(gateway.settings.agency_directory_file))
        session.commit()


def _all(gateway: Gateway) -> list[Complaint]:
    with gateway.db.read_session() as session:
        return list(session.scalars(select(Complaint).order_by(Complaint.id)).all())


def _file(gateway: Gateway, sender: str, text: str, channel: str = "twilio_sms") -> list[str]:
    chat = Chat(gateway, channel=channel, sender=sender)
    chat.send("halo")
    chat.send("ya")
    chat.send(text)
    return chat.send("kirim")


def test_complaints_are_enriched(client: TestClient, gateway: Gateway) -> None:
    _directory(gateway)
    text = (
        "Nama saya Siti Aminah, NIK 3317014506900001, HP 0812-3456-7890. Jalan di Desa "
        "Sumbergirang kec. Lasem rusakkk parah dan berlubang, tolong diperbaiki"
    )
    response = client.post("/api/v1/complaints", json={"description": text, "consent": True})
    assert response.status_code == 202
    [complaint] = _all(gateway)
    assert complaint.original_text == text  # verbatim, always
    kinds = {span["kind"] for span in complaint.pii_spans}
    assert {"nik", "telepon", "nama"} <= kinds
    assert "3317014506900001" not in complaint.masked_text
    assert "0812-3456-7890" not in complaint.masked_text
    assert "Siti" not in complaint.title and "3317014506900001" not in complaint.title
    assert complaint.kecamatan == "Lasem" and complaint.kelurahan == "Sumbergirang"
    assert complaint.category_suggestions[0]["category"] == "pengaduan"
    assert complaint.category_suggestions[0]["reason"]
    top = complaint.agency_suggestions[0]
    assert top["code"] == "DPUPR" and top["agency_id"] is not None and top["reason"]
    assert "rusak" in complaint.clean_text and "rusakkk" not in complaint.clean_text


def test_the_same_reporter_twice_is_merged_into_one(gateway: Gateway) -> None:
    _directory(gateway)
    first = _file(
        gateway,
        "+6281255550001",
        "Lampu penerangan jalan di Desa Leteh Kecamatan Rembang mati total sejak seminggu",
    )
    code = find_code(first[0])
    # Later the same person writes on WhatsApp (linked by their number): the same complaint.
    again = _file(
        gateway,
        "+6281255550001",
        "lampu jalan di desa leteh kec rembang mati total sudah seminggu, mohon dibetulkan",
        channel="twilio_whatsapp",
    )
    assert again == [
        f"Laporan ini sama dengan laporan Anda sebelumnya {code}, jadi kami gabungkan ke sana. "
        f"Cek status: ketik CEK {code}"
    ]
    original, duplicate = _all(gateway)
    assert duplicate.status == Status.MERGED and duplicate.merged_into_id == original.id
    with gateway.db.read_session() as session:
        actions = session.scalars(
            select(ComplaintEvent.action).where(ComplaintEvent.complaint_id == duplicate.id)
        ).all()
    assert "auto_merged" in actions


def test_different_reporters_same_problem_are_clustered(gateway: Gateway) -> None:
    _directory(gateway)
    _file(
        gateway,
        "+6281255550002",
        "Jembatan kecil di Desa Sumbergirang Kecamatan Lasem ambrol, warga tidak bisa lewat",
    )
    _file(
        gateway,
        "+6281255550003",
        "jembatan di desa sumbergirang lasem ambrol sejak kemarin, warga susah lewat",
    )
    first, second = _all(gateway)
    assert second.status == Status.RECEIVED and second.cluster_id == first.id


def test_different_problems_in_one_village_stay_apart(gateway: Gateway) -> None:
    _directory(gateway)
    _file(
        gateway,
        "+6281255550004",
        "Jembatan kecil di Desa Sumbergirang Kecamatan Lasem ambrol, warga tidak bisa lewat",
    )
    _file(
        gateway,
        "+6281255550005",
        "Bidan di Puskesmas Desa Sumbergirang Lasem sering tidak ada di tempat saat jam kerja",
    )
    complaints = _all(gateway)
    assert len(complaints) == 2
    assert all(c.cluster_id is None and c.merged_into_id is None for c in complaints)


def test_routing_learns_from_dispositions(gateway: Gateway) -> None:
    _directory(gateway)
    with gateway.db.session() as session:
        from gateway.store.models import Agency

        dlh = session.scalar(select(Agency).where(Agency.code == "DLH"))
        assert dlh is not None
        for i in range(30):
            complaint = Complaint(
                tracking_code=f"LPR-T{i:05d}"[:10],
                origin_channel="webform",
                original_text=f"Kali Babagan di dusun {i} keruh berbusa putih dan ikan mati",
                masked_text=f"Kali Babagan di dusun {i} keruh berbusa putih dan ikan mati",
                agency_id=dlh.id,
                status=Status.DISPOSED.value,
            )
            from gateway.clock import utcnow

            complaint.disposed_at = utcnow()
            session.add(complaint)
        session.commit()
    assert enrich.train_router(gateway).dispositions == 30
    # No directory keyword fits; only what admins did before points at the DLH.
    _file(gateway, "+6281255550006", "Air Kali Babagan keruh dan berbusa putih lagi, Lasem")
    newest = _all(gateway)[-1]
    assert newest.agency_suggestions[0]["code"] == "DLH"


def test_demo_seed_complaints_are_enriched(gateway: Gateway) -> None:
    seed.seed_demo(gateway)
    complaints = _all(gateway)
    assert len(complaints) == 3
    assert all(c.agency_suggestions and c.category_suggestions for c in complaints)
