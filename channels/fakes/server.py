"""Run a fake provider (an ASGI app) on 127.0.0.1 in a background thread, for tests and demos.

    with serving(fake.app) as base_url:
        ...  # point the SDK at base_url

The port is picked by the OS (bound before the thread starts, so there is no race), and the
call returns only once uvicorn has started, without sleeping.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


class FakeServer:
    """One ASGI app served by uvicorn on a free 127.0.0.1 port in a daemon thread."""

    def __init__(self, app: Any) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self._server = _Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> str:
        self._thread.start()
        if not self._server.ready.wait(timeout=15):
            raise RuntimeError("the fake provider did not start")
        return self.base_url

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve `app` for the duration of the block; yields its base URL."""
    server = FakeServer(app)
    server.start()
    try:
        yield server.base_url
    finally:
        server.stop()


def closed_port_url() -> str:
    """A 127.0.0.1 URL nothing listens on (connection refused): an unreachable provider."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
