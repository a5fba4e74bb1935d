"""The public page of resolved complaints (`/publikasi`, no login), and its exports for social
media: `/publikasi/2026-10.txt` (one post per agency) and `/publikasi/2026-10.csv`."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from gateway.api.deps import GatewayDep
from gateway.api.pages import render, request_language
from gateway.clock import utcnow
from gateway.context import Gateway
from gateway.reports import publication
from gateway.reports.figures import Period

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
        return publication.resolved(session, month, gateway.calendar_in(session))


def _latest(gateway: Gateway) -> Period | None:
    today = gateway.calendar.local_date(utcnow())
    with gateway.db.read_session() as session:
        return publication.latest_month(session, gateway.calendar_in(session), today)


@router.get("/publikasi")
def latest(gateway: GatewayDep) -> Response:
    """The latest month with resolved complaints to publish (the demo's are answered this
    month); last month, the one agencies publish now, while nothing has been published yet."""
    if not gateway.settings.publication_enabled:
        raise HTTPException(404)
    month = _latest(gateway)
    if month is None:
        today = gateway.calendar.local_date(utcnow())
        month = Period.containing("monthly", today.replace(day=1) - timedelta(days=1))
    return RedirectResponse(f"/publikasi/{month.label}", 307)


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
    sections = _sections(gateway, period)
    latest = None if sections else _latest(gateway)  # an empty month points to one with data
    context = {
        "month": period,
        "month_name": publication.month_name(lang, period),
        "sections": sections,
        "previous": previous.label,
        "following": following.label,
        "latest": latest,
        "latest_name": publication.month_name(lang, latest) if latest else None,
    }
    return render(request, "publication.html", context)
