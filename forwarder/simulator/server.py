"""Serve the simulator with uvicorn: standalone (`python -m forwarder.simulator`) or beside the
gateway in the same asyncio loop (`lapor-gateway serve`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from forwarder.simulator.app import create_app

if TYPE_CHECKING:
    from config.settings import Settings


def simulator_options(settings: Settings, push_url: str | None = None) -> dict[str, Any]:
    """Keyword arguments for `serve_simulator`/`build_simulator_server` from the gateway's
    settings: listen where CORE_BASE_URL points, push to the gateway when a secret is set."""
    base = urlsplit(settings.core_base_url)
    secret = settings.core_push_secret.get_secret_value() if settings.core_push_secret else None
    if push_url is None and secret:
        push_url = f"{settings.public_base_url}/core/events"
    return {
        "host": base.hostname or "127.0.0.1",
        "port": base.port or (443 if base.scheme == "https" else 80),
        "db": settings.core_simulator_db,
        "push_url": push_url or None,
        "push_secret": secret if push_url else None,
        "auto_answer_seconds": settings.core_simulator_auto_answer_seconds,
        "api_key": settings.core_api_key.get_secret_value() if settings.core_api_key else None,
    }


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to whoever runs the loop (the gateway)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def build_simulator_server(
    host: str,
    port: int,
    db: str | Path,
    *,
    push_url: str | None = None,
    push_secret: str | None = None,
    auto_answer_seconds: float | None = None,
    api_key: str | None = None,
    install_signal_handlers: bool = False,
    log_level: str = "info",
    log_config: dict[str, Any] | None = LOGGING_CONFIG,
) -> uvicorn.Server:
    """A uvicorn server for the simulator; stop it with `server.should_exit = True`.
    `log_config=None` keeps the process's logging as it is (the gateway's JSON lines)."""
    app = create_app(
        db,
        push_url=push_url,
        push_secret=push_secret,
        auto_answer_seconds=auto_answer_seconds,
        api_key=api_key,
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=log_config,
        lifespan="on",
        # Requests held by the "timeout after accept" fault must not delay a shutdown long.
        timeout_graceful_shutdown=2,
    )
    server_class = uvicorn.Server if install_signal_handlers else _QuietServer
    return server_class(config)


async def serve_simulator(
    host: str,
    port: int,
    db: str | Path,
    *,
    push_url: str | None = None,
    push_secret: str | None = None,
    auto_answer_seconds: float | None = None,
    api_key: str | None = None,
    stop: asyncio.Event | None = None,
    log_level: str = "info",
) -> None:
    """Run the simulator in the current loop until `stop` is set (or the task is cancelled).
    It shares the process with its caller (the gateway), so it keeps the caller's logging."""
    server = build_simulator_server(
        host,
        port,
        db,
        push_url=push_url,
        push_secret=push_secret,
        auto_answer_seconds=auto_answer_seconds,
        api_key=api_key,
        log_level=log_level,
        log_config=None,
    )

    async def watch() -> None:
        assert stop is not None
        await stop.wait()
        server.should_exit = True

    watcher = asyncio.create_task(watch()) if stop is not None else None
    try:
        await server.serve()
    finally:
        if watcher is not None:
            watcher.cancel()
