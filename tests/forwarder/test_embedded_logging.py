"""The simulator embedded in `lapor-gateway serve` leaves the gateway's logging alone.

Seen walking the README: once the demo's simulator started, uvicorn's default logging config
replaced the gateway's, so every access line of the gateway was printed as plain text (an inbox
search for a phone number too), past the JSON formatter and the scrubber.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from forwarder.simulator import serve_simulator

from .conftest import free_port

pytestmark = pytest.mark.anyio
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


@pytest.fixture
def logging_state() -> Iterator[None]:
    saved = {
        name: (list(logging.getLogger(name).handlers), logging.getLogger(name).propagate)
        for name in UVICORN_LOGGERS
    }
    for name in UVICORN_LOGGERS:  # as `lapor-gateway serve` leaves them: to the root's handler
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    yield
    for name, (handlers, propagate) in saved.items():
        logging.getLogger(name).handlers = handlers
        logging.getLogger(name).propagate = propagate


async def test_the_embedded_simulator_keeps_the_gateways_logging(
    tmp_path: Path, logging_state: None
) -> None:
    port = free_port()
    stop = asyncio.Event()
    task = asyncio.create_task(serve_simulator("127.0.0.1", port, tmp_path / "core.db", stop=stop))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=2) as raw:
        for _ in range(500):  # wait for start-up (not a timing assertion)
            try:
                await raw.get("/api/v1/health")
                break
            except httpx.ConnectError:
                assert not task.done(), task.exception()
                await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        assert logger.handlers == [] and logger.propagate, name
