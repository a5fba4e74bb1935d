"""Logging in and out of the admin pages (`/admin/login`, `/admin/logout`)."""

from __future__ import annotations

import logging
import math
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from config.messages import t
from gateway.admin import sessions as security
from gateway.admin.sessions import LoginOutcome
from gateway.api.admin_deps import CsrfForm, form_text, page
from gateway.api.deps import GatewayDep
from gateway.api.pages import request_language
from gateway.api.ratelimit import shared_storage
from gateway.clock import utcnow
from gateway.context import Gateway, secret_key

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)


@router.get("/admin/login")
def login_form(request: Request, gateway: GatewayDep) -> Response:
    with gateway.db.read_session() as session:
        _, principal = security.session_principal(
            request, session, gateway.settings, secret_key(gateway.settings)
        )
    if principal is not None:
        return RedirectResponse("/admin", 303)
    lang = request_language(request)
    expired = request.query_params.get("expired") == "1"
    context = {
        "next": security.safe_next(request.query_params.get("next")),
        "error": t(lang, "admin.login.expired") if expired else None,
        "username": "",
    }
    return page(request, None, "admin/login.html", context)


def login_throttle(request: Request, gateway: Gateway) -> security.AddressThrottle:
    """The app's throttle of wrong passwords per client address (made on first use), counting
    in a store every instance shares (the database, or RATE_LIMIT_STORAGE's Redis)."""
    throttle = getattr(request.app.state, "login_throttle", None)
    if throttle is None:
        settings = gateway.settings
        throttle = security.AddressThrottle(
            settings.admin_login_address_max_failures,
            timedelta(minutes=settings.admin_lockout_minutes),
            shared_storage(settings, gateway.db),
        )
        request.app.state.login_throttle = throttle
    return throttle


@router.post("/admin/login")
def login(request: Request, gateway: GatewayDep, form: CsrfForm) -> Response:
    lang = request_language(request)
    s = gateway.settings
    username = form_text(form, "username")[:80]
    now = utcnow()
    throttle = login_throttle(request, gateway)
    address = security.client_address(request)
    blocked = throttle.blocked_until(address, now)
    if blocked is not None:
        # Too many wrong guesses from this address: no password is checked, whatever the
        # username (another address, or a koordinator's unlock, is not affected).
        minutes = max(1, math.ceil((blocked - now).total_seconds() / 60))
        log.warning("admin login throttled by address")
        context = {"next": security.safe_next(form_text(form, "next")), "username": username}
        context["error"] = t(lang, "admin.login.locked", minutes=minutes)
        return page(request, None, "admin/login.html", context, status_code=429)
    with gateway.db.session() as session:
        result = security.authenticate(
            session,
            username,
            form_text(form, "password")[:1000],
            max_failures=s.admin_login_max_failures,
            lockout=timedelta(minutes=s.admin_lockout_minutes),
            now=now,
        )
        session.commit()
    next_url = security.safe_next(form_text(form, "next"))
    if result.outcome is LoginOutcome.OK and result.user is not None:
        security.start_session(request, secret_key(s), result.user, now)
        log.info("admin login", extra={"user_id": result.user.id})
        return RedirectResponse(next_url, 303)
    throttle.failed(address, now)
    if result.outcome is LoginOutcome.LOCKED and result.locked_until is not None:
        minutes = max(1, math.ceil((result.locked_until - now).total_seconds() / 60))
        error, status = t(lang, "admin.login.locked", minutes=minutes), 429
        log.warning("admin login locked", extra={"username_length": len(username)})
    else:
        error, status = t(lang, "admin.login.invalid"), 401
    context = {"next": next_url, "error": error, "username": username}
    return page(request, None, "admin/login.html", context, status_code=status)


@router.post("/admin/logout")
def logout(request: Request, gateway: GatewayDep, form: CsrfForm) -> Response:
    user_id = request.session.get("uid")
    if isinstance(user_id, int):
        with gateway.db.session() as session:
            security.revoke_sessions(session, user_id)
            session.commit()
    security.end_session(request)
    security.flash(request, "success", t(request_language(request), "admin.login.logged_out"))
    return RedirectResponse("/admin/login", 303)
