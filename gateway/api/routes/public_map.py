"""The public map of a month's resolved complaints, beside `/publikasi` (issue 18):
`/publikasi/{month}/peta` and its pins as JSON. The same selection as the page (resolved in the
month, never `rahasia`), only the published title, class, agency and kecamatan, each location
rounded (`PUBLIC_MAP_DECIMALS`): no tracking code, no reporter, no exact place."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from gateway.admin import maps
from gateway.api.deps import GatewayDep
from gateway.api.pages import render, request_language
from gateway.api.routes.publication import _month
from gateway.reports import publication

router = APIRouter(include_in_schema=False)


@router.get("/publikasi/{month}/peta", response_class=HTMLResponse)
def public_map(request: Request, month: str, gateway: GatewayDep) -> HTMLResponse:
    period = _month(gateway, month)
    lang = request_language(request)
    context = {
        "month": period,
        "month_name": publication.month_name(lang, period),
        "labels": maps.kecamatan_labels(gateway),
        "tiles": gateway.settings.map_tile_url,
        "attribution": gateway.settings.map_tile_attribution,
    }
    return render(request, "public_map.html", context)


@router.get("/publikasi/{month}/peta.json")
def public_pins(month: str, gateway: GatewayDep) -> JSONResponse:
    period = _month(gateway, month)
    with gateway.db.read_session() as session:
        pins = maps.public_pins(gateway, session, period)
    fields = ("lat", "lon", "title", "category", "agency", "kecamatan")
    return JSONResponse({"pins": [{k: p.as_json()[k] for k in fields} for p in pins]})


@router.get("/peta/kecamatan.json")
def kecamatan(gateway: GatewayDep) -> JSONResponse:
    """What the web form's optional pin map needs: the tile URL and the kecamatan names."""
    return JSONResponse(
        {"tiles": gateway.settings.map_tile_url, "labels": maps.kecamatan_labels(gateway)},
        headers={"Cache-Control": "public, max-age=3600"},
    )
