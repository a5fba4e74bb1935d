"""`POST /core/events`: the SP4N core pushes its events here, HMAC-signed (docs/core-api.md).
Unsigned or badly signed: 403; signed but unreadable: 400; nothing changes either way."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from forwarder.registry import build_push_verifier
from forwarder.rest import PushPayloadError, PushSignatureError
from gateway.api.body import BodyTooLarge, read_capped
from gateway.api.deps import GatewayDep
from gateway.clock import utcnow
from gateway.core import sync as core_sync

router = APIRouter(tags=["core"])


@router.post("/core/events", summary="Events pushed by the SP4N-LAPOR core (HMAC-signed)")
async def core_events(request: Request, gateway: GatewayDep) -> JSONResponse:
    try:
        body = await read_capped(request, gateway.settings.webhook_max_bytes)
    except BodyTooLarge as exc:
        return JSONResponse({"message": str(exc)}, status_code=413)
    headers = {k.lower(): v for k, v in request.headers.items()}
    verify = build_push_verifier(gateway.settings)
    try:
        events = verify(body, headers, utcnow())
    except PushSignatureError:
        return JSONResponse({"message": "invalid signature"}, status_code=403)
    except PushPayloadError as exc:
        return JSONResponse({"message": f"malformed events: {exc}"}, status_code=400)
    outcomes = [
        await asyncio.to_thread(core_sync.apply_event, gateway, event, "push") for event in events
    ]
    return JSONResponse({"received": len(events), "outcomes": outcomes})
