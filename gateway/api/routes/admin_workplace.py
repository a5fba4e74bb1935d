"""The admin's workplace (issue 18): internal notes and assignment on a complaint, the live
parts of the inbox and the complaint page, the admin map, and the koordinators' saved replies.

Posted forms carry the CSRF token like every admin form; wrong input comes back as a flash
message on the complaint page and nothing changes. Polling answers 204 when nothing changed
(htmx then leaves the page alone) and 286 when the session ended (htmx stops polling).
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from channels.webform import EMAIL
from config.messages import t
from gateway.admin import assignment, audit, inbox, live, maps, notes, ombudsman, saved_replies
from gateway.admin.sessions import flash
from gateway.api.admin_deps import (
    CsrfForm,
    KoordinatorDep,
    StaffDep,
    clock,
    form_text,
    page,
    polling_principal,
)
from gateway.api.deps import GatewayDep
from gateway.api.pages import render, request_language
from gateway.api.routes.admin_inbox import scope_of, visible_complaint
from gateway.complaints import lifecycle
from gateway.complaints.actions import ActionInvalid
from gateway.outbox import queue as outbox
from gateway.reports.figures import Period
from gateway.store.models import Agency, Category, Complaint, User

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

STOP_POLLING = 286  # htmx: stop this element's polling


def _back(code: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/admin/complaints/{code}{anchor}", 303)


# --- notes ---------------------------------------------------------------------------------------


@router.post("/admin/complaints/{code}/note")
def add_note(
    request: Request, code: str, gateway: GatewayDep, principal: StaffDep, form: CsrfForm
) -> Response:
    lang = request_language(request)
    try:
        with gateway.db.session() as session:
            complaint = visible_complaint(session, principal, code)
            notes.add(
                session,
                complaint,
                principal,
                form_text(form, "body"),
                for_agency=form_text(form, "for_agency") in ("1", "on"),
            )
            session.commit()
            code = complaint.tracking_code
    except ActionInvalid as exc:
        flash(request, "error", exc.message(lang))
        return _back(code, "#notes")
    flash(request, "success", t(lang, "workplace.notes.saved"))
    return _back(code, "#notes")


# --- assignment ----------------------------------------------------------------------------------


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


@router.post("/admin/complaints/{code}/assign")
def assign(
    request: Request, code: str, gateway: GatewayDep, principal: StaffDep, form: CsrfForm
) -> Response:
    """Take it ("saya tangani": user_id=me), give it to a colleague, or release it (0)."""
    lang = request_language(request)
    wanted = form_text(form, "user_id")
    user_id = principal.user_id if wanted == "me" else _int(wanted)
    if user_id is None:
        flash(request, "error", t(lang, "admin.errors.assignee_unknown"))
        return _back(code, "#assignment")
    expected = _int(form_text(form, "expected")) if "expected" in form else None
    try:
        with gateway.db.session() as session:
            complaint = visible_complaint(session, principal, code)
            holder = assignment.assign(session, complaint, principal, user_id, expected=expected)
            name = (holder.display_name or holder.username) if holder else None
            session.commit()
            code = complaint.tracking_code
    except assignment.AssignmentChanged as exc:
        key = "workplace.assign.changed" if exc.holder else "workplace.assign.changed_free"
        flash(request, "error", t(lang, key, name=exc.holder or ""))
        return _back(code, "#assignment")
    except IntegrityError:
        # Two first takes at once: the other one won.
        flash(request, "error", t(lang, "workplace.assign.changed_free"))
        return _back(code, "#assignment")
    except lifecycle.FollowsCase as exc:
        action = t(lang, "workplace.assign.take")
        flash(
            request,
            "error",
            t(lang, "admin.errors.follows_case", case=exc.case_code, action=action),
        )
        return _back(code)
    except ActionInvalid as exc:
        flash(request, "error", exc.message(lang))
        return _back(code, "#assignment")
    log.info("assignment", extra={"user_id": principal.user_id})
    message = (
        t(lang, "workplace.assign.done", name=name)
        if name
        else t(lang, "workplace.assign.released")
    )
    flash(request, "success", message)
    return _back(code, "#assignment")


# --- live parts ----------------------------------------------------------------------------------


@router.get("/admin/live/inbox", response_class=HTMLResponse)
def live_inbox(request: Request, gateway: GatewayDep) -> Response:
    """The inbox's list, counts and pager again when anything changed since `since`."""
    principal = polling_principal(request, gateway)
    if principal is None or principal.is_viewer:
        return Response(status_code=STOP_POLLING)
    since = live.parse_stamp(request.query_params.get("since"))
    s = gateway.settings
    with gateway.db.read_session() as session:
        now_stamp = live.stamp(session)
        if since is not None and now_stamp <= since:
            return Response(status_code=204)
        f = inbox.InboxFilter.from_query(request.query_params)
        result = inbox.list_page(
            session,
            f,
            scope_of(principal),
            clock(gateway),
            page_size=s.admin_inbox_page_size,
            count_cap=s.admin_inbox_count_cap,
        )
        changed = (
            live.changes_since(
                session, since, me=principal.actor, staff_notes_hidden=not principal.is_koordinator
            )
            if since is not None
            else {}
        )
    context = {
        "principal": principal,
        "result": result,
        "f": result.filter,
        "now": clock(gateway).now,
        "stamp": now_stamp,
        "poll_seconds": s.admin_live_poll_seconds,
        "changed": changed,
    }
    response = render(request, "admin/_inbox_list.html", context)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/admin/complaints/{code}/live", response_class=HTMLResponse)
def live_complaint(request: Request, code: str, gateway: GatewayDep) -> Response:
    """A banner "diubah oleh X" when a colleague (or the reporter, the core, a sweep) changed
    the complaint since `since`; the page's forms are left alone, the banner offers a reload."""
    principal = polling_principal(request, gateway)
    if principal is None or principal.is_viewer:
        return Response(status_code=STOP_POLLING)
    since = live.parse_stamp(request.query_params.get("since")) or 0
    with gateway.db.read_session() as session:
        complaint = visible_complaint(session, principal, code)
        changes = live.changes_since(
            session,
            since,
            me=principal.actor,
            complaint_id=complaint.id,
            staff_notes_hidden=not principal.is_koordinator,
        )
    if not changes:
        return Response(status_code=204)
    change = next(iter(changes.values()))
    context = {"change": change, "code": complaint.tracking_code}
    response = render(request, "admin/_live_banner.html", context)
    response.headers["Cache-Control"] = "no-store"
    return response


# --- the admin map -------------------------------------------------------------------------------


def _map_filter(request: Request) -> tuple[int | None, str]:
    agency = _int(request.query_params.get("agency", ""))
    category = request.query_params.get("category", "")
    return agency, category if category in {c.value for c in Category} else ""


@router.get("/admin/map", response_class=HTMLResponse)
def map_page(request: Request, gateway: GatewayDep, principal: StaffDep) -> HTMLResponse:
    agency, category = _map_filter(request)
    with gateway.db.read_session() as session:
        agencies = session.scalars(select(Agency).order_by(Agency.name)).all()
    context = {
        "agencies": agencies,
        "categories": [c.value for c in Category],
        "agency": agency,
        "category": category,
        "labels": maps.kecamatan_labels(gateway),
        "tiles": gateway.settings.map_tile_url,
        "attribution": gateway.settings.map_tile_attribution,
    }
    return page(request, principal, "admin/map.html", context)


@router.get("/admin/map/pins.json")
def map_pins(request: Request, gateway: GatewayDep, principal: StaffDep) -> JSONResponse:
    agency, category = _map_filter(request)
    cluster_code = request.query_params.get("cluster")
    with gateway.db.read_session() as session:
        cluster_of: Complaint | None = None
        if cluster_code:
            cluster_of = visible_complaint(session, principal, cluster_code)
        pins = maps.admin_pins(
            gateway,
            session,
            scope_of(principal),
            clock(gateway),
            agency_id=agency,
            category=category,
            cluster_of=cluster_of,
        )
    return JSONResponse(
        {"pins": [p.as_json() for p in pins]}, headers={"Cache-Control": "no-store"}
    )


# --- saved replies (koordinator) -----------------------------------------------------------------


def _replies_page(
    request: Request,
    gateway: GatewayDep,
    principal: KoordinatorDep,
    *,
    error: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with gateway.db.read_session() as session:
        replies = saved_replies.all_replies(session)
        agencies = session.scalars(select(Agency).order_by(Agency.name)).all()
    context = {
        "replies": replies,
        "agencies": agencies,
        "agency_names": {a.id: a.name for a in agencies},
        "categories": [c.value for c in Category],
        "variables": saved_replies.VARIABLES,
        "error": error,
        "values": values or {},
    }
    return page(request, principal, "admin/replies.html", context, status_code=status_code)


@router.get("/admin/replies", response_class=HTMLResponse)
def replies(request: Request, gateway: GatewayDep, principal: KoordinatorDep) -> HTMLResponse:
    return _replies_page(request, gateway, principal)


@router.post("/admin/replies")
def save_reply(
    request: Request, gateway: GatewayDep, principal: KoordinatorDep, form: CsrfForm
) -> Response:
    lang = request_language(request)
    reply_id = _int(form_text(form, "reply_id")) if form_text(form, "reply_id") else None
    try:
        with gateway.db.session() as session:
            saved = saved_replies.save(
                session,
                actor=principal.actor,
                reply_id=reply_id,
                title=form_text(form, "title"),
                body_id=form_text(form, "body_id"),
                body_en=form_text(form, "body_en"),
                category=form_text(form, "category"),
                agency_id=form_text(form, "agency_id"),
                active=form_text(form, "active") != "0",
            )
            audit.record(
                session,
                actor=principal.actor,
                area="saved_reply",
                change="created" if reply_id is None else "changed",
                subject=saved.title,
                detail={"active": saved.active, "category": saved.category},
            )
            session.commit()
    except ActionInvalid as exc:
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
        return _replies_page(
            request, gateway, principal, error=exc.message(lang), values=values, status_code=422
        )
    flash(request, "success", t(lang, "workplace.replies.saved"))
    return RedirectResponse("/admin/replies", 303)


# --- the audit log (koordinator) -----------------------------------------------------------------


def _audit_lines(request: Request, gateway: GatewayDep, limit: int) -> tuple[object, list]:
    f = audit.AuditFilter.from_query(request.query_params)
    with gateway.db.read_session() as session:
        rows = audit.lines(session, f, clock(gateway).tz, limit=limit)
    return f, rows


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(request: Request, gateway: GatewayDep, principal: KoordinatorDep) -> HTMLResponse:
    f, rows = _audit_lines(request, gateway, 500)
    with gateway.db.read_session() as session:
        users = session.scalars(select(User).order_by(User.username)).all()
    context = {"f": f, "rows": rows, "areas": audit.AREAS, "users": users}
    return page(request, principal, "admin/audit.html", context)


@router.get("/admin/audit.csv")
def audit_csv(request: Request, gateway: GatewayDep, principal: KoordinatorDep) -> Response:
    _, rows = _audit_lines(request, gateway, audit.MAX_ROWS)
    body = audit.to_csv(rows, clock(gateway).tz).encode("utf-8-sig")
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="audit.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


# --- the Ombudsman package (koordinator) ---------------------------------------------------------


def _ombudsman_month(gateway: GatewayDep, value: str | None) -> Period:
    if value:
        try:
            return Period.parse("monthly", value)
        except ValueError:
            raise HTTPException(404) from None
    today = gateway.calendar.local_date(clock(gateway).now)
    return Period.containing("monthly", today)


@router.get("/admin/ombudsman", response_class=HTMLResponse)
def ombudsman_page(
    request: Request, gateway: GatewayDep, principal: KoordinatorDep
) -> HTMLResponse:
    month = _ombudsman_month(gateway, request.query_params.get("month"))
    lang = request_language(request)
    with gateway.db.read_session() as session:
        items = ombudsman.package(gateway, session, month, lang)
    context = {
        "month": month,
        "items": items,
        "now": clock(gateway).now,
        "previous": Period.containing("monthly", month.first - timedelta(days=1)).label,
        "following": Period.containing("monthly", month.last + timedelta(days=1)).label,
        "can_email": ombudsman.can_email(gateway.settings),
        "ombudsman_email": gateway.settings.ombudsman_email,
        "send_id": uuid.uuid4().hex,
    }
    return page(request, principal, "admin/ombudsman.html", context)


@router.post("/admin/ombudsman/{month}/email")
def ombudsman_email(
    request: Request, month: str, gateway: GatewayDep, principal: KoordinatorDep, form: CsrfForm
) -> Response:
    """The month's package by e-mail, the XLSX attached (queued; the outbox sends it)."""
    period = _ombudsman_month(gateway, month)
    lang = request_language(request)
    address = form_text(form, "address").strip().lower()
    back = RedirectResponse(f"/admin/ombudsman?month={period.label}", 303)
    if not ombudsman.can_email(gateway.settings):
        flash(request, "error", t(lang, "mail.ombudsman.not_configured"))
        return back
    if len(address) > 254 or not EMAIL.match(address):
        flash(request, "error", t(lang, "mail.ombudsman.address_invalid"))
        return back
    send_id = form_text(form, "send_id")[:40] or uuid.uuid4().hex
    with gateway.db.session() as session:
        items = ombudsman.package(gateway, session, period, lang)
        message = ombudsman.email_message(
            items,
            period,
            address=address,
            send_id=send_id,
            lang=lang,
            timezone=gateway.settings.timezone,
            now=clock(gateway).now,
        )
        if outbox.enqueue(session, message):
            audit.record(
                session,
                actor=principal.actor,
                area="ombudsman",
                change="emailed",
                subject=period.label,
                detail={"to": address, "complaints": len(items)},
            )
        session.commit()
    flash(request, "success", t(lang, "mail.ombudsman.queued", month=period.label, to=address))
    return back


@router.get("/admin/ombudsman/{month}.xlsx")
def ombudsman_xlsx(
    request: Request, month: str, gateway: GatewayDep, principal: KoordinatorDep
) -> Response:
    period = _ombudsman_month(gateway, month)
    lang = request_language(request)
    with gateway.db.read_session() as session:
        items = ombudsman.package(gateway, session, period, lang)
    body = ombudsman.to_xlsx(items, period, lang, gateway.settings.timezone, clock(gateway).now)
    return Response(
        body,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": f'attachment; filename="ombudsman-{period.label}.xlsx"',
            "Cache-Control": "no-store",
        },
    )
