"""The JSON twin of the web form: `POST /api/v1/complaints`, `GET /api/v1/complaints/{code}`.

The body is validated by the same model as the HTML form (`channels.webform.ComplaintIn`, which
is also the request schema in OpenAPI), so both answer with the same readable, per-field
messages (Indonesian unless `language` or `?lang=en` says English).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from channels import webform
from channels.base import PayloadError
from channels.sanitize import load_json
from channels.webform import sender_address
from config.messages import language, t
from gateway.api.deps import GatewayDep
from gateway.complaints import public_status
from gateway.complaints.tracking import normalize_code
from gateway.context import Gateway
from gateway.intake import inbound as intake
from gateway.intake.web_form import submit

router = APIRouter(prefix="/api/v1", tags=["complaints"])


class ComplaintAccepted(BaseModel):
    tracking_code: str
    status_url: str
    private_url: str = Field(
        description="The reporter's private page (the answer with its proof photos, PUAS / "
        "TIDAK PUAS): give it to the reporter only; the status URL may be shared."
    )
    duplicate: bool = Field(description="True when this Idempotency-Key was submitted before.")


class HistoryOut(BaseModel):
    at: str
    label: str
    note: str | None = None


class ReplyOut(BaseModel):
    at: str
    text: str | None


class ComplaintStatusOut(BaseModel):
    tracking_code: str
    status: str
    status_label: str
    updated_at: str
    history: list[HistoryOut]
    replies: list[ReplyOut]


class ErrorOut(BaseModel):
    message: str
    errors: dict[str, str] = Field(default_factory=dict)


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """The model's JSON schema with its `$defs` written in place: an OpenAPI document resolves
    `#/$defs/...` against its own root, where they do not exist."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


# The web form's validator is the schema: one model, `channels.webform.ComplaintIn`.
REQUEST_SCHEMA = inline_refs(webform.ComplaintIn.model_json_schema())


def _error(status: int, message: str, errors: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"message": message, "errors": errors or {}}, status_code=status)


# The inbound row's external id holds 200 characters; "api:" and a key of up to 200 do not fit,
# and a key cut short could name another client's submission.
_KEY_ROOM = 200 - len("api:")


def submission_id(key: str) -> str:
    """The external id of an API submission: the client's key, or its hash when too long."""
    if len(key) <= _KEY_ROOM:
        return f"api:{key}"
    return "api:sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _decode_photos(items: Any, lang: str) -> tuple[list[webform.Photo], str | None]:
    if items in (None, []):
        return [], None
    if not isinstance(items, list):
        return [], t(lang, "errors.invalid_value")
    photos = []
    for item in items:
        if not isinstance(item, dict):
            return [], t(lang, "errors.invalid_value")
        name = str(item.get("filename") or "foto")[:255]
        try:
            data = base64.b64decode(str(item.get("content_base64") or ""), validate=True)
        except (binascii.Error, ValueError):
            return [], t(lang, "errors.photo_invalid", name=name)
        photos.append(webform.Photo(filename=name, data=data))
    return photos, None


@router.post(
    "/complaints",
    status_code=202,
    response_model=ComplaintAccepted,
    responses={
        200: {"model": ComplaintAccepted, "description": "A replay of an earlier submission."},
        400: {"model": ErrorOut, "description": "The body is not JSON."},
        422: {"model": ErrorOut, "description": "Invalid fields, one message per field."},
        503: {"model": ErrorOut, "description": "The database is unavailable; nothing stored."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": REQUEST_SCHEMA}},
        }
    },
    summary="File a complaint",
)
async def create_complaint(
    request: Request,
    gateway: GatewayDep,
    background: BackgroundTasks,
    idempotency_key: str | None = Header(
        default=None,
        max_length=200,
        description="Send the same key again and get the same complaint, never a second one.",
    ),
) -> JSONResponse:
    lang = language(request.query_params.get("lang"))
    raw = await request.body()
    # Decoding photos, storing them (fsync) and the INSERT block: the web threads do it, the
    # event loop only reads the body.
    response, process_now = await run_in_threadpool(_file, gateway, raw, lang, idempotency_key)
    if process_now is not None:
        background.add_task(process_now)
    return response


def _file(
    gateway: Gateway, raw: bytes, lang: str, idempotency_key: str | None
) -> tuple[JSONResponse, Callable[[], None] | None]:
    try:
        # Depth and number size are checked too: a body nested a thousand levels deep is no
        # complaint (and would exhaust the recursion of whatever walks it next).
        body = load_json(raw, "complaint")
    except PayloadError:
        return _error(400, t(lang, "errors.invalid_json")), None
    if not isinstance(body, dict):
        return _error(400, t(lang, "errors.invalid_json")), None
    lang = language(str(body.get("language") or lang))
    photos, photo_error = _decode_photos(body.get("photos"), lang)
    valid, errors = webform.validate_form(body, photos, limits=gateway.form_limits, lang=lang)
    if photo_error:
        errors.add("photos", photo_error)
    if valid is None or errors:
        return _error(422, t(lang, "form.errors_title"), errors.fields), None
    external_id = submission_id(idempotency_key or uuid.uuid4().hex)
    accepted = submit(gateway, valid, external_id)
    process_now = None
    if not accepted.duplicate:
        process_now = gateway.hand_over(
            [
                (
                    accepted.inbound_id,
                    intake.sender_key(webform.NAME, sender_address(valid, external_id)),
                )
            ]
        )
    out = ComplaintAccepted(
        tracking_code=accepted.tracking_code or "",
        status_url=f"{gateway.settings.public_base_url}/status/{accepted.tracking_code}",
        private_url=gateway.reporter_links.url(accepted.tracking_code or ""),
        duplicate=accepted.duplicate,
    )
    status = 200 if accepted.duplicate else 202
    return JSONResponse(out.model_dump(), status_code=status), process_now


@router.get(
    "/complaints/{code}",
    response_model=ComplaintStatusOut,
    responses={404: {"model": ErrorOut}},
    summary="Status and history of a complaint (no personal data)",
)
def complaint_status(code: str, request: Request, gateway: GatewayDep) -> JSONResponse:
    lang = language(request.query_params.get("lang"))
    normalized = normalize_code(code)
    if normalized is None:
        return _error(404, t(lang, "errors.code_invalid"))
    with gateway.db.read_session() as session:
        status = public_status.lookup(session, normalized, lang)
    if status is None:
        return _error(404, t(lang, "errors.code_not_found"))
    return JSONResponse(status.as_json())
