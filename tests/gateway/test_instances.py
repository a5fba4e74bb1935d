"""Several instances on one database: what must happen once happens once. Attachment downloads
are claimed (SKIP LOCKED and a lease), the core's cursor only moves from the value a poll read,
and `lapor-gateway worker` runs the jobs without the web."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import Response
from sqlalchemy import select, text, update

from channels.fakes.server import FakeServer
from gateway.clock import utcnow
from gateway.context import Gateway
from gateway.core import sync as core_sync
from gateway.intake import attachments
from gateway.store.db import Database
from gateway.store.models import Attachment, AttachmentStatus, GatewayState
from tests.images import image_bytes


class SlowPhotos:
    """Serves a photo per path, slowly (so two workers overlap), counting every request."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.app = FastAPI()
        photo = image_bytes("JPEG")

        @self.app.get("/photo/{name}")
        def serve(name: str) -> Response:
            with self.lock:
                self.hits[name] += 1
            time.sleep(0.05)
            return Response(photo, media_type="image/jpeg")


def _other(gateway: Gateway) -> Gateway:
    return Gateway.create(gateway.settings, db=Database(gateway.settings.database_url))


def _allow_core_media(gateway: Gateway, base: str) -> None:
    """The photos are the core's answer attachments: fetched only from the core's own hosts
    (issue 13), so the local photo server is one of them here."""
    host = base.split("://", 1)[1].split("/", 1)[0]
    gateway.settings = gateway.settings.model_copy(update={"core_media_hosts": [host]})


def _pending_photos(gateway: Gateway, base: str, count: int) -> None:
    with gateway.db.session() as session:
        for n in range(count):
            session.add(
                Attachment(
                    source="core",
                    content_type="image/jpeg",
                    original_url=f"{base}/photo/p{n}",
                    status=AttachmentStatus.PENDING,
                )
            )
        session.commit()


def test_two_workers_download_each_attachment_once(gateway: Gateway) -> None:
    photos = SlowPhotos()
    server = FakeServer(photos.app)
    base = server.start()
    _allow_core_media(gateway, base)
    other = _other(gateway)
    try:
        _pending_photos(gateway, base, 12)

        async def both() -> list[int]:
            return list(
                await asyncio.gather(
                    attachments.fetch_pending(gateway, limit=4, worker="one"),
                    attachments.fetch_pending(other, limit=4, worker="two"),
                    attachments.fetch_pending(gateway, limit=4, worker="three"),
                    attachments.fetch_pending(other, limit=4, worker="four"),
                )
            )

        stored = asyncio.run(both())
        stored += asyncio.run(both())  # whatever is left
    finally:
        other.db.dispose()
        server.stop()
    assert sum(stored) == 12
    assert set(photos.hits.values()) == {1} and len(photos.hits) == 12
    with gateway.db.read_session() as session:
        rows = session.scalars(select(Attachment)).all()
    assert {r.status for r in rows} == {AttachmentStatus.STORED}
    assert {r.claimed_by for r in rows} == {None}  # released once recorded


def test_a_dead_workers_claim_expires_and_another_takes_the_download(gateway: Gateway) -> None:
    photos = SlowPhotos()
    server = FakeServer(photos.app)
    base = server.start()
    _allow_core_media(gateway, base)
    try:
        _pending_photos(gateway, base, 1)
        with gateway.db.session() as session:  # a worker claimed it, then was killed
            session.execute(
                update(Attachment).values(
                    claimed_by="dead-worker", claimed_until=utcnow() + timedelta(minutes=5)
                )
            )
            session.commit()
        assert asyncio.run(attachments.fetch_pending(gateway, worker="alive")) == 0
        assert photos.hits == Counter()
        with gateway.db.session() as session:  # ... and its lease ran out
            session.execute(update(Attachment).values(claimed_until=utcnow() - timedelta(1)))
            session.commit()
        assert asyncio.run(attachments.fetch_pending(gateway, worker="alive")) == 1
    finally:
        server.stop()
    assert photos.hits == Counter({"p0": 1})


def test_the_core_cursor_only_moves_from_the_value_a_poll_read(gateway: Gateway) -> None:
    assert core_sync._save_cursor(gateway, None, "10")
    assert core_sync._save_cursor(gateway, "10", "20")
    # A poll that started at 10 while another instance already moved it to 20: refused.
    assert not core_sync._save_cursor(gateway, "10", "15")
    with gateway.db.read_session() as session:
        row = session.get(GatewayState, core_sync.CURSOR_KEY)
    assert row is not None and row.value == "20"


def test_the_worker_command_runs_the_jobs_at_a_lower_priority_and_stops_on_sigterm(
    settings, tmp_path: Path
) -> None:
    import os
    import signal
    import subprocess
    import sys

    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "DATA_DIR": str(tmp_path / "var"),
        "SECRET_KEY": "test-secret-key-not-for-production",
        "APP_ENV": "test",
        "CORE_BACKEND": "manual",
        "LOG_FORMAT": "text",
        "LEADER_CHECK_SECONDS": "0.2",
        "WORKER_NICE": "7",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "worker"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        assert process.stdout is not None
        line = ""
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if "worker" in line and "running" in line:
                break
        assert "running" in line
        # It yields the CPU to the web processes beside it (issue 12): nice 7 above ours.
        assert os.getpriority(os.PRIO_PROCESS, process.pid) == min(
            19, os.getpriority(os.PRIO_PROCESS, 0) + 7
        )
        # The leader's persistent jobs appear once it has elected itself.
        db = Database(settings.database_url)
        try:
            found = False
            while time.monotonic() < deadline and not found:
                with db.engine.connect() as conn:
                    try:
                        found = bool(
                            conn.execute(text("SELECT count(*) FROM apscheduler_jobs")).scalar()
                        )
                    except Exception:
                        found = False
                time.sleep(0.2)
        finally:
            db.dispose()
        assert found
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_only_the_leader_polls_the_core(gateway: Gateway) -> None:
    """Every instance polling the core raced on its cursor: now only the leader has the job."""
    from gateway.jobs.scheduler import CORE_POLL_JOB, Scheduler

    if gateway.db.is_sqlite:
        pytest.skip("one instance on SQLite (test_scheduler covers the leader's jobs)")
    settings = gateway.settings.model_copy(
        update={"core_backend": "simulator", "core_base_url": "http://127.0.0.1:9"}
    )
    first = Gateway.create(settings, db=gateway.db)
    second = Gateway.create(settings, db=Database(settings.database_url))

    async def scenario() -> tuple[bool, bool]:
        one, two = Scheduler(first), Scheduler(second)
        for scheduler in (one, two):
            scheduler.scheduler.start()
        try:
            await one.elect()
            await two.elect()
            return (
                one.scheduler.get_job(CORE_POLL_JOB) is not None,
                two.scheduler.get_job(CORE_POLL_JOB) is not None,
            )
        finally:
            for scheduler in (one, two):
                scheduler.shutdown()
                await scheduler.stopped()

    try:
        assert asyncio.run(scenario()) == (True, False)
    finally:
        second.db.dispose()
