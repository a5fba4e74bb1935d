"""Server-rendered pages: the Jinja2 environment (autoescaping everything a citizen wrote) and
the language a visitor reads (`?lang=en` sets a cookie; Indonesian by default).

Citizens' pages and the admin pages remember the choice in separate cookies: a koordinator who
tries the citizen's form in English in the same browser keeps the inbox in their own language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape

from config.messages import language, t
from gateway.clock import as_utc
from workdays.calendar import resolve_timezone

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
LANG_COOKIE = "lang"  # the citizens' pages
ADMIN_LANG_COOKIE = "admin_lang"  # /admin/...
ADMIN_PATH = "/admin"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates = Jinja2Templates(env=_env)


DEFAULT_TIMEZONE = "Asia/Jakarta"


@pass_context
def _local_time(context: Any, value: Any) -> str:
    """A stored UTC time in the deployment's time zone (TIMEZONE: WIB, WITA or WIT)."""
    if value is None:
        return ""
    zone = resolve_timezone(context.get("timezone") or DEFAULT_TIMEZONE)
    return as_utc(value).astimezone(zone).strftime("%d-%m-%Y %H:%M")


@pass_context
def _local_date(context: Any, value: Any) -> str:
    return _local_time(context, value)[:10]


_env.filters["local_time"] = _local_time
_env.filters["local_date"] = _local_date


def _timezone_of(request: Request) -> str:
    gateway = getattr(request.app.state, "gateway", None)
    return gateway.settings.timezone if gateway is not None else DEFAULT_TIMEZONE


def language_cookie(request: Request) -> str:
    """The cookie that keeps this page's language: the admin's own, or the citizens'."""
    path = request.url.path
    admin = path == ADMIN_PATH or path.startswith(ADMIN_PATH + "/")
    return ADMIN_LANG_COOKIE if admin else LANG_COOKIE


def request_language(request: Request) -> str:
    asked = request.query_params.get("lang") or request.cookies.get(language_cookie(request))
    return language(asked)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    lang = request_language(request)
    ctx = {
        "request": request,
        "lang": lang,
        "other_lang": "en" if lang == "id" else "id",
        "t": lambda key, **kw: t(lang, key, **kw),
        "timezone": _timezone_of(request),
        **(context or {}),
    }
    response = templates.TemplateResponse(request, name, ctx, status_code=status_code)
    if request.query_params.get("lang"):
        response.set_cookie(language_cookie(request), lang, max_age=365 * 24 * 3600, samesite="lax")
    return response
