"""`/_demo`: what the demo's fake Twilio and Telegram delivered, readable on a phone.

Seen on a first run: on a phone the page was a four-column table wider than the screen (long
WhatsApp numbers, template ids and media links pushed it sideways). The messages are sent here
through the fakes' own HTTP APIs, as the gateway's channels send them, and the page is opened in
Debian's chromium at 360 px.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from channels.fakes.server import FakeServer
from config.settings import load_settings
from gateway.app import create_app
from gateway.dev import demo

CHROMIUM = "/usr/bin/chromium"
LONG_TEXT = (
    "Laporan Anda sudah kami terima dengan kode LPR-HK2XE6. Ringkasan: Jalan di Desa "
    "Sumbergirang Lasem berlubang besar. Kami kabari perkembangannya di sini. Cek status: "
    "ketik CEK LPR-HK2XE6"
)
LINK = "http://127.0.0.1:8000/admin/complaints/LPR-HK2XE6?" + "x" * 80


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    settings = load_settings(
        _env_file=None,
        app_env="development",  # demo mode: no provider credentials, fakes mounted
        database_url=f"sqlite:///{tmp_path / 'demo.db'}",
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
    )
    assert demo.is_demo(settings)
    server = FakeServer(create_app(settings))
    base = server.start()
    twilio = f"{base}{demo.TWILIO_PREFIX}/2010-04-01/Accounts/{demo.DEMO_TWILIO_SID}/Messages.json"
    auth = (demo.DEMO_TWILIO_SID, demo.DEMO_TWILIO_TOKEN)
    sends = [
        {"To": "+6281234567890", "From": demo.DEMO_SMS_NUMBER, "Body": LONG_TEXT},
        {
            "To": "whatsapp:+6281100000101",
            "From": "whatsapp:" + demo.DEMO_WHATSAPP_NUMBER,
            "ContentSid": demo.DEMO_NOTIFICATION_TEMPLATE,
            "ContentVariables": json.dumps({"1": "LPR-HK2XE6", "2": LINK}),
        },
        {
            "To": "whatsapp:+6281234560011",
            "From": "whatsapp:" + demo.DEMO_WHATSAPP_NUMBER,
            "Body": "Foto bukti penyelesaian",
            "MediaUrl": LINK,
        },
    ]
    try:
        for form in sends:
            assert httpx.post(twilio, data=form, auth=auth).status_code == 201
        telegram = f"{base}{demo.TELEGRAM_PREFIX}/bot{demo.DEMO_TELEGRAM_TOKEN}/sendMessage"
        sent = httpx.post(
            telegram, json={"chat_id": 111222333, "text": "Halo Budi! Ini layanan LAPOR!"}
        )
        assert sent.status_code == 200
        yield base
    finally:
        server.stop()


def test_the_demo_page_lists_every_delivery_newest_first(site: str) -> None:
    html = httpx.get(f"{site}/_demo").text
    assert 'name="viewport"' in html
    order = [html.index(s) for s in ("Halo Budi!", "Foto bukti", "(template", "Laporan Anda")]
    assert order == sorted(order)  # newest first, Twilio and Telegram together
    assert "whatsapp:+6281100000101" in html and LINK in html
    english = httpx.get(f"{site}/_demo?lang=en").text
    assert 'lang="en"' in english and "Belum ada" not in english


@pytest.mark.browser
def test_the_demo_page_fits_a_360_px_phone(site: str) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make browser-deps)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 360, "height": 740}, is_mobile=True)
            page.goto(f"{site}/_demo")
            sizes = page.evaluate(
                """() => ({
                    scroll: document.documentElement.scrollWidth,
                    width: window.innerWidth,
                    smallest: Math.min(...[...document.querySelectorAll('main *')]
                        .filter(el => [...el.childNodes].some(
                            n => n.nodeType === 3 && n.textContent.trim()))
                        .map(el => parseFloat(getComputedStyle(el).fontSize))),
                })"""
            )
            # A page wider than the phone is zoomed out (mobile layout viewport) or scrolls.
            assert sizes["scroll"] <= 360 and sizes["width"] == 360, f"too wide: {sizes}"
            assert sizes["smallest"] >= 13, f"text too small to read: {sizes}"
            body = page.get_by_text("Ringkasan: Jalan di Desa").first
            box = body.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
            assert box["width"] >= 250  # the message gets the screen, not a squeezed column
        finally:
            browser.close()
