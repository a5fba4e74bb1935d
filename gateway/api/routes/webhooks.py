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

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from channels.base import PayloadError, RawRequest, SignatureError
from gateway.api.deps import GatewayDep
from gateway.bot import public_posts
from gateway.intake import attachments
from gateway.intake.webhooks import UnknownChannel, receive

router = APIRouter(tags=["webhooks"])

# Channels whose media references stop working soon: Meta's media URLs and CDN links.
EXPIRING_MEDIA = frozenset({"whatsapp_cloud", "instagram", "facebook"})


async def raw_request(request: Request, subpath: str = "") -> RawRequest:
    return RawRequest(
        body=await request.body(),
        headers={k.lower(): v for k, v in request.headers.items()},
        url=str(request.url),
        query=dict(request.query_params),
        subpath=subpath,
    )


async def _handle(
    channel: str, subpath: str, request: Request, gateway: GatewayDep, background: BackgroundTasks
) -> Response:
    try:
        raw = await raw_request(request, subpath)
    except ClientDisconnect:  # the provider hung up mid-body: nothing stored, nobody to answer
        return Response(status_code=400)
    try:
        received = await run_in_threadpool(receive, gateway, channel, raw)
    except UnknownChannel:
        return JSONResponse({"message": f"unknown channel {channel!r}"}, status_code=404)
    except SignatureError:
        return JSONResponse({"message": "invalid signature"}, status_code=403)
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
