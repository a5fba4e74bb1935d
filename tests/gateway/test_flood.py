"""Under a flood the gateway keeps answering (issue 12, issue 11 §2).

These tests serve the real app with uvicorn on 127.0.0.1 (lifespan on, so the background
threads run as in production) and hit it from many client threads at once: what they guard
against only shows with real concurrency, never through the in-process TestClient.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from channels.telegram import SECRET_HEADER
from config.settings import Settings
from gateway.app import create_app
from gateway.context import Gateway
from gateway.intake import inbound as intake
from gateway.intake import spool
from gateway.store.db import ACK_CONNECTIONS, Database
from gateway.store.models import Complaint, InboundMessage
from tests.channels.cases import TEST_TELEGRAM_SECRET, channel_settings
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


def _telegram_update(update_id: int) -> bytes:
    return json.dumps(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "from": {"id": 4242, "is_bot": False, "first_name": "Budi"},
                "chat": {"id": 4242, "type": "private", "first_name": "Budi"},
                "date": int(time.time()),
                "text": "Jalan di Desa Sumberjo rusak parah, banyak lubang besar",
            },
        }
    ).encode()


@contextmanager
def _write_lock_held(db: Database) -> Iterator[None]:
    """Another connection holds what the ack's INSERT needs: SQLite's write lock (a long sweep,
    a backup), or on PostgreSQL a lock on the table (a migration)."""
    conn = db.engine.connect()
    try:
        if db.is_sqlite:
            conn.exec_driver_sql(
                "INSERT INTO gateway_state (key, value, updated_at) "
                "VALUES ('lock-test', '', '2026-01-01 00:00:00')"
            )
        else:
            conn.exec_driver_sql("LOCK TABLE inbound_message IN EXCLUSIVE MODE")
        yield
    finally:
        conn.rollback()
        conn.close()


def test_a_held_write_lock_never_stalls_the_server(db: Database, db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Issue 11 §2: while another connection holds the lock the INSERT needs, a webhook answers
    within its budget with a clean 503 (the provider retries), /healthz answers at once, and
    the retry after the lock is gone is stored once."""
    settings = channel_settings(
        database_url=db_url,
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        app_env="test",
        secret_key="test-secret-key-not-for-production",
        ack_timeout_seconds=1.0,
    )
    gateway = Gateway.create(settings, db=Database(db_url, ack_timeout=1.0))
    gateway.processors = {name: (lambda *_: None) for name in gateway.processors}
    headers = {"content-type": "application/json", SECRET_HEADER: TEST_TELEGRAM_SECRET}
    body = _telegram_update(880001)
    try:
        with serving(create_app(settings, gateway)) as url, httpx.Client(timeout=10) as client:
            with _write_lock_held(gateway.db):
                blocked = _at_once(
                    4,
                    lambda i: _timed(
                        client.post, f"{url}/webhooks/telegram", content=body, headers=headers
                    ),
                )
                health = _timed(client.get, f"{url}/healthz")
            for response, seconds in blocked:
                # Within its budget: spooled to disk and acknowledged (intake/spool.py), or a
                # clean 503 when the spool cannot take it; never a hang, never a 500.
                assert response.status_code in (200, 503), response.text
                assert seconds < 3.0, f"the webhook took {seconds:.1f} s"
            assert health[0].status_code == 200 and health[1] < 1.0, health
            retried = client.post(f"{url}/webhooks/telegram", content=body, headers=headers)
            assert retried.status_code == 200
            assert (
                client.post(f"{url}/webhooks/telegram", content=body, headers=headers).status_code
                == 200
            )
        spool.drain(gateway)  # what was spooled meanwhile goes through intake now
        with gateway.db.read_session() as session:
            stored = session.scalars(select(InboundMessage.external_id)).all()
        assert len(stored) == 1
    finally:
        gateway.db.dispose()


def _timed(call: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.monotonic()
    response = call(*args, **kwargs)
    return response, time.monotonic() - started


def test_no_free_ack_connection_is_a_clean_503_in_time(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    """Every connection of the ack path busy (a stuck disk, a flood): 503 within the budget,
    never a 500 (the JSON API answered 500 with the pool's TimeoutError under load)."""
    settings = channel_settings(
        database_url=db_url,
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        app_env="test",
        secret_key="test-secret-key-not-for-production",
    )
    own = Database(db_url, ack_timeout=0.5)
    gateway = Gateway.create(settings, db=own)
    held = [own.ack_engine.connect() for _ in range(ACK_CONNECTIONS)]
    headers = {"content-type": "application/json", SECRET_HEADER: TEST_TELEGRAM_SECRET}
    try:
        with TestClient(create_app(settings, gateway)) as client:
            response, seconds = _timed(
                client.post, "/webhooks/telegram", content=_telegram_update(880002), headers=headers
            )
            assert response.status_code in (200, 503)  # spooled, or a clean 503
            assert seconds < 3.0
            body = {"description": "Lampu jalan mati di depan balai desa Leteh", "consent": True}
            assert client.post("/api/v1/complaints", json=body).status_code == 503
    finally:
        for conn in held:
            conn.close()
        own.dispose()
