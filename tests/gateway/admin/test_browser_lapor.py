"""In a real browser, a report filed directly in SP4N-LAPOR! round-trips through the one inbox:
a citizen files it in the simulated LAPOR!'s /warga form, LAPOR!'s national admin presses
"Disposisikan ke pemda", the intake poll brings it into the inbox (channel filter `lapor`), the
koordinator verifies and disposes it there (both reach the LAPOR! record, never a second
report), the liaison officer answers, and the citizen reads the answer on their LAPOR! page.

The gateway and the core simulator each run on a free 127.0.0.1 port (the fixtures of
test_browser_core.py); the poll and the outbox are run by the test instead of the scheduler.
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from gateway.context import Gateway
from gateway.core import intake
from gateway.store.models import Complaint, OutboxItem
from tests.gateway.admin.conftest import Accounts, Directory
from tests.gateway.admin.test_browser_core import (  # noqa: F401 - fixtures
    _dispatch,
    _login,
    _person,
    browser,
    core,
    expect,
    gateway,
    settings,
    site,
)

pytestmark = pytest.mark.browser
ANSWER = "Saluran di Jl. Kartini sudah dibersihkan tim DPUPR pada hari Selasa."


def _poll(running: Gateway) -> int:
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, intake.poll_incoming(running)).result()


def test_a_report_filed_in_lapor_round_trips_through_the_inbox(  # type: ignore[no-untyped-def]
    browser,  # noqa: F811
    site: str,  # noqa: F811
    core: str,  # noqa: F811
    gateway: Gateway,  # noqa: F811
    directory: Directory,
    accounts: Accounts,
) -> None:
    citizen = _person(browser)
    citizen.goto(f"{core}/warga")
    citizen.locator("#kanal").select_option("sms1708")
    citizen.locator("#judul").fill("Saluran air tersumbat")
    citizen.locator("#isi").fill(
        "Saluran air di Jl. Kartini Leteh tersumbat sampah, air meluap ke jalan setiap hujan."
    )
    citizen.locator("#kelurahan").fill("Leteh")
    citizen.locator("#kecamatan").fill("Rembang")
    citizen.get_by_role("button", name="Lapor!").click()
    citizen.wait_for_url(re.compile(r".*/warga/laporan/\d+.*"))
    found = re.search(r"/warga/laporan/(\d+)", citizen.url)
    assert found is not None
    core_id = found.group(1)

    national = _person(browser)
    national.goto(f"{core}/laporan/{core_id}")
    national.get_by_role("button", name="Disposisikan ke pemda").click()
    assert _poll(gateway) == 1

    koor = _person(browser)
    _login(koor, site, "koor")
    koor.goto(f"{site}/admin?channel=lapor")
    row = koor.locator("table.inbox tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Saluran air tersumbat")
    code = row.locator("a.code-inline").inner_text().strip()
    koor.goto(f"{site}/admin/complaints/{code}")
    expect(koor.locator("body")).to_contain_text(core_id)
    for check in ("#v-relevant", "#v-complete", "#v-clear"):
        koor.locator(check).check()
    koor.locator("#v-category").select_option("pengaduan")
    koor.get_by_role("button", name="Verifikasi").click()
    koor.locator("#dispose-agency").select_option(str(directory.dpupr))
    koor.locator("#form-dispose").get_by_role("button", name="Disposisikan").click()
    expect(koor.locator('#core-rows tr[data-kind="core_dispose"]')).to_contain_text("antre")
    _dispatch(gateway)
    koor.reload()
    expect(koor.locator('#core-rows tr[data-kind="core_verify"]')).to_contain_text("terkirim")
    expect(koor.locator('#core-rows tr[data-kind="core_dispose"]')).to_contain_text("terkirim")

    liaison = _person(browser)
    _login(liaison, site, "pupr")
    liaison.goto(f"{site}/admin/complaints/{code}")
    liaison.get_by_role("button", name="Tandai sedang diproses").click()
    liaison.get_by_label("Jawaban untuk pelapor").fill(ANSWER)
    liaison.get_by_role("button", name="Kirim jawaban").click()
    _dispatch(gateway)

    citizen.goto(f"{core}/warga/laporan/{core_id}")
    expect(citizen.locator("body")).to_contain_text(ANSWER)
    national.goto(f"{core}/laporan/{core_id}")
    expect(national.locator("h1 + p .status")).to_have_text("Ditindaklanjuti")
    with gateway.db.read_session() as session:
        kinds = session.scalars(select(OutboxItem.kind).order_by(OutboxItem.id)).all()
        complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
    assert "core_submit" not in kinds and "reply" not in kinds
    assert complaint is not None and complaint.core_ref == core_id
