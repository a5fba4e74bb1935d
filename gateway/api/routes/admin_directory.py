"""Accounts (`/admin/users`) and the agency directory (`/admin/agencies`): agencies (OPD) with
their code, name, function group and routing keywords, and their liaison officers with
WhatsApp numbers. Koordinator only."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlmodel import Session

from channels.webform import normalize_phone
from config.messages import t
from gateway.admin import accounts as auth
from gateway.admin import audit, directory
from gateway.admin.sessions import Principal, flash
from gateway.api.admin_deps import CsrfForm, KoordinatorDep, form_text, page
from gateway.api.deps import GatewayDep
from gateway.api.pages import request_language
from gateway.clock import as_utc, utcnow
from gateway.store.models import Agency, Liaison, Role, User

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise auth.AccountError("unknown role", "role_unknown") from None


def _agency_id(session: Session, value: str) -> int | None:
    if not value:
        return None
    agency = session.get(Agency, int(value)) if value.isdigit() else None
    if agency is None:
        raise auth.AccountError("unknown agency", "agency_unknown")
    return agency.id


def _whatsapp(value: str) -> str | None:
    """A koordinator's number for the daily digest (optional), stored as E.164."""
    if not value.strip():
        return None
    number = normalize_phone(value)
    if number is None:
        raise auth.AccountError("invalid WhatsApp number", "whatsapp_invalid")
    return number


# --- users ---------------------------------------------------------------------------------------


def _users_page(
    request: Request,
    gateway: GatewayDep,
    principal: Principal,
    *,
    error: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with gateway.db.read_session() as session:
        users = session.scalars(select(User).order_by(User.username)).all()
        agencies = session.scalars(select(Agency).order_by(Agency.name)).all()
    now = utcnow()
    locked = {u.id for u in users if u.locked_until and as_utc(u.locked_until) > now}
    context = {
        "users": users,
        "agencies": agencies,
        "agency_names": {a.id: a.name for a in agencies},
        "roles": [r.value for r in Role],
        "locked": locked,
        "error": error,
        "values": values or {},
    }
    return page(request, principal, "admin/users.html", context, status_code=status_code)


@router.get("/admin/users", response_class=HTMLResponse)
def users(request: Request, gateway: GatewayDep, principal: KoordinatorDep) -> Response:
    return _users_page(request, gateway, principal)


@router.post("/admin/users")
def create_user(
    request: Request, gateway: GatewayDep, principal: KoordinatorDep, form: CsrfForm
) -> Response:
    lang = request_language(request)
    values = {k: form_text(form, k) for k in ("username", "display_name", "role", "agency_id")}
    try:
        with gateway.db.session() as session:
            user = auth.create_user(
                session,
                values["username"],
                form_text(form, "password"),
                role=_role(values["role"]),
                display_name=values["display_name"],
                agency_id=_agency_id(session, values["agency_id"]),
            )
            audit.record(
                session,
                actor=principal.actor,
                area="user",
                change="created",
                subject=user.username,
                detail={"role": user.role, "agency_id": user.agency_id},
            )
            session.commit()
    except auth.AccountError as exc:
        message = t(lang, f"admin.errors.{exc.key}", min=auth.MIN_PASSWORD_LENGTH)
        return _users_page(
            request, gateway, principal, error=message, values=values, status_code=422
        )
    log.info("user created", extra={"user_id": user.id, "by": principal.user_id})
    flash(request, "success", t(lang, "admin.users.created", username=user.username))
    return RedirectResponse("/admin/users", 303)


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(404)
    return user


@router.post("/admin/users/{user_id}")
def update_user(
    request: Request,
    user_id: int,
    gateway: GatewayDep,
    principal: KoordinatorDep,
    form: CsrfForm,
) -> Response:
    lang = request_language(request)
    try:
        with gateway.db.session() as session:
            user = _user(session, user_id)
            active = form_text(form, "active") == "1"
            role = _role(form_text(form, "role"))
            if user.id == principal.user_id and (not active or role is not Role.KOORDINATOR):
                # Nobody locks themselves out of the directory by accident.
                raise auth.AccountError("cannot demote yourself", "self_demote")
            auth.update_user(
                user,
                role=role,
                agency_id=_agency_id(session, form_text(form, "agency_id")),
                display_name=form_text(form, "display_name"),
                active=active,
            )
            user.whatsapp = _whatsapp(form_text(form, "whatsapp"))
            session.add(user)
            audit.record(
                session,
                actor=principal.actor,
                area="user",
                change="changed",
                subject=user.username,
                detail={"role": user.role, "agency_id": user.agency_id, "active": user.active},
            )
            session.commit()
    except auth.AccountError as exc:
        message = t(lang, f"admin.errors.{exc.key}", min=auth.MIN_PASSWORD_LENGTH)
        return _users_page(request, gateway, principal, error=message, status_code=422)
    flash(request, "success", t(lang, "admin.users.updated", username=user.username))
    return RedirectResponse("/admin/users", 303)


@router.post("/admin/users/{user_id}/password")
def reset_password(
    request: Request,
    user_id: int,
    gateway: GatewayDep,
    principal: KoordinatorDep,
    form: CsrfForm,
) -> Response:
    lang = request_language(request)
    try:
        with gateway.db.session() as session:
            user = _user(session, user_id)
            auth.set_password(user, form_text(form, "password"))
            session.add(user)
            audit.record(
                session,
                actor=principal.actor,
                area="user",
                change="password",
                subject=user.username,
            )
            session.commit()
    except auth.AccountError as exc:
        message = t(lang, f"admin.errors.{exc.key}", min=auth.MIN_PASSWORD_LENGTH)
        return _users_page(request, gateway, principal, error=message, status_code=422)
    log.info("password reset", extra={"user_id": user_id, "by": principal.user_id})
    flash(request, "success", t(lang, "admin.users.password_set", username=user.username))
    return RedirectResponse("/admin/users", 303)


@router.post("/admin/users/{user_id}/unlock")
def unlock_user(
    request: Request,
    user_id: int,
    gateway: GatewayDep,
    principal: KoordinatorDep,
    form: CsrfForm,
) -> Response:
    with gateway.db.session() as session:
        user = _user(session, user_id)
        auth.unlock(user)
        session.add(user)
        audit.record(
            session, actor=principal.actor, area="user", change="unlocked", subject=user.username
        )
        session.commit()
    lang = request_language(request)
    flash(request, "success", t(lang, "admin.users.unlocked", username=user.username))
    return RedirectResponse("/admin/users", 303)


# --- agencies and liaison officers -----------------------------------------------------------


def _agency_values(form: CsrfForm) -> dict[str, str]:
    return {k: form_text(form, k) for k in ("code", "name", "function_group", "keywords")}


def _agencies_page(
    request: Request,
    gateway: GatewayDep,
    principal: Principal,
    *,
    error: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with gateway.db.read_session() as session:
        agencies = session.scalars(select(Agency).order_by(Agency.code)).all()
        liaisons = session.scalars(select(Liaison).order_by(Liaison.name)).all()
    by_agency: dict[int, list[Liaison]] = {}
    for liaison in liaisons:
        by_agency.setdefault(liaison.agency_id, []).append(liaison)
    context = {
        "agencies": agencies,
        "liaisons": by_agency,
        "error": error,
        "values": values or {},
    }
    return page(request, principal, "admin/agencies.html", context, status_code=status_code)


@router.get("/admin/agencies", response_class=HTMLResponse)
def agencies(request: Request, gateway: GatewayDep, principal: KoordinatorDep) -> Response:
    return _agencies_page(request, gateway, principal)


def _save_agency(
    request: Request,
    gateway: GatewayDep,
    principal: Principal,
    form: CsrfForm,
    agency_id: int | None,
) -> Response:
    lang = request_language(request)
    values = _agency_values(form)
    try:
        with gateway.db.session() as session:
            agency = session.get(Agency, agency_id) if agency_id is not None else None
            if agency_id is not None and agency is None:
                raise HTTPException(404)
            saved = directory.save_agency(
                session,
                agency,
                code=values["code"],
                name=values["name"],
                function_group=values["function_group"],
                keywords=directory.parse_keywords(values["keywords"]),
                active=form_text(form, "active") == "1" if agency is not None else True,
            )
            audit.record(
                session,
                actor=principal.actor,
                area="agency",
                change="changed" if agency is not None else "created",
                subject=saved.code,
                detail={"active": saved.active},
            )
            session.commit()
    except directory.DirectoryError as exc:
        message = t(lang, f"admin.errors.{exc.key}")
        return _agencies_page(
            request, gateway, principal, error=message, values=values, status_code=422
        )
    flash(request, "success", t(lang, "admin.agencies.saved", code=saved.code))
    return RedirectResponse(f"/admin/agencies#agency-{saved.id}", 303)


@router.post("/admin/agencies")
def create_agency(
    request: Request, gateway: GatewayDep, principal: KoordinatorDep, form: CsrfForm
) -> Response:
    return _save_agency(request, gateway, principal, form, None)


@router.post("/admin/agencies/{agency_id}")
def update_agency(
    request: Request,
    agency_id: int,
    gateway: GatewayDep,
    principal: KoordinatorDep,
    form: CsrfForm,
) -> Response:
    return _save_agency(request, gateway, principal, form, agency_id)


def _save_liaison(
    request: Request,
    gateway: GatewayDep,
    principal: Principal,
    form: CsrfForm,
    *,
    agency_id: int | None = None,
    liaison_id: int | None = None,
) -> Response:
    lang = request_language(request)
    try:
        with gateway.db.session() as session:
            liaison = session.get(Liaison, liaison_id) if liaison_id is not None else None
            owner = liaison.agency_id if liaison is not None else agency_id
            if (liaison_id is not None and liaison is None) or session.get(Agency, owner) is None:
                raise HTTPException(404)
            saved = directory.save_liaison(
                session,
                liaison,
                agency_id=owner,  # type: ignore[arg-type]
                name=form_text(form, "name"),
                whatsapp=form_text(form, "whatsapp"),
                active=form_text(form, "active") == "1" if liaison is not None else True,
            )
            audit.record(
                session,
                actor=principal.actor,
                area="liaison",
                change="changed" if liaison is not None else "created",
                subject=saved.name,
                detail={"agency_id": saved.agency_id, "active": saved.active},
            )
            session.commit()
    except directory.DirectoryError as exc:
        return _agencies_page(
            request, gateway, principal, error=t(lang, f"admin.errors.{exc.key}"), status_code=422
        )
    flash(request, "success", t(lang, "admin.agencies.liaison_saved", name=saved.name))
    return RedirectResponse(f"/admin/agencies#agency-{saved.agency_id}", 303)


@router.post("/admin/agencies/{agency_id}/liaisons")
def add_liaison(
    request: Request,
    agency_id: int,
    gateway: GatewayDep,
    principal: KoordinatorDep,
    form: CsrfForm,
) -> Response:
    return _save_liaison(request, gateway, principal, form, agency_id=agency_id)


@router.post("/admin/liaisons/{liaison_id}")
def update_liaison(
    request: Request,
    liaison_id: int,
    gateway: GatewayDep,
    principal: KoordinatorDep,
    form: CsrfForm,
) -> Response:
    return _save_liaison(request, gateway, principal, form, liaison_id=liaison_id)
