"""Issue 14 on the admin pages: the complaint page says why two complaints were clustered and why
a similar one was not (escaped), and a message that is not a report is offered for archiving in
the inbox ("Arsipkan"), which archives it through the archive action."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from gateway.complaints import dedup
from gateway.context import Gateway
from gateway.store.models import Complaint, ComplaintEvent, Status
from tests.gateway.admin.conftest import Admin, Directory, csrf_of
from tests.gateway.factories import make_complaint
from tests.gateway.test_triage_dedup import _file


def _row_form(page: str, code: str) -> dict[str, str]:
    """The inbox row's archive form, as a browser would submit it."""
    row = re.search(rf'<tr data-code="{code}"[^>]*>(.*?)</tr>', page, re.DOTALL)
    assert row, f"no inbox row for {code}"
    form = re.search(r'<form method="post" action="([^"]+)".*?</form>', row.group(1), re.DOTALL)
    assert form, "no Arsipkan form in the row"
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(0)))
    return {"action": form.group(1), **{k: html.unescape(v) for k, v in fields.items()}}


def test_the_complaint_page_says_why_clustered_and_why_not(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    first = _file(gateway, "+6281255552001", "Jalan rusak berlubang di Jl. Diponegoro, desa Leteh")
    same = _file(gateway, "+6281255552002", "jalan rusak dan berlubang di Jl Diponegoro desa Leteh")
    other = _file(gateway, "+6281255552003", "Jalan rusak berlubang di Jl. Kartini, desa Leteh")
    page = clients["koor"].get(f"/admin/complaints/{first.tracking_code}").text
    box = page.split('id="duplicate-reasons"', 1)[1].split("</div>", 1)[0]
    clustered = box.split(f'data-code="{same.tracking_code}"', 1)[1].split("</li>\n", 1)[0]
    assert 'data-relation="cluster"' in box
    assert "Kemiripan teks" in clustered and "Keputusan: dikelompokkan" in clustered
    missed = box.split(f'data-code="{other.tracking_code}"', 1)[1]
    assert 'data-relation="near_miss"' in box
    assert "Jalan/gang berbeda: diponegoro / kartini" in missed
    assert "Keputusan: dibiarkan terpisah" in missed
    # The liaison's page shows the same box (no personal data in it: words, places, distance).
    assert (
        "duplicate-reasons" in clients["koor"].get(f"/admin/complaints/{same.tracking_code}").text
    )


def test_the_reasons_are_escaped(clients: dict[str, Admin], gateway: Gateway) -> None:
    # A village typed by an admin is shown in the reasons: as text, never as markup.
    fields = {
        "dedup_signature": "ambrol jembatan lewat warga",
        "kelurahan": "Leteh<script>x()</script>",
        "kecamatan": "Rembang",
    }
    first = make_complaint(gateway.db, Status.RECEIVED, **fields)
    second = make_complaint(gateway.db, Status.RECEIVED, **fields)
    with gateway.db.session() as session:
        for complaint in (first, second):
            dedup.index(session, complaint)
        session.commit()
    page = clients["koor"].get(f"/admin/complaints/{first.tracking_code}").text
    assert "Leteh&lt;script&gt;x()&lt;/script&gt;" in page
    assert "<script>x()" not in page


def test_not_a_report_is_offered_for_archiving_in_the_inbox(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    promo = _file(
        gateway,
        "+6281255552011",
        "Promo spesial! Paket internet 10GB cuma Rp25rb, aktifkan sekarang di *123# berlaku s/d "
        "31 Desember",
    )
    report = _file(
        gateway, "+6281255552012", "Lampu jalan di depan balai desa Leteh mati sejak seminggu"
    )
    assert promo.not_report["kind"] == "promosi" and promo.not_report["action"] == "arsipkan"
    assert report.not_report == {}
    koor = clients["koor"]
    inbox = koor.get("/admin").text
    assert "Bukan laporan? promosi" in inbox
    report_row = re.search(
        rf'<tr data-code="{report.tracking_code}"[^>]*>(.*?)</tr>', inbox, re.DOTALL
    )
    assert report_row and "Bukan laporan" not in report_row.group(1)
    form = _row_form(inbox, promo.tracking_code)
    assert form["action"] == f"/admin/complaints/{promo.tracking_code}/archive"
    response = koor.client.post(
        form.pop("action"),
        data={**form, "csrf_token": csrf_of(inbox)},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/admin"
    with gateway.db.read_session() as session:
        archived = session.get(Complaint, promo.id)
        assert archived is not None and archived.status == Status.ARCHIVED
        event = session.scalar(
            select(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == promo.id)
            .where(ComplaintEvent.action == "archived")
        )
    assert event is not None and event.note.startswith("Bukan laporan (promosi):")
    # A viewer sees the suggestion but no button.
    viewer_inbox = clients["lihat"].get("/admin").text
    assert "/archive" not in viewer_inbox


def test_the_complaint_page_offers_arsipkan_too(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    promo = _file(
        gateway,
        "+6281255552021",
        "Selamat! Nomor Anda memenangkan hadiah undian 50 juta, transfer biaya admin ke rekening "
        "kami sekarang juga",
    )
    page = clients["koor"].get(f"/admin/complaints/{promo.tracking_code}").text
    assert 'id="not-report"' in page and "Kemungkinan bukan laporan" in page
    assert f'action="/admin/complaints/{promo.tracking_code}/archive"' in page


def test_the_inbox_lists_the_suggested_not_reports_for_archiving(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    promo = _file(
        gateway,
        "+6281255552031",
        "Promo spesial! Paket internet 10GB cuma Rp25rb, aktifkan sekarang di *123# berlaku s/d "
        "31 Desember",
    )
    chat = _file(gateway, "+6281255552032", "wkwk iya deh makasih ya, sampai ketemu besok")
    report = _file(
        gateway, "+6281255552033", "Lampu jalan di depan balai desa Leteh mati sejak seminggu"
    )
    assert promo.not_report and chat.not_report and not report.not_report
    koor = clients["koor"]
    assert 'name="not_report"' in koor.get("/admin").text  # the filter is offered
    listed = koor.get("/admin?not_report=1").text
    codes = set(re.findall(r'<tr data-code="([^"]+)"', listed))
    assert codes == {promo.tracking_code, chat.tracking_code}
    # Archive one from the filtered list: it stays out of the open suggestions afterwards.
    form = _row_form(listed, promo.tracking_code)
    response = koor.client.post(
        form.pop("action"), data={**form, "csrf_token": csrf_of(listed)}, follow_redirects=False
    )
    assert response.status_code == 303
    still_open = koor.get("/admin?not_report=1&status=open").text
    assert set(re.findall(r'<tr data-code="([^"]+)"', still_open)) == {chat.tracking_code}


def test_the_reasons_name_the_shared_words_the_place_and_the_distance(
    clients: dict[str, Admin], gateway: Gateway
) -> None:
    # Three reports of one signature in one village: a pin 0.2 km away clusters, one 25 km away
    # (the same words, another spot) is kept apart; the page says which words, where and how far.
    fields = {
        "dedup_signature": "ambrol banjir jembatan lewat warga",
        "kelurahan": "Leteh",
        "kecamatan": "Rembang",
        "latitude": -6.7000,
    }
    first = make_complaint(gateway.db, Status.RECEIVED, **fields, longitude=111.3400)
    near = make_complaint(gateway.db, Status.RECEIVED, **fields, longitude=111.3418)
    far = make_complaint(
        gateway.db, Status.RECEIVED, **{**fields, "latitude": -6.9}, longitude=111.45
    )
    with gateway.db.session() as session:
        for complaint in (first, near, far):
            dedup.index(session, complaint)
        session.commit()
    page = clients["koor"].get(f"/admin/complaints/{first.tracking_code}").text
    box = page.split('id="duplicate-reasons"', 1)[1].split("</div>", 1)[0]
    close = box.split(f'data-code="{near.tracking_code}"', 1)[1].split("</li>\n", 1)[0]
    apart = box.split(f'data-code="{far.tracking_code}"', 1)[1].split("</li>\n", 1)[0]
    assert "kata yang sama: ambrol, banjir, jembatan" in close
    assert "Desa/kelurahan sama: Leteh" in close
    assert "Titik lokasi berdekatan (0.2 km)" in close
    assert "Keputusan: dikelompokkan" in close
    assert "Titik lokasi berjauhan (" in apart and "Keputusan: dibiarkan terpisah" in apart
