"""The webhook door: `POST /webhooks/{channel}` (and `/webhooks/{channel}/{subpath}`, e.g.
Twilio's status callback), and `GET /webhooks/{channel}`, a provider's set-up check of the URL
(Meta's `hub.challenge`, answered by the channel's `handshake`: wrong token 403, no check on
that channel 405).

POST: a bad signature is 403 and nothing is stored; a signed payload we cannot read is kept raw
for the admins and acknowledged (the provider's signature proves it is genuine, and a 4xx would
only lose it); a known-but-ignored event 200; our own failure 5xx so the provider retries.

The POST is the one request that comes in floods (issue 12), so it is answered by `WebhookDoor`,
a plain ASGI middleware in front of the router: no route matching over every page, no
dependency solving, no exception middleware. Only the body is read on the event loop;
verifying, parsing and the one INSERT run in the door's own ack threads (a database that waits
must never stall the loop, and an admin page busy in the web threads must never delay an ack);
processing is handed to the inbound threads after the row is stored, and what else the message
needs (its media, a contact card) runs after the answer has gone.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from channels.base import PayloadError, RawRequest, SignatureError, WebhookAck
from config.messages import language, t
from gateway.api.body import BodyTooLarge, read_capped
from gateway.api.deps import GatewayDep
from gateway.bot import public_posts
from gateway.context import Gateway
from gateway.intake import attachments, spool
from gateway.intake.webhooks import Received, UnknownChannel, receive, resolve_contacts
from gateway.store.db import ACK_CONNECTIONS, UNAVAILABLE_ERRORS, is_unavailable

router = APIRouter(tags=["webhooks"])
log = logging.getLogger(__name__)

# Channels whose media references stop working soon: Meta's media URLs and CDN links.
EXPIRING_MEDIA = frozenset({"whatsapp_cloud", "instagram", "facebook"})

# /webhooks/{channel} and /webhooks/{channel}/{subpath}, as the routes they replace matched them.
_PATH = re.compile(r"^/webhooks/([^/]+)(?:/([^/]+))?$")


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


def _json(content: dict[str, Any]) -> bytes:
    """As Starlette's JSONResponse renders it."""
    return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass
class Answer:
    """What the provider gets, and what runs once it has it."""

    status: int
    body: bytes = b""
    media_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    after: list[tuple[Callable[..., Any], tuple[Any, ...]]] = field(default_factory=list)

    @classmethod
    def json(cls, message: str, status: int, **headers: str) -> Answer:
        return cls(status, _json({"message": message}), headers=headers)

    @classmethod
    def ack(cls, ack: WebhookAck) -> Answer:
        media_type = ack.media_type
        if media_type.startswith("text/") and "charset" not in media_type:
            media_type += "; charset=utf-8"  # as Starlette's Response says it
        return cls(ack.status_code, ack.body.encode("utf-8"), media_type)


def answer(gateway: Gateway, channel: str, raw: RawRequest) -> Answer:
    """Verify, store and decide the answer (in an ack thread)."""
    try:
        received = receive(gateway, channel, raw)
    except UnknownChannel:
        return Answer.json(f"unknown channel {channel!r}", 404)
    except SignatureError:
        return Answer.json("invalid signature", 403)
    except UNAVAILABLE_ERRORS as exc:
        if not is_unavailable(exc):
            # The database refused what the request carried: retrying cannot help (as the
            # app's handler answers every other route).
            log.warning(
                "database refused the request's data",
                extra={"channel": channel, "error": type(exc).__name__},
            )
            refused = t(language(raw.query.get("lang")), "errors.data_refused")
            return Answer(422, _json({"message": refused, "errors": {}}))
        # Verified (receive checks the signature before touching the database): kept on disk
        # and acknowledged, fed into intake when the database is back (intake/spool.py).
        return spooled(gateway, channel, raw)
    result = Answer.ack(received.ack)
    after = result.after
    if any(m.extra.get("contact_card_url") for m in received.messages):
        # The card's number must be on the row before the message is processed.
        after.append((_contacts_then_process, (gateway, channel, received)))
    else:
        process_now = gateway.hand_over(received.new_rows)
        if process_now is not None:
            after.append((process_now, ()))
    # With the inbound threads running, the message may not be processed yet when this runs;
    # what it adds is then fetched by the periodic attachment job (every 20 s).
    if received.new_ids and (channel in EXPIRING_MEDIA or any(m.media for m in received.messages)):
        # Provider media links expire (Meta's within minutes, its CDN's within days): what a
        # message just added to a complaint (a photo, or the KIRIM that files a draft with
        # photos) is fetched now, not at the next periodic run.
        after.append((attachments.fetch_pending, (gateway,)))
    if received.new_ids and any(m.public for m in received.messages):
        after.append((public_posts.resolve_permalinks, (gateway, received.new_ids)))
    answer_button = getattr(gateway.channels[channel], "answer_button", None)
    for message in received.messages:
        callback = message.extra.get("callback_query_id")
        if callback and answer_button is not None:
            after.append((answer_button, (callback,)))
    return result


async def _contacts_then_process(gateway: Gateway, channel: str, received: Received) -> None:
    """A shared contact card is fetched first (its number goes on the inbound row), then the
    message is handed to processing like any other."""
    await resolve_contacts(gateway, channel, received)
    process_now = gateway.hand_over(received.new_rows)
    if process_now is not None:
        await run_in_threadpool(process_now)


def spooled(gateway: Gateway, channel: str, raw: RawRequest) -> Answer:
    try:
        spool.append(gateway, channel, raw)
    except (spool.SpoolFull, OSError):
        log.error("database unavailable and webhook spool full", extra={"channel": channel})
        return Answer.json("service unavailable", 503, **{"retry-after": "30"})
    log.warning("database unavailable: webhook spooled", extra={"channel": channel})
    return Answer.ack(gateway.channels[channel].ack(raw))


class WebhookDoor:
    """`POST /webhooks/...` answered before the router (module docstring); every other request
    passes through untouched."""

    def __init__(self, app: Any, gateway: Gateway) -> None:
        self.app = app
        self.gateway = gateway
        # As many ack threads as the ack path has connections: a thread never waits for one.
        self._threads = ThreadPoolExecutor(ACK_CONNECTIONS, thread_name_prefix="ack")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        match = (
            _PATH.match(scope["path"])
            if scope["type"] == "http" and scope["method"] == "POST"
            else None
        )
        if match is None:
            await self.app(scope, receive, send)
            return
        channel, subpath = match.group(1), match.group(2) or ""
        # Processing in this process's inbound threads holds back while acks are in flight.
        workers = self.gateway.inbound_workers
        acks = workers.acks if workers is not None else None
        if acks is not None:
            acks.enter()
        try:
            result = await self._answer(channel, subpath, Request(scope, receive))
            headers = [
                (k.encode("latin-1"), v.encode("latin-1")) for k, v in result.headers.items()
            ]
            if result.media_type:
                headers.append((b"content-type", result.media_type.encode("latin-1")))
            headers.append((b"content-length", str(len(result.body)).encode("latin-1")))
            await send({"type": "http.response.start", "status": result.status, "headers": headers})
            await send({"type": "http.response.body", "body": result.body})
        finally:
            if acks is not None:
                acks.leave()
        for function, args in result.after:  # as Starlette's background tasks: after the answer
            if inspect.iscoroutinefunction(function):
                await function(*args)
            else:
                await run_in_threadpool(function, *args)

    async def _answer(self, channel: str, subpath: str, request: Request) -> Answer:
        try:
            raw = await raw_request(request, subpath, self.gateway.settings.webhook_max_bytes)
        except BodyTooLarge as exc:
            return Answer.json(str(exc), 413)
        except ClientDisconnect:  # the provider hung up mid-body: nothing stored, nobody to answer
            return Answer(400, media_type=None)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, answer, self.gateway, channel, raw)


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
