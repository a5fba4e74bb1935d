"""`POST /webhooks/{channel}` (and `/webhooks/{channel}/{subpath}`, e.g. Twilio's status
callback): a bad signature is 403 and nothing is stored; a signed payload we cannot read is kept
raw for the admins and acknowledged (the provider's signature proves it is genuine, and a 4xx
would only lose it); a known-but-ignored event 200; our own failure 5xx so the provider
retries."""

from __future__ import annotations

import logging

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse, Response

from channels.base import RawRequest, SignatureError
from gateway.api.body import BodyTooLarge, read_capped
from gateway.api.deps import GatewayDep
from gateway.intake import inbound as intake
from gateway.intake import spool
from gateway.intake.webhooks import UnknownChannel, receive, resolve_contacts
from gateway.store.db import UNAVAILABLE_ERRORS, is_unavailable

router = APIRouter(tags=["webhooks"])
log = logging.getLogger(__name__)


async def raw_request(
    request: Request, subpath: str = "", max_bytes: int | None = None
) -> RawRequest:
    """The request as a channel sees it; `BodyTooLarge` (413) over `max_bytes`."""
    body = await request.body() if max_bytes is None else await read_capped(request, max_bytes)
    return RawRequest(
        body=body,
        headers={k.lower(): v for k, v in request.headers.items()},
        url=str(request.url),
        query=dict(request.query_params),
        subpath=subpath,
    )


async def _handle(
    channel: str, subpath: str, request: Request, gateway: GatewayDep, background: BackgroundTasks
) -> Response:
    try:
        raw = await raw_request(request, subpath, gateway.settings.webhook_max_bytes)
    except BodyTooLarge as exc:
        return JSONResponse({"message": str(exc)}, status_code=413)
    try:
        received = receive(gateway, channel, raw)
    except UnknownChannel:
        return JSONResponse({"message": f"unknown channel {channel!r}"}, status_code=404)
    except SignatureError:
        return JSONResponse({"message": "invalid signature"}, status_code=403)
    except UNAVAILABLE_ERRORS as exc:
        if not is_unavailable(exc):
            raise
        # Verified (receive checks the signature before touching the database): kept on disk
        # and acknowledged, fed into intake when the database is back (intake/spool.py).
        return spooled(gateway, channel, raw)
    if any(m.extra.get("contact_card_url") for m in received.messages):
        # Background tasks run in order: the card's number is on the row before processing.
        background.add_task(resolve_contacts, gateway, channel, received)
    for inbound_id in received.new_ids:
        background.add_task(intake.process, gateway, inbound_id)
    for message in received.messages:
        callback = message.extra.get("callback_query_id")
        answer = getattr(gateway.channels[channel], "answer_button", None)
        if callback and answer is not None:
            background.add_task(answer, callback)
    ack = received.ack
    return Response(content=ack.body, status_code=ack.status_code, media_type=ack.media_type)


def spooled(gateway: GatewayDep, channel: str, raw: RawRequest) -> Response:
    try:
        spool.append(gateway, channel, raw)
    except (spool.SpoolFull, OSError):
        log.error("database unavailable and webhook spool full", extra={"channel": channel})
        return JSONResponse(
            {"message": "service unavailable"}, status_code=503, headers={"Retry-After": "30"}
        )
    log.warning("database unavailable: webhook spooled", extra={"channel": channel})
    ack = gateway.channels[channel].ack(raw)
    return Response(content=ack.body, status_code=ack.status_code, media_type=ack.media_type)


@router.post("/webhooks/{channel}", summary="Provider webhook")
async def webhook(
    channel: str, request: Request, gateway: GatewayDep, background: BackgroundTasks
) -> Response:
    return await _handle(channel, "", request, gateway, background)


@router.post("/webhooks/{channel}/{subpath}", summary="Provider webhook (status callbacks)")
async def webhook_subpath(
    channel: str, subpath: str, request: Request, gateway: GatewayDep, background: BackgroundTasks
) -> Response:
    return await _handle(channel, subpath, request, gateway, background)
