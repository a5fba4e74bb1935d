"""The simulator's ASGI app: the JSON API, the web page, and the background loop.

`create_app` builds one `CoreSimulator` with its own database and mounts both routers on it.
Under a server (uvicorn) the lifespan starts the background loop that pushes events and runs
auto-answer; under httpx's ASGITransport no lifespan runs, so tests drive `app.state.core`
(`tick`, `push_due`) themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from forwarder.simulator import api, web
from forwarder.simulator.core import Clock, CoreSimulator, utc_now


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    # FastAPI's default echoes the submitted values back; a report holds personal data, and
    # the client may store this text in its error log. Say where and what, not the value.
    assert isinstance(exc, RequestValidationError)
    detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
    return JSONResponse({"detail": detail}, status_code=422)


def create_app(
    db_path_or_url: str | Path,
    push_url: str | None = None,
    push_secret: str | None = None,
    auto_answer_seconds: float | None = None,
    api_key: str | None = None,
    *,
    clock: Clock = utc_now,
    push_transport: httpx.AsyncBaseTransport | None = None,
    media_dir: str | Path | None = None,
    background_poll_seconds: float = 1.0,
) -> FastAPI:
    """The simulated SP4N-LAPOR core as an ASGI app; its `CoreSimulator` is `app.state.core`."""
    core = CoreSimulator(
        db_path_or_url,
        push_url=push_url,
        push_secret=push_secret,
        auto_answer_seconds=auto_answer_seconds,
        api_key=api_key,
        clock=clock,
        push_transport=push_transport,
        media_dir=media_dir,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(core.run_background(background_poll_seconds))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await core.aclose()

    app = FastAPI(
        title="SP4N-LAPOR! core simulator",
        version="1",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.core = core
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.include_router(api.router)
    app.include_router(api.admin)
    app.include_router(web.router)
    return app
