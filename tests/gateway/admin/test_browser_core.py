"""In a real browser, the whole way into SP4N-LAPOR!: a koordinator disposes (the page says the
report is queued, then accepted with its LAPOR! number), a liaison officer marks the complaint
in progress and answers with a proof photo, and the simulated core's own page shows "sedang
diproses" and then the answer with the photo, fetched from the gateway through its signed link.

The gateway and the core simulator each run under uvicorn on a free 127.0.0.1 port; the outbox
is dispatched by the test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from channels.fakes.server import FakeServer
from config.settings import Settings
from gateway.context import Gateway
from gateway.store.db import Database
from gateway.store.models import Complaint, Status
from tests.channels.cases import channel_settings
from tests.conftest import RunningTwilio
from tests.gateway.admin.conftest import PASSWORD, Accounts, Directory
from tests.gateway.core_env import start_core
from tests.gateway.factories import make_complaint
from tests.images import image_bytes

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
ANSWER = "Lubang sudah ditambal tim DPUPR pada hari Senin."


@pytest.fixture
def core(tmp_path: Path) -> Iterator[str]:
    server, _core, url = start_core(tmp_path)
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture
def settings(tmp_path: Path, db_url: str, twilio: RunningTwilio, core: str) -> Settings:
    return channel_settings(
        app_env="test",
        database_url=db_url,
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        secret_key="test-secret-key-not-for-production",
        twilio_api_base_url=twilio.url,
        core_backend="simulator",
        core_base_url=core,
        core_timeout_seconds=5,
        core_retries=0,
    )


@pytest.fixture
def gateway(settings: Settings, db: Database) -> Gateway:
    return Gateway.create(settings, db=db)


@pytest.fixture
def site(app, gateway: Gateway) -> Iterator[str]:  # type: ignore[no-untyped-def]
    server = FakeServer(app)
    url = f"http://127.0.0.1:{server.port}"
    # The core fetches the answer photo from the gateway's public address: this server.
    gateway.settings = gateway.settings.model_copy(update={"public_base_url": url})
    try:
        server.start()
        yield url
    finally:
        server.stop()


@pytest.fixture
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make browser-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _person(browser):  # type: ignore[no-untyped-def]
    """A page in a browser context of its own (its own cookies: one person, one login)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15000)
    return context.new_page()


def _dispatch(gateway: Gateway) -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, gateway.dispatcher("browser-test").drain()).result()


def _login(page, site: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{site}/admin")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_label("Kata sandi").press("Enter")
    page.wait_for_url(f"{site}/admin")


def test_dispose_acknowledge_answer_with_photo_show_up_in_lapor(  # type: ignore[no-untyped-def]
    browser,
    site: str,
    core: str,
    gateway: Gateway,
    directory: Directory,
    accounts: Accounts,
    tmp_path: Path,
) -> None:
    code = make_complaint(
        gateway.db,
        Status.VERIFIED,
        category="pengaduan",
        title="Jalan berlubang di depan Pasar Lasem",
        clean_text="Jalan di depan Pasar Lasem berlubang besar",
        reply_channel="webform",
        reply_address="web:warga",
    ).tracking_code

    koor = _person(browser)
    _login(koor, site, "koor")
    koor.goto(f"{site}/admin/complaints/{code}")
    koor.locator("#dispose-agency").select_option(str(directory.dpupr))
    koor.locator("#form-dispose").get_by_role("button", name="Disposisikan").click()
    expect(koor.get_by_text("laporan ke SP4N-LAPOR! sudah antre")).to_be_visible()
    expect(koor.locator('#core-rows tr[data-kind="core_submit"]')).to_contain_text("antre")

    _dispatch(gateway)
    with gateway.db.read_session() as session:
        core_id = session.scalar(select(Complaint.core_ref).where(Complaint.tracking_code == code))
    assert core_id
    koor.reload()
    submitted = koor.locator('#core-rows tr[data-kind="core_submit"]')
    expect(submitted).to_contain_text("terkirim")
    expect(submitted).to_contain_text(f"Diterima SP4N-LAPOR! ({core_id})")

    photo = tmp_path / "hasil.jpg"
    photo.write_bytes(image_bytes("JPEG", (40, 30)))
    liaison = _person(browser)
    _login(liaison, site, "pupr")
    liaison.goto(f"{site}/admin/complaints/{code}")
    liaison.get_by_role("button", name="Tandai sedang diproses").click()
    expect(
        liaison.get_by_text("pemberitahuan ke pelapor dan ke SP4N-LAPOR! sudah antre")
    ).to_be_visible()
    liaison.get_by_label("Jawaban untuk pelapor").fill(ANSWER)
    liaison.get_by_label("Foto hasil tindak lanjut (bukti penyelesaian)").set_input_files(
        str(photo)
    )
    liaison.get_by_role("button", name="Kirim jawaban").click()
    expect(
        liaison.get_by_text("Jawaban antre untuk dikirim ke pelapor dan ke SP4N-LAPOR!.")
    ).to_be_visible()
    expect(liaison.locator('#core-rows tr[data-kind="core_answer"]')).to_contain_text("antre")
    _dispatch(gateway)

    lapor = _person(browser)
    lapor.goto(f"{core}/laporan/{core_id}")
    expect(lapor.locator("h1 + p .status")).to_have_text("Ditindaklanjuti")
    history = lapor.locator('tr[data-origin="gateway"]')
    expect(history).to_have_count(2)
    expect(history.nth(0)).to_contain_text("Laporan sedang diproses oleh Dinas Pekerjaan Umum.")
    expect(history.nth(0)).to_contain_text("Proses")
    expect(history.nth(1)).to_contain_text(ANSWER)
    expect(history.nth(1)).to_contain_text("lewat gateway")
    proof = history.nth(1).locator("img")
    expect(proof).to_have_count(1)
    proof.scroll_into_view_if_needed()
    # The image really loaded from the gateway's signed link (a broken one has no width).
    lapor.wait_for_function(
        "img => img.complete && img.naturalWidth === 40", arg=proof.element_handle()
    )

    koor.reload()
    for kind in ("core_progress", "core_answer"):
        expect(koor.locator(f'#core-rows tr[data-kind="{kind}"]')).to_contain_text("terkirim")
    expect(koor.locator("#timeline")).to_contain_text("Jawaban dikirim ke SP4N-LAPOR!")
