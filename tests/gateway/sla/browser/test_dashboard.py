"""The reports dashboard in a real browser (Debian's chromium): the charts are drawn by the
vendored Chart.js, with the report's figures, and nothing is fetched from the internet."""

from __future__ import annotations

import re

import pytest

from gateway.context import Gateway
from tests.gateway.admin.conftest import Accounts, Directory
from tests.gateway.admin.test_browser import _login
from tests.gateway.sla import story
from tests.gateway.sla.story import wib

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def test_the_dashboard_draws_its_charts_offline(  # type: ignore[no-untyped-def]
    browser, site: str, gateway: Gateway, directory: Directory, accounts: Accounts
) -> None:
    for agency, day in ((directory.dpupr, 1), (directory.dpupr, 6), (directory.dlh, 7)):
        code = story.file(gateway, wib(10, day))
        story.verify(gateway, code, wib(10, day, 12))
        story.dispose(gateway, code, wib(10, day, 14), agency)
    page = browser.new_page()
    outside: list[str] = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(site) else None,
    )
    # The Content-Security-Policy (issue 13) must not refuse anything the page needs.
    refused: list[str] = []
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    _login(page, site, "koor")
    page.goto(f"{site}/admin/reports?kind=monthly&period=2026-10")
    expect(page.locator("#report-title")).to_contain_text("Rekap Bulanan 2026-10")
    for chart in ("chart-trend", "chart-agencies", "chart-channels"):
        expect(page.locator(f"#{chart}")).to_have_attribute("data-rendered", re.compile(r"\d+"))
    drawn = page.evaluate(
        """() => {
          const chart = Chart.getChart(document.getElementById('chart-agencies'));
          const canvas = chart.canvas;
          return {labels: chart.data.labels, received: chart.data.datasets[0].data,
                  width: canvas.width, height: canvas.height};
        }"""
    )
    assert dict(zip(drawn["labels"], drawn["received"], strict=True)) == {
        "Dinas Pekerjaan Umum": 2,
        "Dinas Lingkungan Hidup": 1,
    }
    assert drawn["width"] > 100 and drawn["height"] > 100
    trend = page.evaluate(
        "() => Chart.getChart(document.getElementById('chart-trend')).data.datasets[0].data"
    )
    assert len(trend) == 31 and sum(trend) == 3
    assert outside == []
    assert refused == []
