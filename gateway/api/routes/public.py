"""The citizen's pages: the complaint form (`/lapor`) and the status page (`/status/{code}`)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from channels import webform
from config.messages import t
from gateway.api.body import form_photos
from gateway.api.deps import GatewayDep
from gateway.api.pages import render, request_language
from gateway.complaints import public_status
from gateway.complaints.tracking import normalize_code
from gateway.context import Gateway
from gateway.intake import inbound as intake
from gateway.intake.web_form import submit

router = APIRouter(include_in_schema=False)

SUBMISSION_ID = re.compile(r"^[0-9a-f]{32}$")
FORM_FIELDS = (
    "description",
    "name",
    "phone",
    "email",
    "location_text",
    "latitude",
    "longitude",
    "anonim",
    "rahasia",
    "consent",
)


def _form_context(gateway: GatewayDep, values: dict, errors: dict, submission_id: str) -> dict:
    limits = gateway.form_limits
    return {
        "values": values,
        "errors": errors,
        "submission_id": submission_id,
        "limits": limits,
        "size_mb": limits.max_bytes // (1024 * 1024),
    }


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/lapor", status_code=307)


@router.get("/lapor", response_class=HTMLResponse)
def complaint_form(request: Request, gateway: GatewayDep) -> HTMLResponse:
    return render(request, "lapor.html", _form_context(gateway, {}, {}, uuid.uuid4().hex))


@router.post("/lapor", response_class=HTMLResponse)
async def submit_complaint(
    request: Request, gateway: GatewayDep, background: BackgroundTasks
) -> Response:
    lang = request_language(request)
    limits = gateway.form_limits
    too_big = limits.max_files * (limits.max_bytes + 1) + 1024 * 1024
    if int(request.headers.get("content-length") or 0) > too_big:
        message = t(lang, "errors.photo_too_large", name="", size_mb=limits.max_bytes >> 20)
        return render(request, "error.html", {"message": message}, status_code=413)
    form = await request.form(max_files=limits.max_files + 5, max_fields=50)
    # Reading and checking photos, storing them (fsync) and the INSERT block: the web threads
    # do it, the event loop only parses the form.
    response, process_now = await run_in_threadpool(_file, request, gateway, form, lang)
    if process_now is not None:
        background.add_task(process_now)
    return response


def _file(
    request: Request, gateway: Gateway, form: FormData, lang: str
) -> tuple[Response, Callable[[], None] | None]:
    limits = gateway.form_limits
    values = {key: str(form.get(key) or "") for key in FORM_FIELDS}
    photos = form_photos(form, "photos", limits)
    submission_id = str(form.get("submission_id") or "")
    if not SUBMISSION_ID.match(submission_id):
        submission_id = uuid.uuid4().hex
    valid, errors = webform.validate_form(values, photos, limits=limits, lang=lang)
    if valid is None:
        context = _form_context(gateway, values, errors.fields, submission_id)
        return render(request, "lapor.html", context, status_code=422), None
    form_id = f"form:{submission_id}"
    accepted = submit(gateway, valid, form_id)
    process_now = None
    if not accepted.duplicate:
        sender = intake.sender_key(webform.NAME, webform.sender_address(valid, form_id))
        process_now = gateway.hand_over([(accepted.inbound_id, sender)])
    # The confirmation is the reporter's private page: its link is theirs alone (the answer,
    # its photos, PUAS / TIDAK PUAS); the public /status/{code} stays shareable.
    private = gateway.reporter_links.path(accepted.tracking_code or "")
    return RedirectResponse(f"{private}?baru=1", status_code=303), process_now


@router.get("/status", response_class=HTMLResponse)
def status_lookup(request: Request, code: str = "") -> Response:
    lang = request_language(request)
    if code:
        normalized = normalize_code(code)
        if normalized:
            return RedirectResponse(f"/status/{normalized}", status_code=303)
        context = {"code": code, "error": t(lang, "errors.code_invalid")}
        return render(request, "status_lookup.html", context, status_code=404)
    return render(request, "status_lookup.html", {"code": "", "error": None})


@router.get("/status/{code}", response_class=HTMLResponse)
def status_page(request: Request, code: str, gateway: GatewayDep) -> Response:
    lang = request_language(request)
    normalized = normalize_code(code)
    if normalized is None:
        context = {"code": code, "error": t(lang, "errors.code_invalid")}
        return render(request, "status_lookup.html", context, status_code=404)
    with gateway.db.read_session() as session:
        status = public_status.lookup(session, normalized, lang)
    if status is None:
        context = {"code": normalized, "error": t(lang, "errors.code_not_found")}
        return render(request, "status_lookup.html", context, status_code=404)
    page = {"status": status, "new": request.query_params.get("baru") == "1"}
    return render(request, "status.html", page)
