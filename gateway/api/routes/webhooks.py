"""`GET /webhooks/{channel}`: a provider's set-up check of the URL (Meta's `hub.challenge`),
answered by the channel's `handshake` (wrong token 403, no check on that channel 405).

`POST /webhooks/{channel}` (and `/webhooks/{channel}/{subpath}`, e.g. Twilio's status
callback): a bad signature is 403 and nothing is stored; a signed payload we cannot read is kept
raw for the admins and acknowledged (the provider's signature proves it is genuine, and a 4xx
would only lose it); a known-but-ignored event 200; our own failure 5xx so the provider
retries.

Only the body is read on the event loop; verifying, parsing and the one INSERT run in the
web threads (a database that waits must never stall the loop), and processing is handed to
the inbound threads after the row is stored."""

from __future__ import annotations

import logging

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from channels.base import PayloadError, RawRequest, SignatureError
from gateway.api.body import BodyTooLarge, read_capped
from gateway.api.deps import GatewayDep
from gateway.bot import public_posts
from gateway.intake import attachments, spool
from gateway.intake.webhooks import Received, UnknownChannel, receive, resolve_contacts
from gateway.store.db import UNAVAILABLE_ERRORS, is_unavailable

router = APIRouter(tags=["webhooks"])
log = logging.getLogger(__name__)

# Channels whose media references stop working soon: Meta's media URLs and CDN links.
EXPIRING_MEDIA = frozenset({"whatsapp_cloud", "instagram", "facebook"})


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
    except ClientDisconnect:  # the provider hung up mid-body: nothing stored, nobody to answer
        return Response(status_code=400)
    try:
        received = await run_in_threadpool(receive, gateway, channel, raw)
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
        # The card's number must be on the row before the message is processed.
        background.add_task(_contacts_then_process, gateway, channel, received)
    else:
        process_now = gateway.hand_over(received.new_rows)
        if process_now is not None:
            background.add_task(process_now)
    # With the inbound threads running, the message may not be processed yet when this runs;
    # what it adds is then fetched by the periodic attachment job (every 20 s).
    if received.new_ids and (channel in EXPIRING_MEDIA or any(m.media for m in received.messages)):
        # Provider media links expire (Meta's within minutes, its CDN's within days): what a
        # message just added to a complaint (a photo, or the KIRIM that files a draft with
        # photos) is fetched now, not at the next periodic run.
        background.add_task(attachments.fetch_pending, gateway)
    if received.new_ids and any(m.public for m in received.messages):
        background.add_task(public_posts.resolve_permalinks, gateway, received.new_ids)
    for message in received.messages:
        callback = message.extra.get("callback_query_id")
        answer = getattr(gateway.channels[channel], "answer_button", None)
        if callback and answer is not None:
            background.add_task(answer, callback)
    ack = received.ack
    return Response(content=ack.body, status_code=ack.status_code, media_type=ack.media_type)


async def _contacts_then_process(gateway: GatewayDep, channel: str, received: Received) -> None:
    """A shared contact card is fetched first (its number goes on the inbound row), then the
    message is handed to processing like any other."""
    await resolve_contacts(gateway, channel, received)
    process_now = gateway.hand_over(received.new_rows)
    if process_now is not None:
        await run_in_threadpool(process_now)


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


@router.get("/webhooks/{channel}", summary="Provider webhook set-up check (Meta's hub.challenge)")
async def webhook_handshake(channel: str, request: Request, gateway: GatewayDep) -> Response:
    """Answer the GET a provider sends when its webhook is pointed at us. Nothing is stored:
    the check proves only that whoever set the URL up knows the verify token."""
    provider = gateway.channels.get(channel)
    if provider is None or channel == "webform":
        return JSONResponse({"message": f"kanal {channel!r} tidak dikenal"}, status_code=404)
    try:
        ack = provider.handshake(await raw_request(request))
    except SignatureError:
        return JSONResponse({"message": "token verifikasi tidak cocok"}, status_code=403)
    except PayloadError:
        return JSONResponse({"message": "hub.challenge tidak ada atau tidak sah"}, status_code=400)
    if ack is None:
        return JSONResponse(
            {"message": f"kanal {channel!r} tidak memakai pemeriksaan GET"},
            status_code=405,
            headers={"allow": "POST"},
        )
    return Response(content=ack.body, status_code=ack.status_code, media_type=ack.media_type)
