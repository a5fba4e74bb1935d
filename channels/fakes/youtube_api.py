"""A local fake of the YouTube Data API v3 (comment threads and replies) and Google's OAuth token
endpoint, speaking their documented shapes, for tests and the demo.

- `GET /youtube/v3/commentThreads?part=snippet,replies&allThreadsRelatedToChannelId=…` with
  `key=` (or a Bearer token): a `youtube#commentThreadListResponse`, newest first, `maxResults`
  1..100, `nextPageToken`/`pageToken`; 1 quota unit a call.
- `POST /youtube/v3/comments?part=snippet` (Bearer token from `/token`): a reply under
  `snippet.parentId`; answers the `youtube#comment` resource; 50 units.
- `POST /token` (`grant_type=refresh_token`): an access token for the right client and refresh
  token, else `400 {"error": "invalid_grant"}`.
Errors are Google's JSON (`{"error": {"code", "message", "errors": [{"reason", "domain"}]}}`):
`keyInvalid` 400, `quotaExceeded` 403 once `quota_left` is spent, `commentNotFound` 404.
Tests add threads with `add_thread()`, inject failures with `fail()`, read `replies_posted`.
"""

from __future__ import annotations

import itertools
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

LIST_COST = 1
INSERT_COST = 50


@dataclass
class FakeYouTube:
    api_key: str = "fake-youtube-key"
    channel_id: str = "UCfakeRembangChannel0001"
    client_id: str = "fake-client.apps.googleusercontent.com"
    client_secret: str = "fake-youtube-client-secret"  # noqa: S105 - a fake
    refresh_token: str = "fake-youtube-refresh-token"  # noqa: S105
    quota_left: int = 10_000
    threads: list[dict[str, Any]] = field(default_factory=list)
    replies_posted: list[dict[str, Any]] = field(default_factory=list)
    list_calls: list[dict[str, str]] = field(default_factory=list)
    failures: list[tuple[int, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.tokens: set[str] = set()
        self.app = self._build_app()

    def reset(self) -> None:
        with self._lock:
            self.threads.clear()
            self.replies_posted.clear()
            self.list_calls.clear()
            self.failures.clear()
            self.tokens.clear()
            self.quota_left = 10_000

    def add_thread(self, thread: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.threads.append(thread)
        return thread

    def comment(
        self, author: str, text: str, published: datetime, video: str = "fakeVideo01"
    ) -> dict[str, Any]:
        """A new top-level comment by channel `author` on `video`, as a thread."""
        comment_id = f"UgzFake{next(self._ids):06d}AaABAg"
        stamp = published.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return self.add_thread(
            {
                "kind": "youtube#commentThread",
                "etag": f"etag-{comment_id}",
                "id": comment_id,
                "snippet": {
                    "channelId": self.channel_id,
                    "videoId": video,
                    "topLevelComment": {
                        "kind": "youtube#comment",
                        "etag": f"etag-c-{comment_id}",
                        "id": comment_id,
                        "snippet": {
                            "channelId": self.channel_id,
                            "videoId": video,
                            "textDisplay": text,
                            "textOriginal": text,
                            "authorDisplayName": f"@{author}",
                            "authorChannelUrl": f"http://www.youtube.com/@{author}",
                            "authorChannelId": {"value": f"UC{author}"},
                            "canRate": True,
                            "viewerRating": "none",
                            "likeCount": 0,
                            "publishedAt": stamp,
                            "updatedAt": stamp,
                        },
                    },
                    "canReply": True,
                    "totalReplyCount": 0,
                    "isPublic": True,
                },
            }
        )

    def fail(self, status: int, reason: str) -> None:
        """The next API call answers `status` with Google's error `reason`."""
        with self._lock:
            self.failures.append((status, reason))

    def _take_failure(self) -> tuple[int, str] | None:
        with self._lock:
            return self.failures.pop(0) if self.failures else None

    def _spend(self, units: int) -> bool:
        with self._lock:
            if self.quota_left < units:
                return False
            self.quota_left -= units
            return True

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="Fake YouTube Data API v3")

        @app.post("/token")
        async def token(request: Request) -> Response:
            form = await request.form()
            good = (
                form.get("grant_type") == "refresh_token"
                and form.get("refresh_token") == self.refresh_token
                and form.get("client_id") == self.client_id
                and form.get("client_secret") == self.client_secret
            )
            if not good:
                body = {"error": "invalid_grant", "error_description": "Bad Request"}
                return JSONResponse(body, status_code=400)
            access = "ya29.fake-" + secrets.token_urlsafe(16)
            with self._lock:
                self.tokens.add(access)
            return JSONResponse(
                {"access_token": access, "expires_in": 3599, "scope": "", "token_type": "Bearer"}
            )

        @app.get("/youtube/v3/commentThreads")
        async def comment_threads(request: Request) -> Response:
            params = dict(request.query_params)
            bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
            if params.get("key") != self.api_key and bearer not in self.tokens:
                return _error(400, "keyInvalid", "API key not valid. Please pass a valid API key.")
            failure = self._take_failure()
            if failure:
                return _error(failure[0], failure[1], failure[1])
            if not self._spend(LIST_COST):
                return _quota_error()
            with self._lock:
                self.list_calls.append(params)
            if params.get("allThreadsRelatedToChannelId") != self.channel_id:
                return _error(404, "channelNotFound", "The channel could not be found.")
            size = int(params.get("maxResults") or 20)
            if not 1 <= size <= 100:
                return _error(400, "invalidParameter", "maxResults out of range")
            items = sorted(
                self.threads,
                key=lambda t: t["snippet"]["topLevelComment"]["snippet"]["publishedAt"],
                reverse=True,
            )
            start = int(params.get("pageToken") or 0)
            chunk = items[start : start + size]
            body: dict[str, Any] = {
                "kind": "youtube#commentThreadListResponse",
                "etag": f"etag-list-{start}",
                "pageInfo": {"totalResults": len(chunk), "resultsPerPage": size},
                "items": chunk,
            }
            if start + size < len(items):
                body["nextPageToken"] = str(start + size)
            return JSONResponse(body)

        @app.post("/youtube/v3/comments")
        async def insert_comment(request: Request) -> Response:
            bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
            if bearer not in self.tokens:
                return _error(401, "authError", "Invalid Credentials")
            failure = self._take_failure()
            if failure:
                return _error(failure[0], failure[1], failure[1])
            if not self._spend(INSERT_COST):
                return _quota_error()
            snippet = (await request.json()).get("snippet") or {}
            parent = snippet.get("parentId")
            if not any(t["id"] == parent for t in self.threads):
                return _error(404, "commentNotFound", "The comment could not be found.")
            reply_id = f"{parent}.Fake{next(self._ids):06d}"
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            resource = {
                "kind": "youtube#comment",
                "etag": f"etag-{reply_id}",
                "id": reply_id,
                "snippet": {
                    "textDisplay": snippet.get("textOriginal", ""),
                    "textOriginal": snippet.get("textOriginal", ""),
                    "parentId": parent,
                    "authorChannelId": {"value": self.channel_id},
                    "publishedAt": now,
                    "updatedAt": now,
                },
            }
            with self._lock:
                self.replies_posted.append(resource)
            return JSONResponse(resource)

        return app


def _error(status: int, reason: str, message: str) -> JSONResponse:
    domain = "youtube.quota" if "uota" in reason else "youtube.api"
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
        }
    }
    return JSONResponse(body, status_code=status)


def _quota_error() -> JSONResponse:
    return _error(
        403,
        "quotaExceeded",
        "The request cannot be completed because you have exceeded your "
        '<a href="/youtube/v3/getting-started#quota">quota</a>.',
    )
