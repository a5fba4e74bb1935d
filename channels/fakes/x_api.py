"""A local fake of the X API v2, speaking its documented shapes, for tests and the demo.

Endpoints (enough for tweepy's `Client`):
- `GET /2/users/{id}/mentions` (app-only Bearer or OAuth 1.0a): newest first, `since_id`,
  `until_id`, `start_time`, `max_results` (5..100), `pagination_token`; `tweet.fields` decide
  which fields a post carries; expansions `author_id`, `attachments.media_keys`, `geo.place_id`
  fill `includes`; `meta` has `result_count`, `newest_id`, `oldest_id`, `next_token`.
- `GET /2/dm_events` (OAuth 1.0a only): the account's DM events, newest first, paginated;
  expansions `sender_id`, `attachments.media_keys`.
- `POST /2/tweets` (OAuth 1.0a): a reply with `reply.in_reply_to_tweet_id`; answers 201
  `{"data": {"id", "text", "edit_history_tweet_ids"}}`; 403 for a post it does not know or a
  duplicate text, as X does.
- `POST /2/dm_conversations/with/{participant_id}/messages` (OAuth 1.0a): 201
  `{"data": {"dm_conversation_id", "dm_event_id"}}`.
- `GET /media/{name}` (public, like pbs.twimg.com) and `GET /ton/{name}` (OAuth 1.0a, like DM
  media on ton.twitter.com): bytes registered with `add_media_file()`.
Every answer carries `x-rate-limit-limit/-remaining/-reset` per endpoint; a spent window answers
429 with X's problem JSON. OAuth 1.0a signatures are checked for real (HMAC-SHA1 over the URL
called, the query and the header's parameters), so wrong credentials get 401.

Tests add posts with `add_mention()` / `add_dm()`, inject failures with `fail()`, shape the
rate-limit window with `set_rate_limit()`, and read `calls`, `posted` and `dms_sent`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from oauthlib.oauth1.rfc5849 import signature as oauth_signature
from oauthlib.oauth1.rfc5849 import utils as oauth_utils

DEFAULT_TWEET_FIELDS = ("id", "text", "edit_history_tweet_ids")
DEFAULT_DM_FIELDS = ("id", "event_type", "text")
ENDPOINTS = ("mentions", "dm_events", "tweets", "dm_send", "media")


@dataclass
class Call:
    endpoint: str
    params: dict[str, str]
    auth: str  # "bearer" | "oauth1"
    status: int


@dataclass
class RateWindow:
    limit: int = 450
    remaining: int = 450
    reset: int = 0  # epoch seconds


@dataclass
class Failure:
    endpoint: str
    status: int
    detail: str
    times: int = 1
    after: int = 0


@dataclass
class FakeX:
    user_id: str = "1500000000000000001"
    username: str = "LaporRembang"
    bearer_token: str = "fake-x-bearer"  # noqa: S105 - a fake
    consumer_key: str = "fake-x-consumer-key"
    consumer_secret: str = "fake-x-consumer-secret"  # noqa: S105
    access_token: str = "1500000000000000001-fakeaccesstoken"  # noqa: S105
    access_token_secret: str = "fake-x-access-secret"  # noqa: S105
    tweets: list[dict[str, Any]] = field(default_factory=list)  # mentions, any order
    dm_events: list[dict[str, Any]] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    media: dict[str, dict[str, Any]] = field(default_factory=dict)
    places: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    posted: list[dict[str, Any]] = field(default_factory=list)
    dms_sent: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1_860_000_000_000_000_001)
        self.windows = {name: RateWindow() for name in ENDPOINTS}
        self.failures: list[Failure] = []
        self.app = self._build_app()

    # --- for tests -----------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            for collection in (self.tweets, self.dm_events, self.calls, self.posted, self.dms_sent):
                collection.clear()
            for mapping in (self.users, self.media, self.places, self.files):
                mapping.clear()
            self.failures.clear()
            self.windows = {name: RateWindow() for name in ENDPOINTS}

    def next_id(self) -> str:
        return str(next(self._ids))

    def add_user(self, user_id: str, username: str, name: str) -> None:
        self.users[user_id] = {"id": user_id, "username": username, "name": name}

    def add_mention(self, tweet: dict[str, Any]) -> dict[str, Any]:
        """A post mentioning the account (v2 tweet object: id, text, author_id, created_at...)."""
        tweet.setdefault("id", self.next_id())
        tweet.setdefault("edit_history_tweet_ids", [tweet["id"]])
        tweet.setdefault("conversation_id", tweet["id"])
        tweet.setdefault("created_at", _iso(datetime.now(UTC)))
        with self._lock:
            self.tweets.append(tweet)
        return tweet

    def add_dm(self, event: dict[str, Any]) -> dict[str, Any]:
        event.setdefault("id", self.next_id())
        event.setdefault("event_type", "MessageCreate")
        event.setdefault("created_at", _iso(datetime.now(UTC)))
        if "dm_conversation_id" not in event and event.get("sender_id"):
            low, high = sorted((event["sender_id"], self.user_id), key=int)
            event["dm_conversation_id"] = f"{low}-{high}"
        with self._lock:
            self.dm_events.append(event)
        return event

    def add_media_file(self, name: str, content: bytes, content_type: str) -> None:
        self.files[name] = (content, content_type)

    def set_rate_limit(
        self, endpoint: str, *, remaining: int, limit: int = 450, reset_in: int = 900
    ):
        self.windows[endpoint] = RateWindow(limit, remaining, int(time.time()) + reset_in)

    def fail(
        self,
        endpoint: str,
        status: int,
        detail: str = "injected",
        *,
        times: int = 1,
        after: int = 0,
    ):
        """The next `times` calls of `endpoint` (after `after` good ones) answer `status`."""
        with self._lock:
            self.failures.append(Failure(endpoint, status, detail, times, after))

    def calls_to(self, endpoint: str) -> list[Call]:
        return [c for c in self.calls if c.endpoint == endpoint]

    # --- auth ------------------------------------------------------------------------------------

    def _auth(self, request: Request, *, user_only: bool) -> str | None:
        header = request.headers.get("authorization", "")
        if header.startswith("Bearer ") and not user_only:
            return "bearer" if header[7:] == self.bearer_token else None
        if header.startswith("OAuth "):
            return "oauth1" if self._oauth1_valid(request, header) else None
        return None

    def _oauth1_valid(self, request: Request, header: str) -> bool:
        given = {
            k: oauth_utils.unescape(v) for k, v in oauth_utils.parse_authorization_header(header)
        }
        if given.get("oauth_consumer_key") != self.consumer_key:
            return False
        if given.get("oauth_token") != self.access_token:
            return False
        params = oauth_signature.collect_parameters(
            uri_query=request.url.query, headers={"Authorization": header}
        )
        base = oauth_signature.signature_base_string(
            request.method,
            oauth_signature.base_string_uri(str(request.url).split("?", 1)[0]),
            oauth_signature.normalize_parameters(params),
        )
        escape = oauth_utils.escape
        key = f"{escape(self.consumer_secret)}&{escape(self.access_token_secret)}"
        expected = base64.b64encode(hmac.new(key.encode(), base.encode(), hashlib.sha1).digest())
        given_signature = oauth_utils.unescape(given.get("oauth_signature", ""))
        return hmac.compare_digest(expected.decode(), given_signature)

    # --- plumbing -------------------------------------------------------------------------------

    def _headers(self, endpoint: str) -> dict[str, str]:
        window = self.windows[endpoint]
        if window.reset <= time.time():
            window.reset = int(time.time()) + 900
        return {
            "x-rate-limit-limit": str(window.limit),
            "x-rate-limit-remaining": str(max(window.remaining, 0)),
            "x-rate-limit-reset": str(window.reset),
        }

    def _gate(self, endpoint: str, request: Request, *, user_only: bool) -> JSONResponse | str:
        """Auth, rate limit and injected failures; the auth kind when the call may go on."""
        auth = self._auth(request, user_only=user_only)
        params = dict(request.query_params)
        with self._lock:
            if auth is None:
                self.calls.append(Call(endpoint, params, "none", 401))
                return _problem(401, "Unauthorized", "Unauthorized")
            window = self.windows[endpoint]
            window.remaining -= 1
            if window.remaining < 0:
                self.calls.append(Call(endpoint, params, auth, 429))
                return _problem(
                    429, "Too Many Requests", "Too Many Requests", self._headers(endpoint)
                )
            for failure in self.failures:
                if failure.endpoint != endpoint:
                    continue
                if failure.after > 0:
                    failure.after -= 1
                    break
                failure.times -= 1
                if failure.times <= 0:
                    self.failures.remove(failure)
                self.calls.append(Call(endpoint, params, auth, failure.status))
                return _problem(
                    failure.status,
                    _TITLES.get(failure.status, "Error"),
                    failure.detail,
                    self._headers(endpoint),
                )
            self.calls.append(Call(endpoint, params, auth, 200))
        return auth

    def _includes(self, items: list[dict[str, Any]], params: dict[str, str], *, author_key: str):
        expansions = set(filter(None, params.get("expansions", "").split(",")))
        includes: dict[str, list[dict[str, Any]]] = {}
        if author_key in expansions:
            ids = dict.fromkeys(i[author_key] for i in items if i.get(author_key))
            users = [self.users[i] for i in ids if i in self.users]
            fields = set(params.get("user.fields", "").split(",")) | {"id", "name", "username"}
            if users:
                includes["users"] = [{k: v for k, v in u.items() if k in fields} for u in users]
        if "attachments.media_keys" in expansions:
            keys = [k for i in items for k in (i.get("attachments") or {}).get("media_keys", [])]
            found = [self.media[k] for k in dict.fromkeys(keys) if k in self.media]
            if found:
                includes["media"] = found
        if "geo.place_id" in expansions:
            place_ids = [(i.get("geo") or {}).get("place_id") for i in items]
            places = [self.places[p] for p in dict.fromkeys(place_ids) if p in self.places]
            if places:
                includes["places"] = places
        return includes

    def _page(
        self,
        items: list[dict[str, Any]],
        params: dict[str, str],
        *,
        fields_param: str,
        defaults: tuple[str, ...],
        author_key: str,
        low: int = 5,
    ) -> JSONResponse:
        size = int(params.get("max_results") or 10)
        if not low <= size <= 100:
            return _problem(400, "Invalid Request", f"max_results must be between {low} and 100")
        # A page token names the last post it showed (stable when newer posts arrive, as X's).
        token = params.get("pagination_token")
        if token:
            if not (token.startswith("pt") and token[2:].isdigit()):
                return _problem(400, "Invalid Request", "The `pagination_token` is not valid")
            items = [item for item in items if int(item["id"]) < int(token[2:])]
        chunk = items[:size]
        fields = set(defaults) | set(filter(None, params.get(fields_param, "").split(",")))
        data = [{k: v for k, v in item.items() if k in fields} for item in chunk]
        meta: dict[str, Any] = {"result_count": len(data)}
        if data:
            meta["newest_id"] = data[0]["id"]
            meta["oldest_id"] = data[-1]["id"]
        if len(items) > size:
            meta["next_token"] = f"pt{chunk[-1]['id']}"
        body: dict[str, Any] = {"meta": meta}
        if data:
            body["data"] = data
            includes = self._includes(chunk, params, author_key=author_key)
            if includes:
                body["includes"] = includes
        return JSONResponse(body)

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="Fake X API v2")

        @app.get("/2/users/{user_id}/mentions")
        async def mentions(user_id: str, request: Request) -> Response:
            gate = self._gate("mentions", request, user_only=False)
            if isinstance(gate, JSONResponse):
                return gate
            if user_id != self.user_id:
                return _with(
                    self._headers("mentions"),
                    _problem(404, "Not Found Error", f"Could not find user with id: [{user_id}]."),
                )
            params = dict(request.query_params)
            since = int(params["since_id"]) if params.get("since_id") else None
            until = int(params["until_id"]) if params.get("until_id") else None
            start = params.get("start_time")
            items = sorted(self.tweets, key=lambda t: int(t["id"]), reverse=True)
            items = [
                t
                for t in items
                if (since is None or int(t["id"]) > since)
                and (until is None or int(t["id"]) < until)
                and (start is None or _parse(t["created_at"]) >= _parse(start))
            ]
            response = self._page(
                items,
                params,
                fields_param="tweet.fields",
                defaults=DEFAULT_TWEET_FIELDS,
                author_key="author_id",
            )
            return _with(self._headers("mentions"), response)

        @app.get("/2/dm_events")
        async def dm_events(request: Request) -> Response:
            gate = self._gate("dm_events", request, user_only=True)
            if isinstance(gate, JSONResponse):
                return gate
            params = dict(request.query_params)
            kinds = set(filter(None, params.get("event_types", "").split(",")))
            items = sorted(self.dm_events, key=lambda e: int(e["id"]), reverse=True)
            items = [e for e in items if not kinds or e["event_type"] in kinds]
            response = self._page(
                items,
                params,
                fields_param="dm_event.fields",
                defaults=DEFAULT_DM_FIELDS,
                author_key="sender_id",
                low=1,
            )
            return _with(self._headers("dm_events"), response)

        @app.post("/2/tweets")
        async def create_tweet(request: Request) -> Response:
            gate = self._gate("tweets", request, user_only=True)
            if isinstance(gate, JSONResponse):
                return gate
            body = await request.json()
            text = str(body.get("text") or "")
            reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
            headers = self._headers("tweets")
            if reply_to and not any(t["id"] == reply_to for t in self.tweets):
                return _with(
                    headers,
                    _problem(
                        403,
                        "Forbidden",
                        "You attempted to reply to a Tweet that is deleted or not visible to you.",
                    ),
                )
            if any(p["text"] == text for p in self.posted):
                return _with(
                    headers,
                    _problem(
                        403,
                        "Forbidden",
                        "You are not allowed to create a Tweet with duplicate content.",
                    ),
                )
            tweet = {
                "id": self.next_id(),
                "text": text,
                "in_reply_to_tweet_id": reply_to,
                "created_at": _iso(datetime.now(UTC)),
            }
            with self._lock:
                self.posted.append(tweet)
            data = {"id": tweet["id"], "text": text, "edit_history_tweet_ids": [tweet["id"]]}
            return JSONResponse({"data": data}, status_code=201, headers=headers)

        @app.post("/2/dm_conversations/with/{participant_id}/messages")
        async def send_dm(participant_id: str, request: Request) -> Response:
            gate = self._gate("dm_send", request, user_only=True)
            if isinstance(gate, JSONResponse):
                return gate
            body = await request.json()
            low, high = sorted((participant_id, self.user_id), key=int)
            event = {
                "dm_event_id": self.next_id(),
                "dm_conversation_id": f"{low}-{high}",
                "participant_id": participant_id,
                "text": body.get("text"),
                "created_at": _iso(datetime.now(UTC)),
            }
            with self._lock:
                self.dms_sent.append(event)
            data = {k: event[k] for k in ("dm_conversation_id", "dm_event_id")}
            return JSONResponse({"data": data}, status_code=201, headers=self._headers("dm_send"))

        @app.get("/media/{name}")
        async def public_media(name: str) -> Response:
            if name not in self.files:
                return Response(status_code=404)
            content, content_type = self.files[name]
            return Response(content, media_type=content_type)

        @app.get("/ton/{name}")
        async def dm_media(name: str, request: Request) -> Response:
            if self._auth(request, user_only=True) is None:
                return _problem(401, "Unauthorized", "Unauthorized")
            if name not in self.files:
                return Response(status_code=404)
            content, content_type = self.files[name]
            return Response(content, media_type=content_type)

        return app


_TITLES = {
    400: "Invalid Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found Error",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """X's error body (RFC 7807 problem JSON)."""
    body = {"title": title, "detail": detail, "type": "about:blank", "status": status}
    return JSONResponse(body, status_code=status, headers=headers)


def _with(headers: dict[str, str], response: Response) -> Response:
    response.headers.update(headers)
    return response
