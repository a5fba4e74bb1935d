"""The ceiling: a bare FastAPI app that does what an ack must do and nothing else.

Each request is checked (the Telegram secret header, as the gateway checks it), stored with one
raw INSERT on a pooled connection, committed, and answered. SQLite runs as the gateway runs it
(WAL, synchronous=NORMAL, busy_timeout); PostgreSQL with psycopg and autocommit, so each INSERT
is its own durable transaction. It is served exactly as `lapor-gateway serve` serves the gateway:
`uvicorn.run(app, host=..., port=..., log_config=None, proxy_headers=True)`, one process; with
`--workers N` as `serve --workers N`: uvicorn's N worker processes sharing the port, the app
built by a factory in each.

    BENCH_SECRET=s python -m bench.load.ceiling --database-url sqlite:///var/x.db --port 8999

Routes: `POST /webhooks/{channel}` (the update id is the row's external id, so a retry stores
nothing twice, like the gateway's unique key) and `POST /api/v1/complaints` (the
Idempotency-Key, or a fresh id); `GET /healthz`. The table is `bench_ceiling_message`.
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import queue
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

TABLE = "bench_ceiling_message"
POOL_SIZE = 8
SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105 - a header name


class Pool:
    """A fixed set of connections handed out one request at a time."""

    def __init__(self, connect: Callable[[], Any], size: int = POOL_SIZE) -> None:
        self._free: queue.Queue[Any] = queue.Queue()
        for _ in range(size):
            self._free.put(connect())

    @contextmanager
    def connection(self) -> Iterator[Any]:
        conn = self._free.get()
        try:
            yield conn
        finally:
            self._free.put(conn)


def _sqlite_connect(path: str) -> Callable[[], sqlite3.Connection]:
    def connect() -> sqlite3.Connection:
        # isolation_level=None: autocommit, each INSERT its own transaction, as the ack needs.
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    return connect


def _postgres_connect(url: str) -> Callable[[], Any]:
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)

    def connect() -> Any:
        return psycopg.connect(dsn, autocommit=True)

    return connect


def create_table(url: str) -> None:
    if url.startswith("sqlite"):
        conn = _sqlite_connect(url.split("///", 1)[1])()
        key = "INTEGER PRIMARY KEY AUTOINCREMENT"
    else:
        conn = _postgres_connect(url)()
        key = "BIGSERIAL PRIMARY KEY"
    try:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (id {key}, channel VARCHAR(40) NOT NULL, "
            "external_id VARCHAR(200) NOT NULL, body TEXT NOT NULL, "
            "received_at TIMESTAMP NOT NULL, UNIQUE (channel, external_id))"
        )
    finally:
        conn.close()


def create_app(url: str, secret: str) -> FastAPI:
    create_table(url)
    sqlite = url.startswith("sqlite")
    connect = _sqlite_connect(url.split("///", 1)[1]) if sqlite else _postgres_connect(url)
    pool = Pool(connect)
    mark = "?" if sqlite else "%s"
    insert = (
        f"INSERT INTO {TABLE} (channel, external_id, body, received_at) "  # noqa: S608 - constant
        f"VALUES ({mark}, {mark}, {mark}, {mark}) ON CONFLICT (channel, external_id) DO NOTHING"
    )

    def store(channel: str, external_id: str, body: bytes) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        with pool.connection() as conn:
            conn.execute(insert, (channel, external_id, body.decode("utf-8"), now))

    app = FastAPI(title="bench ceiling")

    @app.post("/webhooks/{channel}")
    async def webhook(channel: str, request: Request) -> Response:
        if not hmac.compare_digest(request.headers.get(SECRET_HEADER, ""), secret):
            return JSONResponse({"message": "invalid signature"}, status_code=403)
        body = await request.body()
        try:
            external_id = str(json.loads(body)["update_id"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"message": "not an update"}, status_code=400)
        await run_in_threadpool(store, channel, external_id, body)
        return Response(status_code=200)

    @app.post("/api/v1/complaints")
    async def complaint(request: Request) -> Response:
        body = await request.body()
        key = request.headers.get("idempotency-key") or uuid.uuid4().hex
        await run_in_threadpool(store, "api", key, body)
        return JSONResponse({"tracking_code": key[:10]}, status_code=202)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if args.workers > 1:
        # As `lapor-gateway serve --workers N` (gateway/cli.py): uvicorn's worker processes
        # sharing the port, each building the app with the factory.
        create_table(args.database_url)
        os.environ["BENCH_DATABASE_URL"] = args.database_url
        uvicorn.run(
            "bench.load.ceiling:app_from_env",
            factory=True,
            workers=args.workers,
            host="127.0.0.1",
            port=args.port,
            log_config=None,
            proxy_headers=True,
            access_log=False,  # the gateway is measured with ACCESS_LOG=false too
            timeout_worker_healthcheck=60,  # as `serve --workers N`
        )
        return
    app = create_app(args.database_url, os.environ["BENCH_SECRET"])
    # The same call as `lapor-gateway serve` (gateway/cli.py), so both are served alike.
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        log_config=None,
        proxy_headers=True,
        access_log=False,  # the gateway is measured with ACCESS_LOG=false too
    )


def app_from_env() -> FastAPI:
    """One worker process's app (`--workers N`)."""
    return create_app(os.environ["BENCH_DATABASE_URL"], os.environ["BENCH_SECRET"])


if __name__ == "__main__":
    main()
