"""Under a flood the gateway keeps answering (issue 12, issue 11 §2).

These tests serve the real app with uvicorn on 127.0.0.1 (lifespan on, so the background
threads run as in production) and hit it from many client threads at once: what they guard
against only shows with real concurrency, never through the in-process TestClient.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from config.settings import Settings
from gateway.app import create_app
from gateway.context import Gateway
from gateway.intake import inbound as intake
from gateway.store.db import Database
from gateway.store.models import Complaint
from tests.gateway.factories import inbound


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """The app under uvicorn with its lifespan (background threads included)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    server = _Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    assert server.ready.wait(timeout=30), "the gateway did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def _count(db: Database, model: type) -> int:
    with db.read_session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _wait_for(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _at_once(n: int, call: Any) -> list[Any]:
    """Run `call(i)` from n threads released together; results (or exceptions) in order."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = call(i)
        except Exception as exc:  # a timeout is the failure we look for: report it, not crash
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture
def flood_settings(settings: Settings) -> Settings:
    # The background machinery on (as `make run`), but no core to talk to.
    return settings.model_copy(update={"scheduler_enabled": True, "core_backend": "manual"})


def test_processing_a_message_needs_one_connection_only(
    settings: Settings, db: Database, db_url: str
) -> None:
    """The cause of the freeze below: a connection opened inside the processing transaction
    (the holiday calendar's version check). With a pool of one, any such nested checkout
    times out instead of passing unnoticed."""
    one = Database(db_url, pool_size=1, max_overflow=0, pool_timeout=2)
    try:
        gateway = Gateway.create(settings, db=one)
        for external_id in ("first", "second"):
            accepted = intake.accept(one, inbound(external_id), assign_code=True)
            gateway.calendar_source.invalidate()  # the version check is due
            assert intake.process(gateway, accepted.inbound_id) is True
        assert _count(one, Complaint) == 2
    finally:
        one.dispose()


def test_many_concurrent_api_complaints_are_all_accepted_and_processed(
    flood_settings: Settings, db: Database
) -> None:
    """Issue 12: 16 or more concurrent POST /api/v1/complaints froze the server for 30 s and then
    answered 500 — a processing thread held the write transaction and waited for a second pooled
    connection (the holiday calendar's version check) that the other threads held."""
    gateway = Gateway.create(flood_settings, db=db)
    n = 24

    def post(i: int) -> int:
        body = {
            "description": f"Jalan berlubang besar di depan rumah nomor {i}, Desa Leteh Rembang",
            "consent": True,
        }
        with httpx.Client(timeout=12) as client:
            return client.post(f"{url}/api/v1/complaints", json=body).status_code

    with serving(create_app(flood_settings, gateway)) as url:
        started = time.monotonic()
        answers = _at_once(n, post)
        elapsed = time.monotonic() - started
        assert answers == [202] * n, answers
        assert elapsed < 8, f"{n} concurrent submissions took {elapsed:.1f} s"
        assert _wait_for(lambda: _count(db, Complaint) == n, 20), _count(db, Complaint)
        with httpx.Client(timeout=5) as client:
            assert client.get(f"{url}/healthz").status_code == 200
