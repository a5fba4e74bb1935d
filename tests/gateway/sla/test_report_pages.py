"""The report pages and downloads, who sees what; the public publication page; the holidays page
(an admin's holiday moves running deadlines, in this instance at once and in another through the
version stamp); the daily digest."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from openpyxl import load_workbook
from sqlalchemy import select

from gateway.context import Gateway
from gateway.reports import digest
from gateway.sla import sweeps
from gateway.store.models import Complaint, OutboxItem, User
from tests.gateway.admin.conftest import Accounts, Admin, Directory
from tests.gateway.sla import story
from tests.gateway.sla.story import wib

SECRET_NAME = "Siti Rahmawati"
SECRET_PHONE = "081299998888"


def _answered(gateway: Gateway, directory: Directory, agency: int, **fields: object) -> str:
    code = story.file(gateway, wib(10, 1), **fields)
    story.verify(gateway, code, wib(10, 2))
    story.dispose(gateway, code, wib(10, 5), agency)
    story.answer(gateway, code, wib(10, 9))
    return code


def test_viewer_and_koordinator_see_every_agency_a_liaison_only_theirs(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    _answered(gateway, directory, directory.dpupr)
    _answered(gateway, directory, directory.dlh)
    url = "/admin/reports?kind=monthly&period=2026-10"
    for role in ("koor", "lihat"):
        page = clients[role].get(url)
        assert page.status_code == 200
        assert 'data-name="received">2<' in page.text
        assert 'data-key="DPUPR"' in page.text and 'data-key="DLH"' in page.text
        assert 'id="chart-agencies"' in page.text and "chart.umd.min.js" in page.text
    mine = clients["pupr"].get(url).text
    assert 'data-name="received">1<' in mine
    assert 'data-key="DPUPR"' in mine and 'data-key="DLH"' not in mine
    anonymous = clients["anonymous"].get(url, follow_redirects=False)
    assert anonymous.status_code == 303 and "/admin/login" in anonymous.headers["location"]
    assert clients["lihat"].get("/admin", follow_redirects=False).headers["location"] == (
        "/admin/reports"
    )


def test_monthly_report_downloads_as_xlsx_and_csv(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    _answered(gateway, directory, directory.dpupr)
    base = "/admin/reports/export?kind=monthly&period=2026-10"
    xlsx = clients["lihat"].get(base + "&format=xlsx")
    assert xlsx.status_code == 200
    assert 'filename="laporan-monthly-2026-10.xlsx"' in xlsx.headers["content-disposition"]
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book["Ringkasan"]["B5"].value == 1
    csv_text = clients["pupr"].get(base + "&format=csv").content.decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("Bagian,Kode,Nama,Aduan masuk")
    bad = clients["koor"].get("/admin/reports/export?kind=monthly&period=2026-13&format=csv")
    assert bad.status_code == 400


def test_an_empty_or_wrong_period_shows_zeros_not_an_error(clients: dict[str, Admin]) -> None:
    page = clients["koor"].get("/admin/reports?kind=semester&period=2019-S1")
    assert page.status_code == 200 and 'data-name="received">0<' in page.text
    wrong = clients["koor"].get("/admin/reports?kind=monthly&period=oktober")
    assert wrong.status_code == 200 and "bukan periode yang dikenal" in wrong.text


def test_publication_is_anonymised_escaped_and_without_rahasia(
    client, gateway: Gateway, directory: Directory
) -> None:  # type: ignore[no-untyped-def]
    original = f"Saya {SECRET_NAME} ({SECRET_PHONE}) melapor <script>alert(1)</script> jalan rusak"
    public = _answered(
        gateway,
        directory,
        directory.dpupr,
        original_text=original,
        clean_text=original,
        masked_text="Saya [NAMA] ([TELEPON]) melapor <script>alert(1)</script> jalan rusak",
    )
    secret = _answered(
        gateway,
        directory,
        directory.dlh,
        rahasia=True,
        masked_text="Rahasia: sampah menumpuk di belakang pasar",
    )
    page = client.get("/publikasi/2026-10")
    assert page.status_code == 200
    html = page.text
    assert "Dinas Pekerjaan Umum" in html and "Jalan berlubang di Lasem" in html
    assert "[NAMA]" in html and "&lt;script&gt;" in html and "<script>alert" not in html
    for leaked in (SECRET_NAME, SECRET_PHONE, "Rahasia: sampah", public, secret):
        assert leaked not in html
    assert "Dinas Lingkungan Hidup" not in html  # its only resolved complaint is rahasia
    post = client.get("/publikasi/2026-10.txt").text
    assert "Dinas Pekerjaan Umum — Oktober 2026: 1 pengaduan" in post
    assert SECRET_NAME not in post and "Rahasia" not in post
    csv_text = client.get("/publikasi/2026-10.csv").content.decode("utf-8-sig")
    assert "[NAMA]" in csv_text and SECRET_PHONE not in csv_text and "sampah" not in csv_text
    empty = client.get("/publikasi/2026-09").text
    assert "Belum ada pengaduan yang diselesaikan pada September 2026" in empty
    assert client.get("/publikasi/2026-99").status_code == 404


def test_an_admin_holiday_moves_running_deadlines_in_every_instance(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    code = story.file(gateway, wib(11, 2))
    story.verify(gateway, code, wib(11, 3))
    story.dispose(gateway, code, wib(11, 4), directory.dpupr)
    other = Gateway.create(gateway.settings, db=gateway.db)  # a second instance
    other.calendar_source.check_seconds = 3600  # it would not look again on its own soon
    assert other.calendar.is_working_day(datetime(2026, 11, 16).date())
    koor = clients["koor"]
    refused = koor.post("/admin/holidays", {"day": "2026-11-16", "kind": "holiday", "name": "X"})
    assert refused.status_code == 422 and "Alasan wajib diisi" in refused.text
    added = koor.post(
        "/admin/holidays",
        {
            "day": "2026-11-16",
            "kind": "holiday",
            "name": "Libur daerah mendadak",
            "reason": "SE Bupati 003/2026",
        },
    )
    assert added.status_code == 303
    assert "Libur daerah mendadak" in koor.get("/admin/holidays?year=2026").text
    # This instance rebuilt its calendar at once; the other one at its next sweep.
    assert not gateway.calendar.is_working_day(datetime(2026, 11, 16).date())
    sweeps.run(other, wib(11, 17, 9))
    assert not other.calendar.is_working_day(datetime(2026, 11, 16).date())
    # 14 working days from Wed 4 Nov, Mon 16 off: due Wed 25 instead of Tue 24 November.
    assert story.complaint(gateway, code).answer_due_at == datetime(
        2026, 11, 25, 16, 59, 59, 999999, tzinfo=UTC
    )
    with gateway.db.read_session() as session:
        from gateway.store.models import CalendarDay

        entry = session.scalar(select(CalendarDay))
    assert entry is not None
    koor.post(f"/admin/holidays/{entry.id}/remove", {"reason": "Dibatalkan"})
    sweeps.run(other, wib(11, 17, 10))
    assert story.complaint(gateway, code).answer_due_at == datetime(
        2026, 11, 24, 16, 59, 59, 999999, tzinfo=UTC
    )


def test_daily_digest_to_koordinators_with_a_number_once_a_working_day(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory, accounts: Accounts
) -> None:
    late = story.file(gateway, wib(11, 2))
    story.verify(gateway, late, wib(11, 3))
    story.dispose(gateway, late, wib(11, 4), directory.dpupr)
    story.file(gateway, wib(11, 24, 15))  # new on Tuesday afternoon
    saved = clients["koor"].post(
        f"/admin/users/{accounts.koordinator}",
        {
            "role": "koordinator",
            "display_name": "Koor",
            "active": "1",
            "whatsapp": "0812 1111 2222",
        },
    )
    assert saved.status_code == 303
    with gateway.db.read_session() as session:
        assert session.get(User, accounts.koordinator).whatsapp == "+6281211112222"  # type: ignore[union-attr]
    assert digest.send(gateway, wib(11, 25, 6, 59)) == 0  # before 07:00
    assert digest.send(gateway, wib(11, 28, 9)) == 0  # a Saturday
    assert digest.send(gateway, wib(11, 25, 7, 5)) == 1
    assert digest.send(gateway, wib(11, 25, 15)) == 0  # once a day
    with gateway.db.read_session() as session:
        row = session.scalar(select(OutboxItem).where(OutboxItem.kind == "notify_admin"))
    assert row is not None and row.recipient == "+6281211112222"
    assert row.idempotency_key == f"digest:2026-11-25:user:{accounts.koordinator}"
    text = row.payload["text"]
    assert "25-11-2026" in text and "1 aduan baru" in text and "1 jawaban terlambat" in text
    page = clients["koor"].get("/admin/digest")
    assert page.status_code == 200 and 'data-name="to_verify">1<' in page.text
    assert clients["lihat"].get("/admin/digest").status_code == 403
    with gateway.db.read_session() as session:
        assert (
            session.scalar(select(Complaint.escalated).where(Complaint.tracking_code == late))
            is False
        )
