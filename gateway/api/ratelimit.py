"""Rate limits on the public endpoints, per client address, with the `limits` library.

What is limited (settings RATE_LIMIT_*): sending the web form (`POST /lapor`), the JSON API
(`/api/...`) and Open311 (`/open311/...`, whose keys have their own per-key limit too), the
status pages (`/status...`) and the admin login (`POST /admin/login`).
Webhooks are not: providers sign them and retry what we refuse, so a limit there would only
delay citizens' messages.

Where the counts live (RATE_LIMIT_STORAGE): `memory` — this process (one machine); `database`
— the gateway's PostgreSQL (`rate_limit_counter`), shared by every instance behind the proxy;
or a `redis://` URL — shared through Redis. Over the limit the answer is 429 with Retry-After
and a readable message (Indonesian unless the client asked for English), JSON for the API.

It is a plain ASGI middleware: nothing runs for paths that are not limited, and the database
storage is called off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import case, delete, literal
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col

from config.messages import t
from gateway.clock import utcnow
from gateway.store.db import Database, UTCDateTime
from gateway.store.models import RateLimitCounter

if TYPE_CHECKING:
    from config.settings import Settings

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class DatabaseStorage(Storage):
    """A `limits` storage on the gateway's own database (fixed windows): one row per key and
    window, counted with one INSERT ... ON CONFLICT DO UPDATE, so several instances share the
    counts without another service. Expired rows are overwritten in place and swept now and
    then."""

    def __init__(self, db: Database, **options: Any) -> None:
        # Built directly (never from a URI string), so no storage scheme is registered.
        self.STORAGE_SCHEME = None
        self.db = db
        self._last_sweep = 0.0
        super().__init__(uri=None, wrap_exceptions=False, **options)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return Exception

    def incr(self, key: str, expiry: float, amount: int = 1, **_: Any) -> int:
        now = utcnow()
        expires = now + timedelta(seconds=float(expiry))
        insert = pg_insert if self.db.is_postgres else sqlite_insert
        table = RateLimitCounter.__table__  # type: ignore[attr-defined]
        values = insert(RateLimitCounter).values(key=key[:255], count=amount, expires_at=expires)
        ran_out = table.c.expires_at <= literal(now, UTCDateTime())
        # A window that ran out starts again at `amount`; a running one counts up.
        stmt = values.on_conflict_do_update(
            index_elements=["key"],
            set_={
                "count": case(
                    (ran_out, values.excluded.count), else_=table.c.count + values.excluded.count
                ),
                "expires_at": case((ran_out, values.excluded.expires_at), else_=table.c.expires_at),
            },
        ).returning(table.c.count)
        with self.db.session() as session:
            count = session.connection().execute(stmt).scalar_one()
            session.commit()
        self._maybe_sweep()
        return int(count)

    def _row(self, key: str) -> RateLimitCounter | None:
        with self.db.read_session() as session:
            row = session.get(RateLimitCounter, key[:255])
        if row is None or row.expires_at <= utcnow():
            return None
        return row

    def get(self, key: str) -> int:
        row = self._row(key)
        return row.count if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        return row.expires_at.timestamp() if row else time.time()

    def check(self) -> bool:
        return self.db.ping()

    def reset(self) -> int | None:
        with self.db.session() as session:
            count = session.execute(delete(RateLimitCounter)).rowcount  # type: ignore[attr-defined]
            session.commit()
        return count

    def clear(self, key: str) -> None:
        with self.db.session() as session:
            session.execute(delete(RateLimitCounter).where(col(RateLimitCounter.key) == key[:255]))
            session.commit()

    def _maybe_sweep(self) -> None:
        # Keys are per address and window: old ones are deleted once a minute at most.
        if time.monotonic() - self._last_sweep < 60:
            return
        self._last_sweep = time.monotonic()
        with self.db.session() as session:
            session.execute(
                delete(RateLimitCounter).where(col(RateLimitCounter.expires_at) < utcnow())
            )
            session.commit()


def build_storage(settings: Settings, db: Database) -> Storage:
    if settings.rate_limit_storage == "database":
        return DatabaseStorage(db)
    if settings.rate_limit_storage == "memory":
        return MemoryStorage()
    storage = storage_from_string(settings.rate_limit_storage)
    assert isinstance(storage, Storage)  # a redis:// URL gives the synchronous storage
    return storage


def shared_storage(settings: Settings, db: Database) -> Storage:
    """A storage every instance sees: RATE_LIMIT_STORAGE's Redis when it names one, else the
    gateway's database (also when the rate limits themselves count in memory). For counts
    that must not be per process, like the admin login's wrong guesses per address."""
    if settings.rate_limit_storage.startswith(("redis://", "rediss://", "redis+sentinel://")):
        return build_storage(settings, db)
    return DatabaseStorage(db)


class RateLimits:
    """The limits per kind of endpoint and the limiter that counts them."""

    def __init__(self, settings: Settings, storage: Storage) -> None:
        self.storage = storage
        self.shared = not isinstance(storage, MemoryStorage)
        self.limiter = FixedWindowRateLimiter(storage)
        self.rules: dict[str, list[RateLimitItem]] = {
            "form": parse_many(settings.rate_limit_form),
            "api": parse_many(settings.rate_limit_api),
            "status": parse_many(settings.rate_limit_status),
            "login": parse_many(settings.rate_limit_login),
        }

    @staticmethod
    def kind(method: str, path: str) -> str | None:
        """Which limit a request counts against (None: not limited)."""
        if path.startswith(("/api/", "/open311/")):
            return "api"
        if path == "/status" or path.startswith("/status/"):
            return "status"
        if method == "POST" and path.rstrip("/") == "/lapor":
            return "form"
        if method == "POST" and path.rstrip("/") == "/admin/login":
            return "login"
        return None

    def hit(self, kind: str, client: str) -> float | None:
        """Count one request; None when allowed, else the seconds until it would be."""
        blocked: float | None = None
        for item in self.rules[kind]:
            if not self.limiter.hit(item, "lapor", kind, client):
                reset = self.limiter.get_window_stats(item, "lapor", kind, client).reset_time
                wait = max(reset - time.time(), 1.0)
                blocked = wait if blocked is None else max(blocked, wait)
        return blocked


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, limits: RateLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind = RateLimits.kind(scope.get("method", "GET"), scope.get("path", ""))
        if kind is None:
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        try:
            if self.limits.shared:
                wait = await asyncio.to_thread(self.limits.hit, kind, client)
            else:
                wait = self.limits.hit(kind, client)
        except Exception:
            # The shared store is away: let the request through rather than lock citizens out.
            log.warning("rate limit storage unavailable; request allowed", exc_info=True)
            wait = None
        if wait is None:
            await self.app(scope, receive, send)
            return
        await _too_many(scope, receive, send, kind, math.ceil(wait))


async def _too_many(scope: Scope, receive: Receive, send: Send, kind: str, seconds: int) -> None:
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    from gateway.api.pages import render, request_language

    request = Request(scope, receive)
    lang = request_language(request)
    message = t(lang, "errors.rate_limited", seconds=seconds)
    headers = {"Retry-After": str(seconds)}
    log.info("rate limited", extra={"limit": kind, "path": scope.get("path", "")})
    if kind == "api" or "application/json" in request.headers.get("accept", ""):
        response: Any = JSONResponse(
            {"message": message, "errors": {}}, status_code=429, headers=headers
        )
    else:
        response = render(request, "error.html", {"message": message}, status_code=429)
        response.headers.update(headers)
    await response(scope, receive, send)
