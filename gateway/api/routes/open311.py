"""Open311 GeoReport v2 at `/open311/v2/` (docs/open311.md), JSON and XML by the resource's
extension, as the spec names them: `services`, `services/{code}`, `requests` (GET, public;
POST with an admin-issued `api_key`), `requests/{id}`, `tokens/{token}`. Errors are the spec's
`[{code, description}]` list (XML: `<errors><error>`), with the description in Indonesian unless
`?lang=en`; bad input is 400/403/404/429, never a 500.

POST files the complaint through the normal intake (`open311` channel, processed like the web
form): the normalizer, duplicates, deadlines and the admin's inbox are the same as for every
complaint; the citizen has no chat here, so nothing is sent to them on a channel.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import Response

from config.messages import language, t
from gateway.api.deps import GatewayDep
from gateway.clock import utcnow
from gateway.open311 import filing, georeport, keys
from gateway.open311.georeport import GeoReportError

router = APIRouter(prefix="/open311/v2", tags=["open311"])

MAX_BODY = 64 * 1024  # a GeoReport POST is a form of a few fields (media by URL, not bytes)
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


def _lang(request: Request) -> str:
    return language(request.query_params.get("lang"))


def _respond(fmt: str, body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type=CONTENT_TYPES[fmt])


def _error(fmt: str, status: int, description: str) -> Response:
    return _respond(fmt, georeport.errors_body(fmt, [(status, description)]), status)


def _fmt_of(leaf: str) -> str:
    """The format even of a resource we refuse, so the error comes in the client's format."""
    fmt = leaf.rpartition(".")[2]
    return fmt if fmt in georeport.FORMATS else "xml"


def _check_jurisdiction(request: Request, gateway: GatewayDep, lang: str) -> None:
    wanted = gateway.settings.open311_jurisdiction_id
    given = (request.query_params.get("jurisdiction_id") or "").strip()
    if wanted and given and given != wanted:
        raise GeoReportError(404, t(lang, "open311.errors.jurisdiction_unknown"))


def _list(fmt: str, root: str, item: str, items: list[dict[str, Any]]) -> Response:
    if fmt == "xml":
        return _respond(fmt, georeport.to_xml(root, item, items))
    return _respond(fmt, georeport.to_json(items))


@router.get(
    "/{leaf}",
    summary="GeoReport v2: services.{format} (service list) or requests.{format} (service "
    "requests, public: status, service_code, start_date/end_date ≤ 90 days, "
    "service_request_id)",
    responses={
        200: {"content": {"application/json": {}, "text/xml": {}}},
        400: {"description": "Bad arguments: `[{code, description}]`"},
    },
)
def get_collection(leaf: str, request: Request, gateway: GatewayDep) -> Response:
    lang = _lang(request)
    fmt = _fmt_of(leaf)
    try:
        name, fmt = georeport.split_format(leaf)
        _check_jurisdiction(request, gateway, lang)
        if name == "services":
            return _list(fmt, "services", "service", georeport.services(lang))
        if name != "requests":
            raise GeoReportError(404, t(lang, "open311.errors.not_found"))
        s = gateway.settings
        query = georeport.parse_query(request.query_params, utcnow(), s.timezone, lang)
        with gateway.db.read_session() as session:
            found = georeport.find(session, query)
            items = georeport.requests(session, found, timezone=s.timezone, lang=lang)
    except GeoReportError as exc:
        description = exc.description
        if description == "format":
            description = t(lang, "open311.errors.format")
        return _error(fmt, exc.status, description)
    return _list(fmt, "service_requests", "request", items)


@router.get(
    "/{kind}/{leaf}",
    summary="GeoReport v2: services/{service_code}.{format} (definition), "
    "requests/{service_request_id}.{format}, tokens/{token}.{format}",
    responses={404: {"description": "Not found: `[{code, description}]`"}},
)
def get_one(kind: str, leaf: str, request: Request, gateway: GatewayDep) -> Response:
    lang = _lang(request)
    fmt = _fmt_of(leaf)
    s = gateway.settings
    try:
        name, fmt = georeport.split_format(leaf)
        _check_jurisdiction(request, gateway, lang)
        if kind == "services":
            definition = georeport.definition(name, lang)
            if fmt == "xml":
                return _respond(fmt, georeport.definition_xml(definition))
            return _respond(fmt, georeport.to_json(definition))
        if kind not in ("requests", "tokens"):
            raise GeoReportError(404, t(lang, "open311.errors.not_found"))
        with gateway.db.read_session() as session:
            complaint = georeport.one(session, name)
            if complaint is None:
                raise GeoReportError(404, t(lang, "open311.errors.request_unknown"))
            if kind == "tokens":
                # Requests are realtime: a token is the request's own id.
                items = [{"service_request_id": complaint.tracking_code, "token": name}]
            else:
                items = [georeport.request(session, complaint, timezone=s.timezone, lang=lang)]
    except GeoReportError as exc:
        description = exc.description
        if description == "format":
            description = t(lang, "open311.errors.format")
        return _error(fmt, exc.status, description)
    return _list(fmt, "service_requests", "request", items)


async def _form(request: Request) -> dict[str, str]:
    """The POST body as the spec sends it (application/x-www-form-urlencoded; a JSON object is
    read too); the api_key may also come in the query string."""
    body = await request.body()
    if len(body) > MAX_BODY:
        raise GeoReportError(400, t(_lang(request), "open311.errors.too_large"))
    data: dict[str, str] = {}
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            parsed = json.loads(body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise GeoReportError(400, t(_lang(request), "open311.errors.unreadable")) from None
        if not isinstance(parsed, dict):
            raise GeoReportError(400, t(_lang(request), "open311.errors.unreadable"))
        data = {str(k): "" if v is None else str(v) for k, v in parsed.items()}
    else:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise GeoReportError(400, t(_lang(request), "open311.errors.unreadable")) from None
        data = dict(parse_qsl(text, keep_blank_values=True))
    if "api_key" not in data and request.query_params.get("api_key"):
        data["api_key"] = request.query_params["api_key"]
    return data


@router.post(
    "/{leaf}",
    status_code=201,
    summary="GeoReport v2: POST requests.{format} — file a complaint (api_key required; "
    "service_code, a location: lat+long or address_string, description)",
    responses={
        201: {"description": "`[{service_request_id, service_notice, account_id}]`"},
        400: {"description": "Bad fields: `[{code, description}]`, one per field"},
        403: {"description": "Missing, unknown or revoked api_key"},
        404: {"description": "Unknown service_code"},
        429: {"description": "Too many requests for this api_key in the last hour"},
    },
)
async def post_request(leaf: str, request: Request, gateway: GatewayDep) -> Response:
    lang = _lang(request)
    fmt = _fmt_of(leaf)
    try:
        name, fmt = georeport.split_format(leaf)
        if name != "requests":
            raise GeoReportError(404, t(lang, "open311.errors.not_found"))
        _check_jurisdiction(request, gateway, lang)
        data = await _form(request)
        holder = await asyncio.to_thread(keys.holder, gateway, data.get("api_key"))
        if holder is None or holder.id is None:
            raise GeoReportError(403, t(lang, "open311.errors.api_key"))
        limit = gateway.settings.open311_posts_per_hour
        if await asyncio.to_thread(keys.used_last_hour, gateway, holder.id) >= limit:
            raise GeoReportError(429, t(lang, "open311.errors.rate_limited", limit=limit))
        form, code, media_url = filing.validate(data, lang, gateway.form_limits)
        filed = await asyncio.to_thread(
            filing.file,
            gateway,
            holder.id,
            form,
            code,
            media_url,
            request.headers.get("idempotency-key"),
        )
        await asyncio.to_thread(keys.touch, gateway, holder.id)
    except filing.GeoReportErrors as exc:
        body = georeport.errors_body(fmt, [(400, d) for d in exc.descriptions])
        return _respond(fmt, body, 400)
    except GeoReportError as exc:
        description = exc.description
        if description == "format":
            description = t(lang, "open311.errors.format")
        return _error(fmt, exc.status, description)
    items = [
        {
            "service_request_id": filed.tracking_code,
            "service_notice": t(
                lang,
                "open311.notice",
                code=filed.tracking_code,
                days=gateway.settings.sla_verify_working_days,
                url=f"{gateway.settings.public_base_url}/status/{filed.tracking_code}",
            ),
            "account_id": None,
        }
    ]
    status = 200 if filed.duplicate else 201
    if fmt == "xml":
        return _respond(fmt, georeport.to_xml("service_requests", "request", items), status)
    return _respond(fmt, georeport.to_json(items), status)
