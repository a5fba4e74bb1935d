"""The admin inbox in a real browser (Debian's chromium driven by Playwright): log in, filter,
verify and dispose (the liaison officers' WhatsApp notices reach the fake Twilio), and a liaison
officer answering with a photo (the answer goes back to the citizen's WhatsApp).

The app is served by uvicorn on a free 127.0.0.1 port in a thread; the outbox is dispatched by
the test, so every message crosses the real channel code into the fake provider.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from channels.fakes.server import FakeServer
from config.settings import Settings
from gateway.context import Gateway
from gateway.store.db import Database
from gateway.store.models import Complaint, Reporter, ReporterIdentity, Status
from tests.channels.cases import channel_settings
from tests.conftest import RunningTwilio
from tests.gateway.admin.conftest import PASSWORD, Accounts, Directory
from tests.gateway.factories import make_complaint
from tests.images import image_bytes

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CITIZEN = "+6281234500001"
TEMPLATE = "HX" + "0" * 31 + "1"


@pytest.fixture
def settings(tmp_path: Path, db_url: str, twilio: RunningTwilio) -> Settings:
    """The gateway talks to the fake Twilio; liaison notices go out as an approved template."""
    return channel_settings(
        app_env="test",
        database_url=db_url,
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        secret_key="test-secret-key-not-for-production",
        public_base_url="http://127.0.0.1:8000",
        twilio_api_base_url=twilio.url,
        twilio_whatsapp_templates={"notification": TEMPLATE},
    )


@pytest.fixture
def gateway(settings: Settings, db: Database) -> Gateway:
    return Gateway.create(settings, db=db)


@pytest.fixture
def site(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    server = FakeServer(app)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make browser-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser(chromium) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15000)
    yield context
    context.close()


@dataclass(frozen=True)
class Cases:
    road: str  # from WhatsApp, waiting to be verified
    light: str  # from the web form


@pytest.fixture
def cases(gateway: Gateway, directory: Directory, accounts: Accounts) -> Cases:
    now = datetime.now(UTC)
    with gateway.db.session() as session:
        reporter = Reporter(display_name="Warga Lasem", phone=CITIZEN)
        session.add(reporter)
        session.flush()
        session.add(
            ReporterIdentity(
                reporter_id=reporter.id,
                channel="twilio_whatsapp",
                address=CITIZEN,
                last_inbound_at=now - timedelta(minutes=5),
            )  # type: ignore[arg-type]
        )
        session.commit()
        reporter_id = reporter.id
    road = make_complaint(
        gateway.db,
        Status.RECEIVED,
        origin_channel="twilio_whatsapp",
        reporter_id=reporter_id,
        reply_channel="twilio_whatsapp",
        reply_address=CITIZEN,
        title="Jalan berlubang Lasem",
        original_text="Jalan di depan pasar Lasem berlubang besar",
        clean_text="Jalan di depan pasar Lasem berlubang besar",
        received_at=now,
        agency_suggestions=[
            {
                "code": "DPUPR",
                "agency_id": directory.dpupr,
                "score": 0.9,
                "reason": "kata kunci: jalan berlubang",
            }
        ],
    )
    light = make_complaint(
        gateway.db,
        Status.RECEIVED,
        origin_channel="webform",
        title="Lampu PJU mati",
        clean_text="Lampu jalan di Sluke mati",
        received_at=now - timedelta(hours=1),
    )
    return Cases(road.tracking_code, light.tracking_code)


def _dispatch(gateway: Gateway) -> None:
    """Deliver the outbox now (in a thread of its own: Playwright's loop owns this one)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, gateway.dispatcher("browser-test").drain()).result()


def _login(page, site: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{site}/admin")
    assert "/admin/login" in page.url
    # Keyboard only: into the username field, Tab to the password, Enter submits.
    page.get_by_label("Nama pengguna").focus()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site}/admin")


def test_login_and_filter_the_inbox(browser, site: str, cases: Cases) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    _login(page, site, "koor")
    rows = page.locator("#inbox-table tbody tr")
    expect(rows).to_have_count(2)
    page.locator("details.filters summary").click()
    page.get_by_label("Kanal").select_option("twilio_whatsapp")
    page.get_by_role("button", name="Terapkan").click()
    page.wait_for_url("**channel=twilio_whatsapp**")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(cases.road)
    page.get_by_label("Cari aduan").fill("sluke")
    page.get_by_label("Cari aduan").press("Enter")
    page.wait_for_url("**q=sluke**")
    expect(page.locator("#inbox-empty")).to_be_visible()  # both filters apply
    page.goto(f"{site}/admin?q=sluke")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(cases.light)
    expect(page.locator("#status-tabs")).to_contain_text("Terbuka")


def test_verify_and_dispose_notifies_the_liaison_officers_on_whatsapp(  # type: ignore[no-untyped-def]
    browser,
    site: str,
    gateway: Gateway,
    directory: Directory,
    cases: Cases,
    twilio: RunningTwilio,
) -> None:
    page = browser.new_page()
    _login(page, site, "koor")
    page.get_by_role("link", name=cases.road).click()
    page.get_by_label("relevan (menyangkut pelayanan publik)").check()
    page.get_by_label("lengkap (uraian dan data pendukung)").check()
    page.get_by_label("jelas (apa, di mana, kapan)").check()
    page.locator("#v-title").fill("Jalan berlubang di depan Pasar Lasem")
    page.locator("#v-category").select_option("pengaduan")
    page.locator("#v-kecamatan").fill("Lasem")
    page.get_by_role("button", name="Verifikasi", exact=True).click()
    expect(page.get_by_text("Aduan sudah diverifikasi.")).to_be_visible()
    # The suggested agency is already chosen.
    expect(page.locator("#dispose-agency")).to_have_value(str(directory.dpupr))
    page.locator("#form-dispose").get_by_role("button", name="Disposisikan").click()
    expect(page.get_by_text("laporan ke SP4N-LAPOR! sudah antre")).to_be_visible()
    expect(page.locator("#complaint-agency")).to_have_text("Dinas Pekerjaan Umum")

    _dispatch(gateway)
    notices = [m for m in twilio.fake.sent if m.content_sid == TEMPLATE]
    assert sorted(m.to for m in notices) == sorted(
        f"whatsapp:{n}" for n in directory.dpupr_liaisons
    )
    variables = json.loads(notices[0].content_variables or "{}")
    assert variables["code"] == cases.road
    assert variables["title"] == "Jalan berlubang di depan Pasar Lasem"
    assert variables["deadline"] and variables["link"].endswith(f"/admin/complaints/{cases.road}")
    told = [m.body for m in twilio.fake.sent if m.to == f"whatsapp:{CITIZEN}"]
    assert len(told) == 2  # verified, and disposed to the agency
    assert any("sudah diverifikasi" in body for body in told)
    assert any("sudah diteruskan ke Dinas Pekerjaan Umum" in body for body in told)


def test_a_liaison_answers_with_a_photo_and_the_citizen_gets_it(  # type: ignore[no-untyped-def]
    browser,
    site: str,
    gateway: Gateway,
    directory: Directory,
    cases: Cases,
    twilio: RunningTwilio,
    tmp_path: Path,
) -> None:
    with gateway.db.session() as session:
        road = session.scalar(select(Complaint).where(Complaint.tracking_code == cases.road))
        road.status, road.agency_id = Status.DISPOSED.value, directory.dpupr  # type: ignore[union-attr]
        session.commit()
    photo = tmp_path / "hasil.jpg"
    photo.write_bytes(image_bytes("JPEG"))
    page = browser.new_page()
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    _login(page, site, "pupr")
    expect(page.locator("#inbox-table tbody tr")).to_have_count(1)  # only their agency's
    page.get_by_role("link", name=cases.road).click()
    page.get_by_role("button", name="Tandai sedang diproses").click()
    expect(page.get_by_text("Aduan ditandai sedang diproses")).to_be_visible()
    page.get_by_label("Jawaban untuk pelapor").fill("Lubang sudah ditambal pada hari Senin.")
    page.get_by_label("Foto hasil tindak lanjut (bukti penyelesaian)").set_input_files(str(photo))
    page.get_by_role("button", name="Kirim jawaban").click()
    expect(
        page.get_by_text("Jawaban antre untuk dikirim ke pelapor dan ke SP4N-LAPOR!.")
    ).to_be_visible()
    expect(page.locator("#result-photos img")).to_have_count(1)
    expect(page.locator("#complaint-status")).to_have_text("Sudah dijawab")

    _dispatch(gateway)
    answers = [m for m in twilio.fake.sent if "Lubang sudah ditambal" in m.body]
    assert [m.to for m in answers] == [f"whatsapp:{CITIZEN}"]
    assert len(answers[0].media_urls) == 1 and "/media/" in answers[0].media_urls[0]
