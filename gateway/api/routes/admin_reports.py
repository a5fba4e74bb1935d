"""The report pages (`/admin/reports`, downloads at `/admin/reports/export`) and the daily
digest (`/admin/digest`).

Who sees what: koordinators and viewers see every agency; a liaison officer sees the figures of
their own agency only (the same pages, limited), which is what they answer for to the Regent.
The digest is the koordinators' page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from config.messages import t
from gateway.admin.sessions import Principal
from gateway.api.admin_deps import KoordinatorDep, PrincipalDep, page
from gateway.api.deps import GatewayDep
from gateway.api.pages import request_language
from gateway.clock import utcnow
from gateway.context import Gateway
from gateway.reports import digest
from gateway.reports import export as report_export
from gateway.reports import figures as reports

router = APIRouter(include_in_schema=False)


def _scope(principal: Principal) -> int | None:
    """The agency a user's reports are limited to (liaison officers), None for all."""
    if principal.is_liaison:
        return principal.agency_id or -1  # a liaison without an agency sees nothing
    return None


def _period(request: Request, gateway: Gateway) -> tuple[reports.Period, str | None]:
    kind = request.query_params.get("kind", "monthly")
    if kind not in reports.KINDS:
        kind = "monthly"
    value = request.query_params.get("period", "").strip()
    today = gateway.calendar.local_date(utcnow())
    if not value:
        return reports.Period.containing(kind, today), None  # type: ignore[arg-type]
    try:
        return reports.Period.parse(kind, value), None
    except ValueError:
        lang = request_language(request)
        error = t(lang, "admin.reports.bad_period", value=value[:20])
        return reports.Period.containing(kind, today), error  # type: ignore[arg-type]


def _build(gateway: Gateway, principal: Principal, period: reports.Period) -> reports.Report:
    as_of = utcnow()
    with gateway.db.read_session() as session:
        calendar = gateway.calendar_in(session)
        return reports.build(session, period, calendar, as_of, agency_id=_scope(principal))


def chart_data(lang: str, report: reports.Report) -> dict[str, Any]:
    """What the charts draw (reports.js), labels already in the reader's language."""
    agencies = [r for r in report.by_agency if r.figures.received]
    channels = report.by_channel
    return {
        "trend": {
            "labels": [r.key for r in report.trend],
            "received": [r.figures.received for r in report.trend],
            "followed_up": [r.figures.followed_up for r in report.trend],
            "title": t(lang, "report.chart.trend"),
        },
        "agencies": {
            "labels": [report_export.row_label(lang, "agency", r) for r in agencies],
            "received": [r.figures.received for r in agencies],
            "followed_up": [r.figures.followed_up for r in agencies],
            "title": t(lang, "report.chart.agencies"),
        },
        "channels": {
            "labels": [report_export.row_label(lang, "channel", r) for r in channels],
            "received": [r.figures.received for r in channels],
            "followed_up": [r.figures.followed_up for r in channels],
            "title": t(lang, "report.chart.channels"),
        },
        "series": {
            "received": t(lang, "report.col.received"),
            "followed_up": t(lang, "report.col.followed_up"),
        },
    }


@router.get("/admin/reports", response_class=HTMLResponse)
def reports_page(request: Request, gateway: GatewayDep, principal: PrincipalDep) -> Response:
    lang = request_language(request)
    period, error = _period(request, gateway)
    report = _build(gateway, principal, period)
    context = {
        "report": report,
        "period": period,
        "kinds": reports.KINDS,
        "columns": [name for name, _ in reports.COLUMNS],
        "row_label": lambda section, row: report_export.row_label(lang, section, row),
        "title": report_export.title(lang, report),
        "as_of": report_export.as_of_text(report, gateway.settings.timezone),
        "charts": chart_data(lang, report),
        "error": error,
    }
    return page(request, principal, "admin/reports.html", context)


@router.get("/admin/reports/export")
def export(request: Request, gateway: GatewayDep, principal: PrincipalDep) -> Response:
    lang = request_language(request)
    period, error = _period(request, gateway)
    if error:
        raise HTTPException(400, error)
    fmt = request.query_params.get("format", "csv")
    report = _build(gateway, principal, period)
    name = f"laporan-{period.kind}-{period.label}" + (f"-{report.agency}" if report.agency else "")
    if fmt == "xlsx":
        body = report_export.to_xlsx(report, lang, gateway.settings.timezone)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        filename = f"{name}.xlsx"
    elif fmt == "csv":
        body = report_export.to_csv(report, lang).encode("utf-8-sig")  # Excel reads the BOM
        media, filename = "text/csv; charset=utf-8", f"{name}.csv"
    else:
        raise HTTPException(400, t(lang, "admin.reports.bad_format"))
    return Response(
        body,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/admin/digest", response_class=HTMLResponse)
def digest_page(request: Request, gateway: GatewayDep, principal: KoordinatorDep) -> Response:
    now = utcnow()
    with gateway.db.read_session() as session:
        calendar = gateway.calendar_in(session)
        figures = digest.figures(session, calendar, now, gateway.settings.digest_time)
    return page(request, principal, "admin/digest.html", {"d": figures})
