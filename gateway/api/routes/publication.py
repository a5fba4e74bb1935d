"""The public page of resolved complaints (`/publikasi`, no login), and its exports for social
media: `/publikasi/2026-10.txt` (one post per agency) and `/publikasi/2026-10.csv`."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from gateway import publication
from gateway.api.deps import GatewayDep
from gateway.clock import utcnow
from gateway.context import Gateway
from gateway.reports import Period
from gateway.web import render, request_language

router = APIRouter(include_in_schema=False)


def _month(gateway: Gateway, value: str) -> Period:
    if not gateway.settings.publication_enabled:
        raise HTTPException(404)
    try:
        return Period.parse("monthly", value)
    except ValueError:
        raise HTTPException(404) from None


def _sections(gateway: Gateway, month: Period) -> list[publication.AgencyResolved]:
    with gateway.db.read_session() as session:
        return publication.resolved(session, month, gateway.calendar)


@router.get("/publikasi")
def latest(gateway: GatewayDep) -> Response:
    """The month before this one: the one agencies publish now."""
    if not gateway.settings.publication_enabled:
        raise HTTPException(404)
    today = gateway.calendar.local_date(utcnow())
    first = today.replace(day=1)
    previous = Period.containing("monthly", first.replace(day=1) - timedelta(days=1))
    return RedirectResponse(f"/publikasi/{previous.label}", 307)


@router.get("/publikasi/{month}.txt")
def as_text(request: Request, month: str, gateway: GatewayDep) -> Response:
    period = _month(gateway, month)
    lang = request_language(request)
    body = publication.to_text(lang, period, _sections(gateway, period))
    return PlainTextResponse(body, headers={"X-Content-Type-Options": "nosniff"})


@router.get("/publikasi/{month}.csv")
def as_csv(request: Request, month: str, gateway: GatewayDep) -> Response:
    period = _month(gateway, month)
    lang = request_language(request)
    body = publication.to_csv(lang, _sections(gateway, period)).encode("utf-8-sig")
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="publikasi-{period.label}.csv"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/publikasi/{month}", response_class=HTMLResponse)
def page(request: Request, month: str, gateway: GatewayDep) -> HTMLResponse:
    period = _month(gateway, month)
    lang = request_language(request)
    first = period.first
    previous = Period.containing("monthly", first - timedelta(days=1))
    following = Period.containing("monthly", period.last + timedelta(days=1))
    context = {
        "month": period,
        "month_name": publication.month_name(lang, period),
        "sections": _sections(gateway, period),
        "previous": previous.label,
        "following": following.label,
    }
    return render(request, "publication.html", context)
