"""What every admin route shares: who is logged in, what their role allows, the CSRF check on
every posted form, and rendering a page with the admin frame (navigation, flash messages,
the CSRF token for its forms)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from config.messages import t
from config.settings import Settings
from gateway.admin import sessions as security
from gateway.admin.inbox import Clock
from gateway.admin.sessions import Principal, SessionState
from gateway.api.deps import GatewayDep, get_gateway
from gateway.api.pages import render, request_language
from gateway.clock import utcnow
from gateway.context import Gateway, secret_key
from gateway.store.models import Role


class LoginRequired(Exception):
    """No valid admin session: a page asks to log in, a posted form is refused (401)."""

    def __init__(self, expired: bool) -> None:
        self.expired = expired
        super().__init__("login required")


def install(app: FastAPI, settings: Settings) -> None:
    """The session middleware and the answer to `LoginRequired`."""
    security.install(app, settings, secret_key(settings))

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if request.method in ("GET", "HEAD"):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            query = f"next={target}" if target != "/admin" else ""
            if exc.expired:
                query = "&".join(filter(None, [query, "expired=1"]))
            return RedirectResponse("/admin/login" + (f"?{query}" if query else ""), 303)
        lang = request_language(request)
        message = t(lang, "admin.login.expired" if exc.expired else "admin.login.required")
        return render(
            request,
            "admin/login.html",
            {"error": message, "next": "/admin", "csrf": security.csrf_token(request)},
            status_code=401,
        )


def get_principal(request: Request, gateway: GatewayDep) -> Principal:
    secret = secret_key(gateway.settings)
    with gateway.db.read_session() as session:
        state, principal = security.session_principal(request, session, gateway.settings, secret)
    if principal is None:
        raise LoginRequired(expired=state is SessionState.EXPIRED)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def polling_principal(request: Request, gateway: Gateway) -> Principal | None:
    """The user behind a page's own polling request, without counting it as activity; None
    when the session ended (the poll then stops instead of swapping a login page in)."""
    secret = secret_key(gateway.settings)
    with gateway.db.read_session() as session:
        _, principal = security.session_principal(
            request, session, gateway.settings, secret, touch=False
        )
    return principal


def forbidden(request: Request) -> HTTPException:
    return HTTPException(403, t(request_language(request), "admin.errors.forbidden"))


def _require(*roles: Role) -> Any:
    def check(request: Request, principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise forbidden(request)
        return principal

    return check


KoordinatorDep = Annotated[Principal, Depends(_require(Role.KOORDINATOR))]
StaffDep = Annotated[Principal, Depends(_require(Role.KOORDINATOR, Role.LIAISON))]


async def csrf_form(request: Request) -> FormData:
    """The posted form, once its CSRF token matched the session's; 403 otherwise."""
    gateway = get_gateway(request)
    limits = gateway.form_limits
    form = await request.form(max_files=limits.max_files + 5, max_fields=200)
    if not security.csrf_valid(request, form):
        raise HTTPException(403, t(request_language(request), "admin.errors.csrf"))
    return form


CsrfForm = Annotated[FormData, Depends(csrf_form)]


def clock(gateway: Gateway) -> Clock:
    s = gateway.settings
    return Clock(
        now=utcnow(),
        soon=timedelta(hours=s.admin_due_soon_hours),
        tz=ZoneInfo(s.timezone),
    )


def page(
    request: Request,
    principal: Principal | None,
    name: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """An admin page: the template with the user, their CSRF token and the flash messages."""
    ctx = {
        "principal": principal,
        "csrf": security.csrf_token(request),
        "flashes": security.take_flashes(request),
        **(context or {}),
    }
    response = render(request, name, ctx, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""
