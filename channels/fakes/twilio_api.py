"""A local fake of Twilio's Messages API, speaking its documented format, for tests and the demo.

What it does (enough for the real `twilio` SDK):
- `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` creates a message (form: To, From,
  Body, MediaUrl..., ContentSid, ContentVariables, StatusCallback) after Basic auth with the
  account SID and auth token; validates like Twilio (21604/21603/21602, WhatsApp addresses on
  both sides or neither) and answers the Message resource JSON.
- `GET  .../Messages.json?To=&From=&PageSize=` lists them, newest first, with pagination links.
- `GET  .../Messages/{MessageSid}/Media/{MediaSid}` (Basic auth) redirects to `/cdn/{MediaSid}`,
  as Twilio redirects to its media CDN; register bytes with `add_media()`. With `any_media`
  set (the demo), a media id nobody registered serves that file instead of a 404: the fixtures
  sent with `lapor-gateway send-fixture` name photos the fake never received.

Everything sent is kept in `fake.sent` (`SentMessage`s). Failures are injected with `fail()`:
the next matching create answers the given HTTP status and Twilio error code.

    fake = FakeTwilio()
    with serving(fake.app) as base_url:   # channels.fakes.server
        settings = load_settings(twilio_api_base_url=base_url, ...)

The demo can mount `fake.app` under a path and set TWILIO_API_BASE_URL to that prefix.
"""

from __future__ import annotations

import base64
import hmac
import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

API = "/2010-04-01"
TWILIO_MEDIA_BASE = "https://api.twilio.com"


@dataclass
class SentMessage:
    sid: str
    to: str
    from_: str
    body: str
    media_urls: list[str]
    content_sid: str | None
    content_variables: str | None
    status_callback: str | None
    date_created: datetime
    status: str = "queued"

    def resource(self, account_sid: str) -> dict[str, Any]:
        """The Message resource as Twilio's API returns it."""
        return {
            "account_sid": account_sid,
            "api_version": "2010-04-01",
            "body": self.body,
            "date_created": format_datetime(self.date_created),
            "date_sent": None,
            "date_updated": format_datetime(self.date_created),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": self.from_,
            "messaging_service_sid": None,
            "num_media": str(len(self.media_urls)),
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {
                "media": f"{API}/Accounts/{account_sid}/Messages/{self.sid}/Media.json"
            },
            "to": self.to,
            "uri": f"{API}/Accounts/{account_sid}/Messages/{self.sid}.json",
        }


@dataclass
class Failure:
    status: int
    code: int
    message: str
    to: str | None = None  # None: any recipient
    times: int | None = 1  # None: every time
    after: int = 0  # let this many matching creates succeed first
    retry_after: str | None = None  # the answer's Retry-After header, as Twilio sends on 429


@dataclass
class StoredMedia:
    content: bytes
    content_type: str


@dataclass
class FakeTwilio:
    account_sid: str = "AC" + "0" * 30 + "01"
    auth_token: str = "fake-twilio-auth-token"  # noqa: S105 - a fake
    sent: list[SentMessage] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    media: dict[str, StoredMedia] = field(default_factory=dict)
    media_requests: int = 0
    any_media: StoredMedia | None = None  # served for unregistered media ids (the demo)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.app = self._build_app()

    # --- for tests -----------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.sent.clear()
            self.failures.clear()
            self.media.clear()
            self.media_requests = 0

    def fail(
        self,
        status: int,
        code: int,
        message: str = "injected failure",
        *,
        to: str | None = None,
        times: int | None = 1,
        after: int = 0,
        retry_after: str | None = None,
    ) -> None:
        """Make creates (to `to`, or any) fail `times` times with this Twilio error.

        `after` lets that many matching creates through first (a failure halfway);
        `retry_after` is sent as the answer's `Retry-After` header (seconds or an HTTP date).
        """
        with self._lock:
            self.failures.append(Failure(status, code, message, to, times, after, retry_after))

    def add_media(self, message_sid: str, media_sid: str, content: bytes, content_type: str) -> str:
        """Store an inbound attachment; returns its URL as Twilio writes it in `MediaUrl{n}`."""
        with self._lock:
            self.media[media_sid] = StoredMedia(content, content_type)
        path = f"{API}/Accounts/{self.account_sid}/Messages/{message_sid}/Media/{media_sid}"
        return TWILIO_MEDIA_BASE + path

    def sent_to(self, to: str) -> list[SentMessage]:
        return [m for m in self.sent if m.to == to]

    # --- the API -------------------------------------------------------------------------------

    def _authorized(self, request: Request, account_sid: str) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        given = request.headers.get("authorization", "")
        return account_sid == self.account_sid and hmac.compare_digest(given, f"Basic {expected}")

    def _take_failure(self, to: str) -> Failure | None:
        with self._lock:
            for failure in self.failures:
                if failure.to in (None, to):
                    if failure.after > 0:
                        failure.after -= 1
                        return None
                    if failure.times is not None:
                        failure.times -= 1
                        if failure.times <= 0:
                            self.failures.remove(failure)
                    return failure
        return None

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="Fake Twilio Messages API")

        @app.post(API + "/Accounts/{account_sid}/Messages.json")
        async def create_message(account_sid: str, request: Request) -> Response:
            if not self._authorized(request, account_sid):
                return _error(401, 20003, "Authenticate")
            form = await request.form()
            to = str(form.get("To") or "")
            from_ = str(form.get("From") or "")
            body = str(form.get("Body") or "")
            media_urls = [str(v) for v in form.getlist("MediaUrl")]
            content_sid = form.get("ContentSid")
            if not to:
                return _error(400, 21604, "A 'To' phone number is required.")
            if not from_ and not form.get("MessagingServiceSid"):
                return _error(400, 21603, "A 'From' phone number is required.")
            if not (body or media_urls or content_sid):
                return _error(400, 21602, "Message body is required.")
            if to.startswith("whatsapp:") != from_.startswith("whatsapp:"):
                return _error(400, 21910, "Invalid From and To pair.")
            failure = self._take_failure(to)
            if failure is not None:
                return _error(failure.status, failure.code, failure.message, failure.retry_after)
            message = SentMessage(
                sid=f"SM{next(self._ids):032x}",
                to=to,
                from_=from_,
                body=body,
                media_urls=media_urls,
                content_sid=str(content_sid) if content_sid else None,
                content_variables=str(form.get("ContentVariables") or "") or None,
                status_callback=str(form.get("StatusCallback") or "") or None,
                date_created=datetime.now(UTC),
            )
            with self._lock:
                self.sent.append(message)
            return JSONResponse(message.resource(self.account_sid), status_code=201)

        @app.get(API + "/Accounts/{account_sid}/Messages.json")
        async def list_messages(account_sid: str, request: Request) -> Response:
            if not self._authorized(request, account_sid):
                return _error(401, 20003, "Authenticate")
            query = request.query_params
            found = [
                m
                for m in reversed(self.sent)
                if query.get("To") in (None, m.to) and query.get("From") in (None, m.from_)
            ]
            size = int(query.get("PageSize") or 50)
            page = int(query.get("Page") or 0)
            chunk = found[page * size : (page + 1) * size]
            path = f"{API}/Accounts/{account_sid}/Messages.json"
            more = (page + 1) * size < len(found)
            return JSONResponse(
                {
                    "messages": [m.resource(self.account_sid) for m in chunk],
                    "page": page,
                    "page_size": size,
                    "start": page * size,
                    "end": page * size + len(chunk) - 1,
                    "uri": f"{path}?PageSize={size}&Page={page}",
                    "first_page_uri": f"{path}?PageSize={size}&Page=0",
                    "previous_page_uri": None,
                    "next_page_uri": f"{path}?PageSize={size}&Page={page + 1}" if more else None,
                }
            )

        @app.get(API + "/Accounts/{account_sid}/Messages/{message_sid}/Media/{media_sid}")
        async def media(account_sid: str, message_sid: str, media_sid: str, request: Request):
            if not self._authorized(request, account_sid):
                return _error(401, 20003, "Authenticate")
            if media_sid not in self.media and self.any_media is None:
                return _error(404, 20404, "The requested resource was not found")
            return RedirectResponse(str(request.url_for("cdn", media_sid=media_sid)), 307)

        @app.get("/cdn/{media_sid}", name="cdn")
        async def cdn(media_sid: str) -> Response:
            with self._lock:
                self.media_requests += 1
            stored = self.media.get(media_sid) or self.any_media
            if stored is None:
                return Response(status_code=404)
            return Response(stored.content, media_type=stored.content_type)

        return app


def _error(status: int, code: int, message: str, retry_after: str | None = None) -> JSONResponse:
    return JSONResponse(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status_code=status,
        headers={"Retry-After": retry_after} if retry_after is not None else None,
    )
