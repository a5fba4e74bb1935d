"""A local fake of Meta's Graph API, speaking its documented format, for tests and the demo.

What it does (enough for the Meta channels in `channels/meta/`):
- `POST /{version}/{phone-number-id}/messages` (WhatsApp Cloud API, `messaging_product`
  "whatsapp"): text, media by link, interactive and template messages; answers
  `{"messaging_product": "whatsapp", "contacts": [...], "messages": [{"id": "wamid..."}]}`.
- `POST /{version}/me/messages` (or `/{page-or-ig-id}/messages`): the Send API for Messenger
  and Instagram, to `recipient.id` or, a private reply, to `recipient.comment_id` (one per
  comment, as Meta allows); answers `{"recipient_id": ..., "message_id": "m_..."}`.
- `POST /{version}/{comment-id}/replies` (Instagram) and `/{comment-id}/comments` (Facebook):
  a public reply under a comment; answers `{"id": ...}`.
- `GET /{version}/{media-id}`: a WhatsApp media id's short-lived URL (served by this fake at
  `/media/{id}`, bearer token required, like Meta's lookaside URLs), or an Instagram media's
  `permalink`.

Every call needs `Authorization: Bearer <token>` with a token the fake knows (`tokens`: token →
the account it speaks for); others get Meta's error 190. Everything delivered is kept in
`fake.deliveries` (`Delivery`: kind "whatsapp" / "message" / "private_reply" / "public_reply",
who sent it, to whom, the request body, the id given back), which `/_demo` shows.

Failures answer Meta's error shape (`{"error": {"message", "type", "code", "error_subcode",
"error_data", "fbtrace_id"}}`) and are injected with `fail()`, e.g.
`fake.fail(131047)` (WhatsApp's closed 24-hour window) or `fake.fail(10, subcode=2018278)`
(Messenger's). With `enforce_windows=True` the fake also refuses free-form messages to people
who did not write within 24 hours (`customer_wrote()` records that they did), as Meta does.

    fake = FakeMetaGraph(tokens={"wa-token": "106540352242922"})
    with serving(fake.app) as base_url:   # channels.fakes.server
        settings = load_settings(meta_graph_base_url=base_url, ...)
"""

from __future__ import annotations

import hmac
import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

WINDOW = timedelta(hours=24)
# Meta's documented wording for the errors tests and the demo inject most.
KNOWN_ERRORS: dict[int, tuple[str, str, int]] = {
    # code: (message, details, HTTP status)
    10: ("(#10) This message is sent outside of allowed window.", "", 400),
    100: ("(#100) Invalid parameter", "", 400),
    190: ("Invalid OAuth access token - Cannot parse access token", "", 401),
    551: ("(#551) This person isn't available right now.", "", 400),
    613: ("(#613) Calls to this api have exceeded the rate limit.", "", 400),
    130429: (
        "(#130429) Rate limit hit",
        "Cloud API message throughput has been reached.",
        400,
    ),
    131026: ("(#131026) Message Undeliverable.", "Message could not be delivered.", 400),
    131047: (
        "(#131047) Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer "
        "last replied to this number.",
        400,
    ),
    131000: ("(#131000) Something went wrong", "Something went wrong.", 500),
    132001: (
        "(#132001) Template name does not exist in the translation",
        "template name does not exist in the translation",
        404,
    ),
}


@dataclass
class Delivery:
    """One thing the fake "delivered"."""

    kind: str  # whatsapp, message, private_reply, public_reply
    sender: str  # the phone number id, Page or Instagram account that sent it
    to: str  # the WhatsApp number, the PSID/IGSID, or the comment id
    body: dict[str, Any]
    id: str
    at: datetime
    edge: str = "messages"  # the Graph edge it was posted to: messages, replies, comments

    @property
    def text(self) -> str:
        """What a phone (or the comment thread) would show, for `/_demo`."""
        body = self.body
        message = body.get("message")
        if isinstance(message, str):  # a public reply
            return message
        if isinstance(message, dict):
            if message.get("text"):
                return str(message["text"])
            attachment = message.get("attachment") or {}
            url = attachment.get("payload", {}).get("url", "")
            return f"({attachment.get('type', 'attachment')}) {url}"
        kind = body.get("type", "")
        if kind == "text":
            return str(body.get("text", {}).get("body", ""))
        if kind == "interactive":
            return str(body.get("interactive", {}).get("body", {}).get("text", ""))
        if kind == "template":
            template = body.get("template", {})
            values = [
                str(p.get("text", ""))
                for c in template.get("components", [])
                for p in c.get("parameters", [])
            ]
            return f"(template {template.get('name')})\n" + "\n".join(values)
        item = body.get(kind) or {}
        return f"({kind}) {item.get('caption', '')} {item.get('link', '')}".strip()


@dataclass
class Failure:
    code: int
    message: str
    status: int
    subcode: int | None = None
    details: str = ""
    to: str | None = None  # None: any recipient (a number, a PSID or a comment id)
    kind: str | None = None  # None: any kind of call
    times: int | None = 1  # None: every time


@dataclass
class StoredMedia:
    content: bytes
    mime_type: str


@dataclass
class FakeComment:
    author_id: str
    media_id: str | None = None


@dataclass
class FakeMetaGraph:
    tokens: dict[str, str] = field(default_factory=dict)  # access token → account id
    enforce_windows: bool = False
    deliveries: list[Delivery] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    media: dict[str, StoredMedia] = field(default_factory=dict)
    comments: dict[str, FakeComment] = field(default_factory=dict)
    permalinks: dict[str, str] = field(default_factory=dict)  # Instagram media id → link
    windows: dict[tuple[str, str], datetime] = field(default_factory=dict)
    private_replied: set[str] = field(default_factory=set)
    media_downloads: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.app = self._build_app()

    # --- for tests and the demo -----------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.deliveries.clear()
            self.failures.clear()
            self.media.clear()
            self.comments.clear()
            self.permalinks.clear()
            self.windows.clear()
            self.private_replied.clear()
            self.media_downloads = 0
            self.enforce_windows = False

    def fail(
        self,
        code: int,
        *,
        subcode: int | None = None,
        message: str | None = None,
        status: int | None = None,
        to: str | None = None,
        kind: str | None = None,
        times: int | None = 1,
    ) -> None:
        """Make the next matching call answer Meta's error `code` (documented wording)."""
        known_message, details, known_status = KNOWN_ERRORS.get(code, (f"(#{code})", "", 400))
        with self._lock:
            self.failures.append(
                Failure(
                    code,
                    message or known_message,
                    status or known_status,
                    subcode,
                    details,
                    to,
                    kind,
                    times,
                )
            )

    def add_media(self, media_id: str, content: bytes, mime_type: str) -> None:
        """A WhatsApp media file someone sent: its id resolves to a URL on this fake."""
        with self._lock:
            self.media[media_id] = StoredMedia(content, mime_type)

    def add_comment(self, comment_id: str, author_id: str, media_id: str | None = None) -> None:
        """A comment someone wrote: a private reply to it reaches `author_id`."""
        with self._lock:
            self.comments[comment_id] = FakeComment(author_id, media_id)

    def add_permalink(self, media_id: str, permalink: str) -> None:
        with self._lock:
            self.permalinks[media_id] = permalink

    def customer_wrote(self, account: str, user: str, at: datetime | None = None) -> None:
        """`user` wrote to `account` at `at`: free-form messages may go for 24 hours."""
        with self._lock:
            self.windows[(account, user)] = at or datetime.now(UTC)

    def delivered(self, kind: str | None = None, to: str | None = None) -> list[Delivery]:
        return [d for d in self.deliveries if kind in (None, d.kind) and to in (None, d.to)]

    # --- the API -----------------------------------------------------------------------------

    def _account(self, request: Request) -> str | None:
        given = request.headers.get("authorization", "")
        for token, account in self.tokens.items():
            if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return account
        return None

    def _take_failure(self, kind: str, to: str) -> Failure | None:
        with self._lock:
            for failure in self.failures:
                if failure.kind in (None, kind) and failure.to in (None, to):
                    if failure.times is not None:
                        failure.times -= 1
                        if failure.times <= 0:
                            self.failures.remove(failure)
                    return failure
        return None

    def _window_open(self, account: str, user: str) -> bool:
        if not self.enforce_windows:
            return True
        wrote = self.windows.get((account, user))
        return wrote is not None and datetime.now(UTC) - wrote < WINDOW

    def _deliver(
        self,
        kind: str,
        sender: str,
        to: str,
        body: dict[str, Any],
        id_: str,
        edge: str = "messages",
    ) -> None:
        with self._lock:
            delivery = Delivery(kind, sender, to, body, id_, datetime.now(UTC), edge)
            self.deliveries.append(delivery)

    def _next(self) -> int:
        with self._lock:
            return next(self._ids)

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="Fake Meta Graph API")

        @app.post("/{version}/{node}/messages")
        async def messages(version: str, node: str, request: Request) -> Response:
            account = self._account(request)
            if account is None:
                return _error(401, 190, KNOWN_ERRORS[190][0], kind="OAuthException")
            if node not in ("me", account):
                return _error(400, 100, f"(#100) Unsupported post request. Object {node} ...")
            body = await _json(request)
            if body is None:
                return _error(400, 100, "(#100) The request body is not JSON")
            if body.get("messaging_product") == "whatsapp":
                return self._whatsapp(account, body)
            return self._messenger(account, body)

        @app.post("/{version}/{comment_id}/replies")
        async def ig_reply(version: str, comment_id: str, request: Request) -> Response:
            return await self._public_reply(comment_id, request, "replies")

        @app.post("/{version}/{comment_id}/comments")
        async def fb_reply(version: str, comment_id: str, request: Request) -> Response:
            return await self._public_reply(comment_id, request, "comments")

        # Before `/{version}/{object_id}`, which would otherwise match `/media/<id>` too.
        @app.get("/media/{media_id}", name="media_file")
        async def media_file(media_id: str, request: Request) -> Response:
            if self._account(request) is None:
                return Response(status_code=401)
            with self._lock:
                self.media_downloads += 1
            stored = self.media.get(media_id)
            if stored is None:
                return Response(status_code=404)
            return Response(stored.content, media_type=stored.mime_type)

        @app.get("/{version}/{object_id}")
        async def node(version: str, object_id: str, request: Request) -> Response:
            if self._account(request) is None:
                return _error(401, 190, KNOWN_ERRORS[190][0], kind="OAuthException")
            stored = self.media.get(object_id)
            if stored is not None:
                return JSONResponse(
                    {
                        "messaging_product": "whatsapp",
                        "url": str(request.url_for("media_file", media_id=object_id)),
                        "mime_type": stored.mime_type,
                        "file_size": len(stored.content),
                        "id": object_id,
                    }
                )
            if object_id in self.permalinks:
                return JSONResponse({"id": object_id, "permalink": self.permalinks[object_id]})
            return _error(
                400,
                100,
                f"Unsupported get request. Object with ID '{object_id}' does not exist",
                subcode=33,
            )

        return app

    def _whatsapp(self, account: str, body: dict[str, Any]) -> Response:
        to = str(body.get("to") or "")
        kind = str(body.get("type") or "text")
        if not to:
            return _error(400, 131008, "(#131008) Required parameter is missing", details="to")
        if kind not in body:
            return _error(400, 131008, "(#131008) Required parameter is missing", details=kind)
        failure = self._take_failure("whatsapp", to)
        if failure is not None:
            return _failure(failure, whatsapp=True)
        if kind != "template" and not self._window_open(account, to):
            code = 131047
            message, details, status = KNOWN_ERRORS[code]
            return _error(status, code, message, details=details, whatsapp=True)
        wamid = f"wamid.HBgN{self._next():08d}FAKE"
        self._deliver("whatsapp", account, to, body, wamid)
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": wamid}],
            }
        )

    def _messenger(self, account: str, body: dict[str, Any]) -> Response:
        recipient = body.get("recipient") or {}
        message = body.get("message") or {}
        if not message:
            return _error(400, 100, "(#100) param message must be non-empty")
        if recipient.get("comment_id"):
            comment_id = str(recipient["comment_id"])
            failure = self._take_failure("private_reply", comment_id)
            if failure is not None:
                return _failure(failure)
            if comment_id in self.private_replied:
                # Meta allows one private reply per comment.
                return _error(400, 10, KNOWN_ERRORS[10][0], subcode=2018278)
            comment = self.comments.get(comment_id)
            user = comment.author_id if comment else f"{comment_id.rsplit('_', 1)[-1]}0"
            with self._lock:
                self.private_replied.add(comment_id)
            mid = f"m_fake{self._next():08d}"
            self._deliver("private_reply", account, comment_id, body, mid)
            return JSONResponse({"recipient_id": user, "message_id": mid})
        user = str(recipient.get("id") or "")
        if not user:
            return _error(400, 100, "(#100) The parameter recipient is required")
        failure = self._take_failure("message", user)
        if failure is not None:
            return _failure(failure)
        tagged = body.get("messaging_type") == "MESSAGE_TAG" and body.get("tag")
        if not tagged and not self._window_open(account, user):
            return _error(400, 10, KNOWN_ERRORS[10][0], subcode=2018278)
        mid = f"m_fake{self._next():08d}"
        self._deliver("message", account, user, body, mid)
        return JSONResponse({"recipient_id": user, "message_id": mid})

    async def _public_reply(self, comment_id: str, request: Request, edge: str) -> Response:
        account = self._account(request)
        if account is None:
            return _error(401, 190, KNOWN_ERRORS[190][0], kind="OAuthException")
        body = await _json(request)
        if body is None or not str(body.get("message") or "").strip():
            return _error(400, 100, "(#100) The parameter message is required")
        failure = self._take_failure("public_reply", comment_id)
        if failure is not None:
            return _failure(failure)
        reply_id = f"{comment_id.split('_', 1)[0]}_{9000000 + self._next()}"
        self._deliver("public_reply", account, comment_id, body, reply_id, edge)
        return JSONResponse({"id": reply_id})


async def _json(request: Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _failure(failure: Failure, *, whatsapp: bool = False) -> JSONResponse:
    return _error(
        failure.status,
        failure.code,
        failure.message,
        subcode=failure.subcode,
        details=failure.details,
        whatsapp=whatsapp,
    )


def _error(
    status: int,
    code: int,
    message: str,
    *,
    subcode: int | None = None,
    details: str = "",
    whatsapp: bool = False,
    kind: str = "OAuthException",
) -> JSONResponse:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if details or whatsapp:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details or message}
    error["fbtrace_id"] = "AfakeTraceId0000000"
    return JSONResponse({"error": error}, status_code=status)
