"""The web-form reporter's private page, `/status/{code}/{token}`
(gateway/complaints/reporter_links.py): where their complaint stands, the agency's answer with its
proof photos, and — while the case waits for it — PUAS / TIDAK PUAS with a comment. A web-form
reporter cannot reply "PUAS" on a chat thread; this page is their way to finish, and their response
goes through the same `feedback.give()` as a chat reply (it counts for the whole case).

The public status page (`/status/{code}`) stays what anyone with the code may see: no answer
photos, no form. A wrong token answers 404, like an unknown code. The form is protected by a
double-submit token (a cookie scoped to `/status` and a hidden field, compared in constant time)
on top of the secret link itself.
"""

from __future__ import annotations

import hmac
import re
import secrets
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlmodel import col
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from config.messages import t
from gateway.api.deps import GatewayDep
from gateway.api.pages import render, request_language
from gateway.complaints import feedback, lifecycle, public_status, workflow
from gateway.complaints.tracking import normalize_code
from gateway.context import Gateway
from gateway.store.models import Complaint

router = APIRouter(include_in_schema=False)

CSRF_COOKIE = "lapor_feedback_csrf"
CSRF_FIELD = "csrf_token"
CHOICES = {"puas": True, "tidak_puas": False}
MAX_COMMENT = 1000
ENTRY_ID = re.compile(r"^[0-9a-f]{32}$")
OUTCOME_KEYS = {"reopened": "tracking.reopened", "thanks": "tracking.thanks"}


def _not_found(request: Request) -> HTMLResponse:
    lang = request_language(request)
    return render(request, "error.html", {"message": t(lang, "errors.not_found")}, 404)


def _code(gateway: Gateway, code: str, token: str) -> str | None:
    """The tracking code when the token is this code's; None otherwise (the same 404)."""
    normalized = normalize_code(code)
    if normalized is None or not gateway.reporter_links.valid(normalized, token):
        return None
    return normalized


def _page(
    request: Request,
    gateway: Gateway,
    code: str,
    *,
    error: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    lang = request_language(request)
    context: dict[str, Any] = {
        "private_url": gateway.reporter_links.url(code),
        "new": request.query_params.get("baru") == "1",
        "done": t(lang, OUTCOME_KEYS[request.query_params.get("ok", "")])
        if request.query_params.get("ok") in OUTCOME_KEYS
        else None,
        "error": error,
        "values": values or {},
        "max_comment": MAX_COMMENT,
        "entry_id": uuid.uuid4().hex,
        "answer": None,
        "photos": (),
        "awaiting": False,
    }
    with gateway.db.read_session() as session:
        status = public_status.lookup(session, code, lang)
        if status is None:
            return _not_found(request)
        complaint = session.scalar(select(Complaint).where(col(Complaint.tracking_code) == code))
        if complaint is not None:
            case = lifecycle.case_of(session, complaint)
            text, media = lifecycle.case_answer(gateway, session, case)
            context["answer"] = text or None
            context["photos"] = [m.url for m in media]
            context["awaiting"] = feedback.awaits_feedback(session, complaint)
    context["status"] = status
    token = request.cookies.get(CSRF_COOKIE)
    if not token or len(token) < 32:
        token = secrets.token_urlsafe(32)
    context["csrf_token"] = token
    response = render(request, "reporter.html", context, status_code=status_code)
    response.set_cookie(
        CSRF_COOKIE,
        token,
        path="/status",
        httponly=True,
        samesite="strict",
        secure=gateway.settings.secure_cookies,
    )
    response.headers["Cache-Control"] = "no-store"  # a private page: never in a shared cache
    response.headers["Referrer-Policy"] = "no-referrer"  # the link must not leak to photo hosts
    return response


@router.get("/status/{code}/{token}", response_class=HTMLResponse)
def reporter_page(request: Request, code: str, token: str, gateway: GatewayDep) -> Response:
    normalized = _code(gateway, code, token)
    if normalized is None:
        return _not_found(request)
    return _page(request, gateway, normalized)


@router.post("/status/{code}/{token}", response_class=HTMLResponse)
async def give_feedback(request: Request, code: str, token: str, gateway: GatewayDep) -> Response:
    normalized = _code(gateway, code, token)
    if normalized is None:
        return _not_found(request)
    form = await request.form(max_files=0, max_fields=10)
    # The transaction (and a wait for the SQLite write lock) runs in a web thread.
    return await run_in_threadpool(_give_feedback, request, normalized, gateway, form)


def _give_feedback(request: Request, normalized: str, gateway: Gateway, form: FormData) -> Response:
    lang = request_language(request)
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != CSRF_FIELD}
    expected = request.cookies.get(CSRF_COOKIE) or ""
    given = form.get(CSRF_FIELD)
    if (
        not expected
        or not isinstance(given, str)
        or not hmac.compare_digest(expected.encode(), given.encode())
    ):
        return _page(
            request, gateway, normalized, error=t(lang, "tracking.form_expired"), status_code=403
        )
    choice = CHOICES.get(values.get("choice", ""))
    comment = (values.get("comment") or "").strip()
    if choice is None:
        error = t(lang, "tracking.choose")
    elif len(comment) > MAX_COMMENT:
        error = t(lang, "tracking.comment_too_long", max=MAX_COMMENT)
    else:
        error = None
    if error is not None:
        return _page(request, gateway, normalized, error=error, values=values, status_code=422)
    entry = values.get("entry_id", "")
    entry = entry if ENTRY_ID.match(entry) else uuid.uuid4().hex
    label = t("id", "tracking.satisfied" if choice else "tracking.not_satisfied")
    text = f"{label}: {comment}" if comment else label
    try:
        with gateway.db.session() as session:
            complaint = session.scalar(
                select(Complaint).where(col(Complaint.tracking_code) == normalized)
            )
            if complaint is None or not feedback.awaits_feedback(session, complaint):
                current = lifecycle.case_of(session, complaint).status if complaint else "received"
                message = t(lang, "tracking.not_awaiting", status=t(lang, f"status.{current}"))
                return _page(request, gateway, normalized, error=message, status_code=409)
            result = feedback.give(
                gateway, session, complaint, text, key=f"web:{entry}", satisfied=choice
            )
            workflow.commit(session)
    except workflow.ConcurrentUpdate:
        message = t(lang, "tracking.form_expired")
        return _page(request, gateway, normalized, error=message, values=values, status_code=409)
    outcome = "reopened" if result.outcome is feedback.Outcome.REOPENED else "thanks"
    return RedirectResponse(f"{gateway.reporter_links.path(normalized)}?ok={outcome}", 303)
