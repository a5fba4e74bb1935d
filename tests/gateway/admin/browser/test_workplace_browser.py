"""The admin's workplace in a real browser (Debian's chromium, issue 18): taking and assigning, a
note that never reaches the status page, a saved reply with its variables sent from the chat,
the inbox updating while a second browser acts, the map without tiles, and the liaison pages
on a phone-sized screen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.admin import accounts as auth
from gateway.context import Gateway
from gateway.store.models import Complaint, Role, Status
from tests.gateway.admin.conftest import PASSWORD, Accounts, Directory
from tests.gateway.admin.test_browser import _login
from tests.gateway.factories import make_complaint

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

NOTE = "Catatan staf: sudah ditelepon, warga minta dikabari sore"


def _complaint(gateway: Gateway, status: Status = Status.RECEIVED, **fields: object) -> Complaint:
    values: dict[str, object] = {
        "title": "Jalan berlubang di Lasem",
        "kecamatan": "Lasem",
        "reply_channel": "webform",
        "reply_address": "web:warga",
        "received_at": datetime.now(UTC),
        "verify_due_at": datetime.now(UTC) + timedelta(days=3),
    }
    values.update(fields)
    return make_complaint(gateway.db, status, **values)


def _colleague(gateway: Gateway) -> None:
    with gateway.db.session() as session:
        auth.create_user(
            session, "rekan", PASSWORD, role=Role.KOORDINATOR, display_name="Rekan Sari"
        )
        session.commit()


def test_take_and_assign_with_the_filters(  # type: ignore[no-untyped-def]
    browser, site: str, gateway: Gateway, accounts: Accounts
) -> None:
    mine = _complaint(gateway)
    other = _complaint(gateway, title="Lampu PJU mati")
    _colleague(gateway)
    page = browser.new_page()
    _login(page, site, "koor")
    page.get_by_role("link", name=mine.tracking_code).click()
    expect(page.locator("#assignee")).to_contain_text("Belum ada yang menangani")
    page.get_by_role("button", name="Saya tangani").click()
    expect(page.locator("#assignee")).to_have_text("Ditangani oleh koor")
    page.goto(f"{site}/admin/complaints/{other.tracking_code}")
    page.locator("#assign-user").select_option(label="Rekan Sari (Koordinator)")
    page.get_by_role("button", name="Tugaskan", exact=True).click()
    expect(page.locator("#assignee")).to_have_text("Ditangani oleh Rekan Sari")
    page.goto(f"{site}/admin")
    rows = page.locator("#inbox-table tbody tr")
    expect(rows.filter(has_text=mine.tracking_code).locator("td.assignee")).to_have_text("koor")
    page.locator("#assigned-tabs").get_by_role("link", name="Milik saya").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(mine.tracking_code)
    page.goto(f"{site}/admin?assigned=none")
    expect(page.locator("#inbox-empty")).to_be_visible()


def test_a_note_stays_inside_and_the_agency_reads_its_own(  # type: ignore[no-untyped-def]
    browser, chromium, site: str, gateway: Gateway, directory: Directory, accounts: Accounts
) -> None:
    complaint = _complaint(gateway, Status.DISPOSED, agency_id=directory.dpupr)
    page = browser.new_page()
    _login(page, site, "koor")
    page.goto(f"{site}/admin/complaints/{complaint.tracking_code}")
    page.get_by_label("Catatan baru").fill(NOTE)
    page.get_by_role("button", name="Simpan catatan").click()
    expect(page.get_by_text("Catatan internal disimpan.")).to_be_visible()
    expect(page.locator("#notes-list")).to_contain_text(NOTE)
    page.get_by_label("Catatan baru").fill("Untuk instansi: bawa alat ukur")
    page.get_by_label("Untuk instansi — pejabat penghubung instansi aduan ini ikut membaca").check()
    page.get_by_role("button", name="Simpan catatan").click()
    expect(page.locator("#notes-list li")).to_have_count(2)

    public = browser.new_page()
    public.goto(f"{site}/status/{complaint.tracking_code}")
    expect(public.locator("main")).to_contain_text("Diteruskan ke instansi")
    expect(public.locator("body")).not_to_contain_text("ditelepon")
    expect(public.locator("body")).not_to_contain_text("alat ukur")

    liaison = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    _login(liaison, site, "pupr")
    liaison.goto(f"{site}/admin/complaints/{complaint.tracking_code}")
    expect(liaison.locator("#notes-list")).to_contain_text("bawa alat ukur")
    expect(liaison.locator("body")).not_to_contain_text("ditelepon")


def test_a_saved_reply_with_variables_is_sent_from_the_chat(  # type: ignore[no-untyped-def]
    browser, site: str, gateway: Gateway, directory: Directory, accounts: Accounts
) -> None:
    complaint = _complaint(gateway, category="pengaduan")
    page = browser.new_page()
    _login(page, site, "koor")
    page.goto(f"{site}/admin/replies")
    page.get_by_label("Judul").fill("Mohon foto")
    page.get_by_label("Teks (Bahasa Indonesia)").fill(
        "Untuk aduan {kode} ({judul}), mohon kirim foto lokasi."
    )
    page.get_by_label("Kelas").select_option("pengaduan")
    page.get_by_role("button", name="Simpan").click()
    expect(page.get_by_text("Balasan tersimpan disimpan.")).to_be_visible()

    page.goto(f"{site}/admin/complaints/{complaint.tracking_code}")
    box = page.locator("#chat-reply-text")
    box.fill("Halo.")
    page.locator("#saved-chat-reply-text").select_option(label="Mohon foto")
    expected = (
        f"Halo.\n\nUntuk aduan {complaint.tracking_code} (Jalan berlubang di Lasem), "
        "mohon kirim foto lokasi."
    )
    expect(box).to_have_value(expected)
    page.locator("#chat-reply").get_by_role("button", name="Kirim balasan").click()
    expect(page.get_by_text("Pesan sudah dikirim ke pelapor.")).to_be_visible()
    sent = page.locator("#chat li.bubble.out").last
    expect(sent).to_contain_text(f"Untuk aduan {complaint.tracking_code}")
    expect(sent.locator(".delivery")).to_contain_text("antre")


def test_the_list_updates_while_a_second_browser_acts(  # type: ignore[no-untyped-def]
    browser, chromium, site: str, gateway: Gateway, accounts: Accounts
) -> None:
    complaint = _complaint(gateway)
    _colleague(gateway)
    page = browser.new_page()
    _login(page, site, "koor")
    search = page.get_by_label("Cari aduan")
    search.fill("sedang mengetik")  # typed, not submitted: must survive the refresh
    row = page.locator(f'#inbox-table tr[data-code="{complaint.tracking_code}"]')
    expect(row.locator("td.assignee")).to_have_text("—")

    second = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        other = second.new_page()
        _login(other, site, "rekan")
        other.goto(f"{site}/admin/complaints/{complaint.tracking_code}")
        other.get_by_role("button", name="Saya tangani").click()
        expect(other.locator("#assignee")).to_have_text("Ditangani oleh Rekan Sari")
    finally:
        second.close()

    expect(row.locator("td.assignee")).to_have_text("Rekan Sari", timeout=10000)
    expect(row).to_contain_text("Diubah oleh Rekan Sari")
    expect(search).to_have_value("sedang mengetik")
    assert page.url == f"{site}/admin"  # no reload

    # The complaint page says so too, and keeps what is typed.
    page.goto(f"{site}/admin/complaints/{complaint.tracking_code}")
    page.get_by_label("Catatan baru").fill("belum selesai ditulis")
    again = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        other = again.new_page()
        _login(other, site, "rekan")
        other.goto(f"{site}/admin/complaints/{complaint.tracking_code}")
        other.get_by_role("button", name="Lepaskan penanganan").click()
        expect(other.locator("#assignee")).to_contain_text("Belum ada")
    finally:
        again.close()
    expect(page.locator("#live-banner")).to_contain_text("Diubah oleh Rekan Sari", timeout=10000)
    expect(page.get_by_label("Catatan baru")).to_have_value("belum selesai ditulis")


def test_the_map_without_tiles_shows_pins_clusters_and_kecamatan(  # type: ignore[no-untyped-def]
    browser, site: str, gateway: Gateway, directory: Directory, accounts: Accounts
) -> None:
    now = datetime.now(UTC)
    late = _complaint(
        gateway,
        Status.DISPOSED,
        agency_id=directory.dpupr,
        latitude=-6.6969,
        longitude=111.4440,
        answer_due_at=now - timedelta(days=2),
        title="Jembatan retak",
    )
    _complaint(gateway, latitude=-6.6985, longitude=111.4455, title="Dekat jembatan")
    _complaint(gateway, kecamatan="Sarang", title="Sampah di Sarang")  # at the centroid
    page = browser.new_page()
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(site) else None)
    _login(page, site, "koor")
    page.get_by_role("link", name="Peta").click()
    expect(page.locator("#admin-map")).to_have_attribute("data-drawn", "3")
    expect(page.locator("#admin-map-count")).to_have_text("3 aduan pada peta")
    expect(page.locator(".kec-label", has_text="Lasem")).to_be_visible()
    expect(page.locator(".leaflet-tile")).to_have_count(0)
    cluster = page.locator(".pin-cluster").first
    expect(cluster).to_have_text("2")
    expect(cluster).to_have_class(
        "leaflet-marker-icon pin-cluster pin-overdue leaflet-zoom-animated leaflet-interactive"
    )
    cluster.click()  # zooms in until the two pins part
    expect(page.locator(f'.pin[data-code="{late.tracking_code}"]')).to_be_visible(timeout=10000)
    page.locator(f'.pin[data-code="{late.tracking_code}"]').click()
    page.locator(".leaflet-popup").get_by_role("link", name=late.tracking_code).click()
    page.wait_for_url(f"**/admin/complaints/{late.tracking_code}")
    expect(page.locator("#complaint-map")).to_have_attribute("data-drawn", "1")
    page.get_by_role("link", name="Peta").click()
    page.get_by_label("Perangkat daerah").select_option(str(directory.dlh))
    page.get_by_role("button", name="Terapkan").click()
    expect(page.locator("#admin-map")).to_have_attribute("data-drawn", "0")
    assert outside == []


def test_the_liaison_pages_work_on_a_phone(  # type: ignore[no-untyped-def]
    browser, site: str, gateway: Gateway, directory: Directory, accounts: Accounts
) -> None:
    complaint = _complaint(
        gateway, Status.DISPOSED, agency_id=directory.dpupr, latitude=-6.70, longitude=111.44
    )
    page = browser.new_page()
    page.set_viewport_size({"width": 360, "height": 740})
    _login(page, site, "pupr")

    def fits() -> None:
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 360, f"{page.url} is {width}px wide on a 360px screen"

    fits()
    page.get_by_role("link", name=complaint.tracking_code).click()
    fits()
    take = page.get_by_role("button", name="Saya tangani")
    box = take.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 44
    take.click()
    expect(page.locator("#assignee")).to_have_text("Ditangani oleh pupr")
    fits()
    page.get_by_role("link", name="Peta").click()
    expect(page.locator("#admin-map")).to_have_attribute("data-drawn", "1")
    fits()
