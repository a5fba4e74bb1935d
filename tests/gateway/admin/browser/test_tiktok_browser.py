"""TikTok capture in a real browser (Debian's chromium): a koordinator pastes a comment with a
screenshot at /admin/tiktok, copies the public reply from the complaint page, records it posted,
and — once the complaint is answered — does the same with the "answered" reply."""

from __future__ import annotations

import pytest

from gateway.context import Gateway
from tests.gateway.admin.conftest import Accounts, Directory
from tests.gateway.admin.test_browser import _login
from tests.gateway.factories import answer_as_agency, verify_and_dispose
from tests.images import phone_photo

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

LINK = "https://www.tiktok.com/@pemkabrembang/video/7301234567890123456"


def _answer(gateway: Gateway, code: str, agency_id: int) -> None:
    verify_and_dispose(gateway, code, title="Jalan rusak di Sumbergirang", agency_id=agency_id)
    answer_as_agency(gateway, code, "Sudah ditambal DPUPR.")


def test_capture_copy_and_record_the_public_replies(  # type: ignore[no-untyped-def]
    browser, site: str, gateway: Gateway, accounts: Accounts, directory: Directory
) -> None:
    page = browser.new_page()
    _login(page, site, "koor")
    page.get_by_role("link", name="TikTok").click()
    page.get_by_label("Tautan video atau komentar TikTok").fill(LINK + "?_r=1&_t=8abc")
    page.get_by_label("Akun pengomentar").fill("@warga_lasem")
    page.get_by_label("Isi komentar (apa adanya)").fill(
        "min jalan di desa sumbergirang lasem rusak parah, tolong diperbaiki"
    )
    page.get_by_label("Tangkapan layar (opsional)").set_input_files(
        {"name": "layar.jpg", "mimeType": "image/jpeg", "buffer": phone_photo("JPEG")}
    )
    page.get_by_role("button", name="Catat sebagai laporan").click()
    page.wait_for_url(f"{site}/admin/complaints/LPR-*")
    code = page.url.rsplit("/", 1)[1]
    expect(page.locator("#tiktok-link")).to_have_text(LINK)  # the share tracking is gone
    expect(page.locator("#tiktok-handle")).to_have_text("@warga_lasem")
    received = page.locator("#tiktok-text-received")
    expect(received).to_have_value(
        f"Terima kasih, sudah kami terima dengan kode {code}. Cek status: http://127.0.0.1:8000/status/{code}"
    )
    box = page.locator("#tiktok-reply-received")
    box.get_by_role("button", name="Salin").click()
    expect(box.get_by_role("button", name="Tersalin")).to_be_visible()
    box.get_by_role("button", name="Sudah diposting di TikTok").click()
    expect(page.locator("#tiktok-posted-received")).to_contain_text("oleh koor")
    expect(page.locator("#tiktok-reply-answered")).to_contain_text("siap setelah laporan dijawab")

    _answer(gateway, code, directory.dpupr)
    page.reload()
    answered = page.locator("#tiktok-reply-answered")
    expect(page.locator("#tiktok-text-answered")).to_have_value(
        f"Sudah ditindaklanjuti, kode {code}. Cek status: http://127.0.0.1:8000/status/{code}"
    )
    answered.get_by_role("button", name="Sudah diposting di TikTok").click()
    expect(page.locator("#tiktok-posted-answered")).to_be_visible()
    expect(page.locator("#timeline, .timeline").first).to_contain_text("diposting di TikTok")
