"""The web form's optional pin (issue 18): "Pakai lokasi saya" puts the browser's location on a
small map, the pin can be dragged, and the coordinates travel with the report; without it, no
coordinates are sent."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gateway.context import Gateway
from gateway.store.models import InboundMessage

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

HERE = {"latitude": -6.7001, "longitude": 111.4302}


def _fill(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Uraian laporan").fill("Lampu jalan di depan pasar Lasem mati sejak seminggu")
    page.locator("#consent").check()


def test_my_location_on_a_draggable_pin_goes_with_the_report(  # type: ignore[no-untyped-def]
    chromium, site: str, gateway: Gateway
) -> None:
    context = chromium.new_context(
        viewport={"width": 360, "height": 740}, geolocation=HERE, permissions=["geolocation"]
    )
    try:
        page = context.new_page()
        outside: list[str] = []
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(site) else None)
        page.goto(f"{site}/lapor")
        _fill(page)
        expect(page.locator("#form-map")).to_be_hidden()
        page.get_by_role("button", name="Pakai lokasi saya").click()
        expect(page.locator("#location-status")).to_have_text("Lokasi Anda ditandai pada peta.")
        expect(page.locator("#latitude-field")).to_have_value("-6.700100")
        expect(page.locator(".kec-label", has_text="Lasem")).to_be_visible()
        marker = page.locator(".leaflet-marker-draggable")
        box = marker.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] - 2)
        page.mouse.down()
        page.mouse.move(box["x"] + 60, box["y"] + 40, steps=8)
        page.mouse.up()
        expect(page.locator("#longitude-field")).not_to_have_value("111.430200")
        dragged = (
            float(page.locator("#latitude-field").input_value()),
            float(page.locator("#longitude-field").input_value()),
        )
        assert dragged[0] < HERE["latitude"] and dragged[1] > HERE["longitude"]  # south-east
        page.get_by_role("button", name="Kirim Laporan").click()
        page.wait_for_url("**/status/**")
        assert outside == []
    finally:
        context.close()
    with gateway.db.read_session() as session:
        row = session.scalar(select(InboundMessage).where(InboundMessage.channel == "webform"))
    assert row is not None
    assert (round(row.latitude, 6), round(row.longitude, 6)) == dragged  # type: ignore[arg-type]


def test_without_asking_no_coordinates_are_sent(  # type: ignore[no-untyped-def]
    browser, site: str, gateway: Gateway
) -> None:
    page = browser.new_page()
    page.goto(f"{site}/lapor")
    _fill(page)
    page.get_by_role("button", name="Kirim Laporan").click()
    page.wait_for_url("**/status/**")
    with gateway.db.read_session() as session:
        row = session.scalar(select(InboundMessage).where(InboundMessage.channel == "webform"))
    assert row is not None and row.latitude is None and row.longitude is None
