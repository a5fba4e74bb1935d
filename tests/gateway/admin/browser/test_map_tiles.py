"""The admin map with tiles (issue 18): with MAP_TILE_URL set, Leaflet fetches the tiles from that
server (here a local one on 127.0.0.1) under the pins, and shows the attribution as text."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channels.fakes.server import FakeServer
from gateway.context import Gateway
from gateway.store.models import Status
from tests.gateway.admin.conftest import Accounts
from tests.gateway.admin.test_browser import _login
from tests.gateway.factories import make_complaint
from tests.images import image_bytes

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

TILE = image_bytes("PNG")
HITS: list[str] = []


@pytest.fixture(scope="module")
def tile_server() -> Iterator[str]:
    async def tile(request: Request) -> Response:
        HITS.append(request.url.path)
        return Response(TILE, media_type="image/png")

    server = FakeServer(Starlette(routes=[Route("/tiles/{z}/{x}/{y}.png", tile)]))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def tile_url(tile_server: str) -> str:
    return tile_server + "/tiles/{z}/{x}/{y}.png"


def test_the_map_draws_tiles_from_the_configured_server(  # type: ignore[no-untyped-def]
    browser, site: str, gateway: Gateway, accounts: Accounts, tile_server: str
) -> None:
    make_complaint(
        gateway.db,
        Status.RECEIVED,
        title="Pohon tumbang",
        latitude=-6.70,
        longitude=111.34,
        received_at=datetime.now(UTC),
    )
    HITS.clear()
    page = browser.new_page()
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda r: elsewhere.append(r.url) if not r.url.startswith((site, tile_server)) else None,
    )
    _login(page, site, "koor")
    page.goto(f"{site}/admin/map")
    expect(page.locator("#admin-map")).to_have_attribute("data-drawn", "1")
    expect(page.locator(".leaflet-tile-loaded").first).to_be_visible()
    assert HITS and all(hit.startswith("/tiles/") for hit in HITS)
    attribution = page.locator(".leaflet-control-attribution")
    expect(attribution).to_contain_text("Peta uji")
    expect(attribution.locator("b")).to_have_count(0)  # the setting's markup is shown as text
    expect(page.locator("body")).not_to_contain_text("MAP_TILE_URL kosong")
    assert elsewhere == []
