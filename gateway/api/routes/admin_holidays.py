"""Holidays (`/admin/holidays`, koordinator): the year's days off as the deadlines see them
(weekends aside: national holidays, collective leave, regional days, and the admins' own), and
the admins' extra holidays and working days, added and withdrawn with a reason."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from config.messages import t
from gateway.admin.sessions import Principal, flash
from gateway.api.admin_deps import CsrfForm, KoordinatorDep, form_text, page
from gateway.api.deps import GatewayDep
from gateway.api.pages import request_language
from gateway.clock import utcnow
from gateway.context import Gateway
from gateway.sla import calendar_days
from gateway.sla.calendar_days import CalendarDayInvalid, DayKind

router = APIRouter(include_in_schema=False)


def _year(request: Request, gateway: Gateway) -> int:
    value = request.query_params.get("year", "")
    if value.isdigit() and 2000 <= int(value) <= 2100:
        return int(value)
    return gateway.calendar.local_date(utcnow()).year


def _holidays_page(
    request: Request,
    gateway: Gateway,
    principal: Principal,
    year: int,
    *,
    error: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    calendar = gateway.calendar
    with gateway.db.read_session() as session:
        entries = calendar_days.active_days(session, year)
        removed = calendar_days.removed_days(session, year)
    context = {
        "year": year,
        "days_off": calendar.holidays_between(date(year, 1, 1), date(year, 12, 31)),
        "working_days": calendar.working_days_in(date(year, 1, 1), date(year, 12, 31)),
        "entries": entries,
        "removed": removed,
        "kinds": [k.value for k in DayKind],
        "error": error,
        "values": values or {},
    }
    return page(request, principal, "admin/holidays.html", context, status_code=status_code)


@router.get("/admin/holidays", response_class=HTMLResponse)
def holidays(request: Request, gateway: GatewayDep, principal: KoordinatorDep) -> Response:
    return _holidays_page(request, gateway, principal, _year(request, gateway))


@router.post("/admin/holidays")
def add_holiday(
    request: Request, gateway: GatewayDep, principal: KoordinatorDep, form: CsrfForm
) -> Response:
    lang = request_language(request)
    values = {k: form_text(form, k) for k in ("day", "kind", "name", "reason")}
    try:
        try:
            day = date.fromisoformat(values["day"])
            kind = DayKind(values["kind"])
        except ValueError:
            raise CalendarDayInvalid("calendar_day_invalid") from None
        with gateway.db.session() as session:
            calendar_days.add_day(
                session,
                day,
                kind,
                name=values["name"],
                reason=values["reason"],
                actor=principal.actor,
            )
            session.commit()
    except CalendarDayInvalid as exc:
        return _holidays_page(
            request,
            gateway,
            principal,
            _year(request, gateway),
            error=t(lang, f"admin.errors.{exc.key}", max=2000),
            values=values,
            status_code=422,
        )
    gateway.calendar_source.invalidate()
    flash(request, "success", t(lang, f"admin.holidays.added_{kind.value}", day=day.isoformat()))
    return RedirectResponse(f"/admin/holidays?year={day.year}", 303)


@router.post("/admin/holidays/{entry_id}/remove")
def remove_holiday(
    request: Request,
    entry_id: int,
    gateway: GatewayDep,
    principal: KoordinatorDep,
    form: CsrfForm,
) -> Response:
    lang = request_language(request)
    try:
        with gateway.db.session() as session:
            entry = calendar_days.remove_day(
                session, entry_id, reason=form_text(form, "reason"), actor=principal.actor
            )
            session.commit()
    except CalendarDayInvalid as exc:
        return _holidays_page(
            request,
            gateway,
            principal,
            _year(request, gateway),
            error=t(lang, f"admin.errors.{exc.key}", max=2000),
            status_code=422,
        )
    gateway.calendar_source.invalidate()
    flash(request, "success", t(lang, "admin.holidays.removed", day=entry.day.isoformat()))
    return RedirectResponse(f"/admin/holidays?year={entry.day.year}", 303)
