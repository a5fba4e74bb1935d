"""A cluster of three reporters in a real browser (Debian's chromium driven by Playwright),
through the real gateway, the SP4N core simulator and the fake Twilio (issue 10, "Done when"):

SMS and WhatsApp reporters talk to the bot, a third reporter uses the web form in the browser;
the koordinator sees one case with three reporters, verifies and disposes it; the liaison
officer answers with a photo; the web-form reporter says PUAS on their private link and the SMS
reporter TIDAK PUAS. Checked: the core got one report (no reporter's number in its text), the
liaison's "sedang diproses" and answer with the photo (stripped of the phone's GPS and device
data) and every reporter's feedback on it; each reporter got each notice once; the inbox shows
one row; the public pages show the case's public steps and nothing private.

Each step is a small function over `Round`, so the round can be extended (the core receiving
the liaison's answer, photo metadata...) by adding steps and checks, not plumbing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from channels.fakes.server import FakeServer
from config.settings import Settings
from forwarder.simulator.core import CoreSimulator
from gateway.context import Gateway
from gateway.store.db import Database
from gateway.store.models import Complaint, Status
from tests.channels.cases import channel_settings
from tests.conftest import RunningTwilio
from tests.gateway import clusters
from tests.gateway.admin.conftest import Accounts, Directory
from tests.gateway.admin.test_browser import _login, chromium  # noqa: F401 - the fixture
from tests.gateway.clusters import ROAD, Reporter
from tests.gateway.core_env import start_core
from tests.images import phone_photo, private_traces

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

ANSWER = "Lubang di jalan Desa Sumbergirang sudah ditambal pada hari Senin."
SMS_REPORTER = "+6281240000001"
WA_REPORTER = "+6281240000002"


@dataclass
class Core:
    simulator: CoreSimulator
    url: str

    def reports(self) -> list[dict]:
        data = httpx.get(f"{self.url}/api/v1/reports", timeout=10).json()
        return data["reports"] if isinstance(data, dict) else data

    def report(self, core_id: str) -> dict:
        return httpx.get(f"{self.url}/api/v1/reports/{core_id}", timeout=10).json()  # type: ignore[no-any-return]

    def feedback(self, core_id: str) -> list[str]:
        return sorted(f.text for f in self.simulator.store.feedback_of(core_id))


@pytest.fixture
def core(tmp_path: Path) -> Iterator[Core]:
    server, simulator, url = start_core(tmp_path)
    try:
        yield Core(simulator, url)
    finally:
        server.stop()


@pytest.fixture
def settings(tmp_path: Path, db_url: str, twilio: RunningTwilio, core: Core) -> Settings:
    return channel_settings(
        app_env="test",
        database_url=db_url,
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        secret_key="test-secret-key-not-for-production",
        twilio_api_base_url=twilio.url,
        core_backend="simulator",
        core_base_url=core.url,
        core_timeout_seconds=5,
        core_retries=0,
    )


@pytest.fixture
def gateway(settings: Settings, db: Database) -> Gateway:
    return Gateway.create(settings, db=db)


@pytest.fixture
def site(app, gateway: Gateway) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app on a free port, and the gateway's public address set to it: the photo and
    private links the reporters get must open in the browser."""
    server = FakeServer(app)
    gateway.settings = gateway.settings.model_copy(update={"public_base_url": server.base_url})
    for cached in ("media_links", "reporter_links"):
        gateway.__dict__.pop(cached, None)
    try:
        yield server.start()
    finally:
        server.stop()


@dataclass
class Round:
    """One case and everyone in it; each step below moves it on."""

    gateway: Gateway
    site: str
    browser: object
    twilio: RunningTwilio
    core: Core
    directory: Directory
    reporters: dict[str, Reporter] = field(default_factory=dict)  # sms | whatsapp | web
    private_link: str = ""
    core_id: str = ""

    def dispatch(self) -> None:
        """Deliver the outbox now (in a thread: Playwright's loop owns this one)."""
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, self.gateway.dispatcher("browser-test").drain()).result()

    def complaint(self, who: str) -> Complaint:
        return clusters.complaint(self.gateway, self.reporters[who].code)

    def page(self):  # type: ignore[no-untyped-def]
        """A page in a browser of its own (each person has their own cookies)."""
        context = self.browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
        context.set_default_timeout(15000)
        return context.new_page()

    def sent_to(self, address: str) -> list[str]:
        return [m.body for m in self.twilio.fake.sent_to(address)]


# --- the steps ------------------------------------------------------------------------------------


def reporters_file_the_same_problem(r: Round) -> None:
    """SMS first (the case's primary), then WhatsApp, then the web form in the browser."""
    r.reporters["sms"] = clusters.by_chat(r.gateway, "twilio_sms", SMS_REPORTER)
    r.reporters["whatsapp"] = clusters.by_chat(r.gateway, "twilio_whatsapp", WA_REPORTER)
    page = r.page()
    page.goto(f"{r.site}/lapor")
    page.locator("#description").fill(ROAD.replace("sebulan", "satu bulan"))
    page.locator("#consent").check()
    page.get_by_role("button", name="Kirim Laporan").click()
    expect(page.locator("#tracking-code")).to_be_visible()
    code = page.locator("#tracking-code").inner_text().strip()
    r.private_link = page.locator("#private-link").get_attribute("href") or ""
    assert r.private_link.startswith(f"{r.site}/status/{code}/")
    with r.gateway.db.read_session() as session:  # the form's complaint is made after the ack
        for _ in range(100):
            made = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
            if made is not None:
                break
            page.wait_for_timeout(100)
            session.expire_all()
        assert made is not None
        r.reporters["web"] = Reporter(code, "webform", made.reply_address or "")
    page.close()
    primary = r.complaint("sms")
    assert r.complaint("whatsapp").cluster_id == primary.id == r.complaint("web").cluster_id


def koordinator_sees_one_case_and_disposes_it(r: Round) -> None:
    page = r.page()
    _login(page, r.site, "koor")
    rows = page.locator("#inbox-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".badge.reporters")).to_have_text("3 pelapor")
    primary = r.reporters["sms"].code
    page.get_by_role("link", name=primary).click()
    expect(page.locator("#case-reporters li")).to_have_count(3)
    page.get_by_label("relevan (menyangkut pelayanan publik)").check()
    page.get_by_label("lengkap (uraian dan data pendukung)").check()
    page.get_by_label("jelas (apa, di mana, kapan)").check()
    page.locator("#v-title").fill("Jalan berlubang di Desa Sumbergirang")
    page.locator("#v-category").select_option("pengaduan")
    page.get_by_role("button", name="Verifikasi", exact=True).click()
    expect(page.get_by_text("Aduan sudah diverifikasi.")).to_be_visible()
    page.locator("#dispose-agency").select_option(str(r.directory.dpupr))
    page.locator("#form-dispose").get_by_role("button", name="Disposisikan").click()
    expect(page.locator("#complaint-agency")).to_have_text("Dinas Pekerjaan Umum")
    # A follower's page shows the case and offers none of the case's actions.
    page.goto(f"{r.site}/admin/complaints/{r.reporters['whatsapp'].code}")
    expect(page.locator("#case-primary")).to_contain_text(primary)
    expect(page.locator("#form-dispose")).to_have_count(0)
    page.close()
    r.dispatch()


def liaison_answers_with_a_photo(r: Round, photo: Path) -> None:
    """The liaison's phone photo carries its GPS position and device: none of it may leave."""
    photo.write_bytes(phone_photo("JPEG", (48, 64), orientation=1))
    assert private_traces(photo.read_bytes())
    page = r.page()
    _login(page, r.site, "pupr")
    expect(page.locator("#inbox-table tbody tr")).to_have_count(1)
    page.get_by_role("link", name=r.reporters["sms"].code).click()
    page.get_by_role("button", name="Tandai sedang diproses").click()
    expect(page.get_by_text("Aduan ditandai sedang diproses")).to_be_visible()
    page.get_by_label("Jawaban untuk pelapor").fill(ANSWER)
    page.get_by_label("Foto hasil tindak lanjut (bukti penyelesaian)").set_input_files(str(photo))
    page.get_by_role("button", name="Kirim jawaban").click()
    expect(page.locator("#complaint-status")).to_have_text("Sudah dijawab")
    page.close()
    r.dispatch()


def web_reporter_says_puas_on_the_private_link(r: Round) -> None:
    page = r.page()
    page.goto(r.private_link)
    expect(page.locator("#answer")).to_contain_text(ANSWER)
    photo = page.locator("#answer-photos img")
    expect(photo).to_have_count(1)
    expect(photo).to_have_js_property("complete", True)
    assert photo.evaluate("img => img.naturalWidth") == 48  # served through the signed link
    served = httpx.get(photo.get_attribute("src") or "", timeout=10)
    assert served.status_code == 200 and private_traces(served.content) == []
    page.get_by_label("PUAS", exact=True).check()
    page.get_by_label("Komentar (opsional)").fill("Sudah rata, terima kasih")
    page.get_by_role("button", name="Kirim tanggapan").click()
    expect(page.locator("#feedback-done")).to_contain_text("tanggapan Anda sudah kami terima")
    page.close()
    # One PUAS does not close the case: it waits for the other reporters (docs/clusters.md).
    assert r.complaint("sms").status == Status.ANSWERED


def sms_reporter_says_tidak_puas(r: Round) -> None:
    said = r.reporters["sms"].says("TIDAK PUAS, lubangnya masih ada")
    assert said[-1].startswith("Terima kasih. Laporan")
    r.dispatch()


# --- the round ----------------------------------------------------------------------------------


def test_a_cluster_of_three_reporters_is_one_case_from_intake_to_feedback(  # type: ignore[no-untyped-def]
    chromium,  # noqa: F811 - the fixture
    site: str,
    gateway: Gateway,
    directory: Directory,
    accounts: Accounts,
    twilio: RunningTwilio,
    core: Core,
    tmp_path: Path,
) -> None:
    r = Round(gateway, site, chromium, twilio, core, directory)
    reporters_file_the_same_problem(r)
    koordinator_sees_one_case_and_disposes_it(r)
    reports = core.reports()
    assert len(reports) == 1 and reports[0]["idempotency_key"] == r.reporters["sms"].code
    r.core_id = reports[0]["id"]
    filed = core.report(r.core_id)
    # The primary's reporter in the reporter fields only; nobody's number in the text.
    assert filed["reporter_contact"] == SMS_REPORTER
    for number in (SMS_REPORTER, WA_REPORTER, SMS_REPORTER[3:], WA_REPORTER[3:]):
        assert number not in filed["description"] and number not in filed["title"]
    liaison_answers_with_a_photo(r, tmp_path / "hasil.jpg")
    for who in ("sms", "whatsapp", "web"):
        assert r.complaint(who).status == Status.ANSWERED

    # The core's record: the liaison's "sedang diproses", then the answer with its photo, once.
    record = core.report(r.core_id)
    assert [(e["kind"], e["status"]) for e in record["events"]] == [
        ("status", "in_process"),
        ("answer", "answered"),
    ]
    [core_photo] = record["events"][-1]["attachments"]
    assert record["events"][-1]["text"] == ANSWER
    fetched = httpx.get(core_photo["url"], timeout=10)  # the signed link the core fetches
    assert fetched.status_code == 200 and private_traces(fetched.content) == []
    web_reporter_says_puas_on_the_private_link(r)
    sms_reporter_says_tidak_puas(r)

    # The core: one report, and both reporters' feedback on it.
    assert len(core.reports()) == 1
    assert core.feedback(r.core_id) == [
        "PUAS: Sudah rata, terima kasih",
        "TIDAK PUAS, lubangnya masih ada",
    ]
    for who in ("sms", "whatsapp", "web"):
        assert r.complaint(who).status == Status.IN_PROGRESS

    # Each reporter: each notice once, on their own channel.
    assert set(clusters.notices_per_reporter_and_event(gateway).values()) == {1}
    sms, whatsapp = r.sent_to(SMS_REPORTER), r.sent_to(f"whatsapp:{WA_REPORTER}")
    for told in (sms, whatsapp):
        assert sum("sudah diverifikasi" in m for m in told) == 1, told
        assert sum("sudah diteruskan ke Dinas Pekerjaan Umum" in m for m in told) == 1, told
        assert sum("sedang ditindaklanjuti" in m for m in told) == 1, told
        assert sum(ANSWER in m for m in told) == 1, told
    assert sum("dibuka kembali" in m for m in whatsapp) == 1  # told the case reopened
    assert sum("kami buka kembali" in m for m in sms) == 1  # thanked for their feedback
    # The proof photo travels with the WhatsApp answer (SMS carries text only).
    [wa_answer] = [m for m in twilio.fake.sent_to(f"whatsapp:{WA_REPORTER}") if ANSWER in m.body]
    assert len(wa_answer.media_urls) == 1 and "/media/" in wa_answer.media_urls[0]
    web_told = clusters.texts_to(gateway, r.reporters["web"])
    assert (
        sum(ANSWER in m for m in web_told) == 1
        and sum("dibuka kembali" in m for m in web_told) == 1
    )

    # The inbox still shows one case of three reporters.
    page = r.page()
    _login(page, site, "koor")
    expect(page.locator("#inbox-table tbody tr")).to_have_count(1)
    expect(page.locator("#inbox-table .badge.reporters")).to_have_text("3 pelapor")

    # The public status pages: the state and the case's public steps (the answer included, for
    # the followers too); no photo, no form, no private link, no reporter's number, no feedback.
    secret = r.private_link.rsplit("/", 1)[1]
    for who in ("sms", "whatsapp", "web"):
        page.goto(f"{site}/status/{r.reporters[who].code}")
        expect(page.locator("#status")).to_have_text("Sedang diproses")
        expect(page.locator("main")).to_contain_text("Instansi memberikan jawaban")
        expect(page.locator("main")).to_contain_text(ANSWER)
        content = page.content()
        assert "<img" not in content and "feedback-form" not in content and secret not in content
        for private in (SMS_REPORTER, WA_REPORTER, "lubangnya masih ada", "Sudah rata"):
            assert private not in content
    page.close()
