"""Liaison officers open the WhatsApp link on a phone (issue 18): every page they reach — the
inbox, a complaint, the map, the reports of their agency — and the demo's `/_demo` fit a 360 px
wide screen without sideways scrolling, with touch targets of at least 44 px."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.context import Gateway
from gateway.store.models import Status
from tests.gateway.admin.conftest import Accounts, Directory
from tests.gateway.admin.test_browser import _login
from tests.gateway.factories import make_complaint

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def test_liaison_pages_and_the_demo_fit_a_phone(  # type: ignore[no-untyped-def]
    chromium, site: str, gateway: Gateway, directory: Directory, accounts: Accounts
) -> None:
    complaint = make_complaint(
        gateway.db,
        Status.DISPOSED,
        agency_id=directory.dpupr,
        title="Saluran air tersumbat di depan Pasar Lasem dekat jembatan lama",
        kecamatan="Lasem",
        received_at=datetime.now(UTC),
    )
    context = chromium.new_context(viewport={"width": 360, "height": 740}, has_touch=True)
    try:
        page = context.new_page()
        _login(page, site, "pupr")
        too_wide = []
        for path in (
            "/admin",
            f"/admin/complaints/{complaint.tracking_code}",
            "/admin/map",
            "/admin/reports",
            "/_demo",
        ):
            page.goto(f"{site}{path}")
            width = page.evaluate("() => document.documentElement.scrollWidth")
            if width > 360:
                too_wide.append((path, width))
        assert too_wide == []
        page.goto(f"{site}/admin/complaints/{complaint.tracking_code}")
        small = page.evaluate(
            """() => [...document.querySelectorAll('main button, main select')]
                .filter(e => e.offsetParent !== null)
                .map(e => [e.textContent.trim() || e.id, e.getBoundingClientRect().height])
                .filter(([, h]) => h < 44)"""
        )
        assert small == []
    finally:
        context.close()
