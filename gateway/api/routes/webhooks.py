"""`POST /webhooks/{channel}` (and `/webhooks/{channel}/{subpath}`, e.g. Twilio's status
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

from channels.base import RawRequest, SignatureError
from gateway.api.deps import GatewayDep
from gateway.intake.webhooks import UnknownChannel, receive

router = APIRouter(tags=["webhooks"])


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
    raw = await raw_request(request, subpath)
    try:
        received = await run_in_threadpool(receive, gateway, channel, raw)
    except UnknownChannel:
        return JSONResponse({"message": f"unknown channel {channel!r}"}, status_code=404)
    except SignatureError:
        return JSONResponse({"message": "invalid signature"}, status_code=403)
    process_now = gateway.hand_over(received.new_rows)
    if process_now is not None:
        background.add_task(process_now)
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
