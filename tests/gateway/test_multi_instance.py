"""Several real gateway processes on one PostgreSQL (issue 11 §3): two web instances
(`lapor-gateway serve --no-jobs`) and a worker (`lapor-gateway worker`), a database of their own,
attachments in an S3-compatible store (moto's server mode), the fake Telegram API and the SP4N
core simulator on 127.0.0.1.

1,000 signed Telegram updates (250 citizens, four messages each: greeting, consent, the
complaint — every tenth with a photo — and KIRIM) go alternately to both web instances; one is
killed with SIGKILL half-way (what it did not acknowledge the "provider" sends to the other, as
Telegram retries). Then every complaint is disposed, and the worker forwards them to the core.

Checked: every acknowledged update is stored and processed once; no reply is sent twice (the
fake's sends equal the outbox rows one for one); one complaint per citizen and no core report
doubled; every photo is downloaded once and served by both instances (the killed one restarted).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from config.settings import Settings, load_settings
from gateway.context import Gateway
from gateway.store.db import Database
from gateway.store.migrate import upgrade
from gateway.store.models import (
    Agency,
    Attachment,
    AttachmentStatus,
    Complaint,
    InboundMessage,
    InboundStatus,
    OutboxItem,
    OutboxStatus,
)
from tests.channels.cases import TEST_TELEGRAM_SECRET, TEST_TELEGRAM_TOKEN
from tests.conftest import RunningTelegram
from tests.gateway.core_env import dispose, start_core
from tests.images import image_bytes, same_picture

pytestmark = [pytest.mark.multi_instance, pytest.mark.postgres_only]

CITIZENS = 250
STEPS = 4  # greeting, consent, the complaint, KIRIM
CONCURRENT = 25
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
PLACES = ["Kragan", "Sluke", "Lasem", "Pamotan", "Sulang", "Sarang", "Sedan", "Kaliori"]
PROBLEMS = [
    "jalan berlubang besar dan sering membuat pengendara motor jatuh",
    "lampu penerangan jalan mati sejak dua minggu yang lalu",
    "saluran air tersumbat sampah sehingga banjir setiap hujan",
    "jembatan kayu penghubung dusun mulai lapuk dan berbahaya",
    "sampah menumpuk di pinggir jalan dan tidak diangkut petugas",
]


def _photo(n: int) -> bytes:
    return image_bytes("JPEG", (40 + n // 10, 30))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def own_database() -> Iterator[str]:
    """A PostgreSQL database of this test's own, migrated, dropped afterwards."""
    base = (
        os.environ.get("TEST_DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    admin = Database(base)
    if not admin.ping():
        admin.dispose()
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is not reachable; REQUIRE_POSTGRES=1 (CI) needs it")
        pytest.skip("PostgreSQL is not reachable: the multi-instance test needs it")
    name = f"lapor_multi_{uuid.uuid4().hex[:10]}"
    autocommit = admin.engine.execution_options(isolation_level="AUTOCOMMIT")
    with autocommit.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    upgrade(db.engine)
    db.dispose()
    try:
        yield url
    finally:
        with autocommit.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Instance:
    name: str
    args: list[str]
    env: dict[str, str]
    cwd: Path
    port: int | None = None
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.cwd / f"{self.name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.cwd.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own CLI
                [sys.executable, "-m", "gateway.cli", *self.args],
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, self.log.read_text()
            if self.port is None:
                if "running" in self.log.read_text():
                    return
            else:
                try:
                    if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        raise AssertionError(f"{self.name} did not start:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def _environment(
    db_url: str, telegram: RunningTelegram, core_url: str, s3: dict[str, object]
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))}
    env.update(
        {
            "APP_ENV": "test",
            "DEMO_PROVIDERS": "false",
            "DATABASE_URL": db_url,
            "SECRET_KEY": "multi-instance-test-secret-not-for-production",
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "text",
            "TELEGRAM_BOT_TOKEN": TEST_TELEGRAM_TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": TEST_TELEGRAM_SECRET,
            "TELEGRAM_API_BASE_URL": telegram.url,
            "CORE_BACKEND": "simulator",
            "CORE_BASE_URL": core_url,
            "CORE_RETRIES": "0",
            "RATE_LIMIT_STORAGE": "database",
            # Each citizen's own complaint: the generated texts look alike, and folding them into
            # cases is the duplicate detector's business (tested on its own), not this test's.
            "DEDUP_AUTO_MERGE": "false",
            "DEDUP_SAME_PROBLEM_TEXT": "100",
            "INBOUND_RESUME_SECONDS": "1",
            "OUTBOX_POLL_SECONDS": "0.5",
            "OUTBOX_BACKOFF_BASE_SECONDS": "1",
            "OUTBOX_BACKOFF_MAX_SECONDS": "5",
            "CORE_TIMEOUT_SECONDS": "20",
            "OUTBOX_BATCH_SIZE": "50",
            "ATTACHMENT_FETCH_SECONDS": "0.5",
            # A web process downloads a new photo right after the ack; the one SIGKILLed here
            # may hold such a claim, which the worker takes over only when its lease ends
            # (5 minutes by default: longer than this test waits; seen failing in CI).
            "ATTACHMENT_CLAIM_SECONDS": "10",
            "LEADER_CHECK_SECONDS": "1",
            "CORE_POLL_SECONDS": "5",
        }
    )
    env.update({key.upper(): str(value) for key, value in s3.items()})
    return env


def _update(update_id: int, chat_id: int, message_id: int, step: int, n: int) -> dict[str, Any]:
    person = {"id": chat_id, "is_bot": False, "first_name": f"Warga{n}", "language_code": "id"}
    message: dict[str, Any] = {
        "message_id": message_id,
        "from": person,
        "chat": {"id": chat_id, "first_name": f"Warga{n}", "type": "private"},
        "date": int(time.time()),
    }
    if step == 0:
        message["text"] = "halo"
    elif step == 1:
        message["text"] = "ya"
    elif step == 2:
        place, problem = PLACES[n % len(PLACES)], PROBLEMS[n % len(PROBLEMS)]
        description = f"Di Desa {place} RT {n % 9 + 1} {problem}, laporan nomor {n}."
        if n % 10 == 0:
            message["caption"] = description
            message["photo"] = [
                {
                    "file_id": f"multi-photo-{n}",
                    "file_unique_id": f"multi-unique-{n}",
                    "file_size": 2000,
                    "width": 640,
                    "height": 480,
                }
            ]
        else:
            message["text"] = description
    else:
        message["text"] = "kirim"
    return {"update_id": update_id, "message": message}


class Sender:
    """Plays Telegram: sends each citizen's messages in order, alternating between the web
    instances; a refused or broken connection is retried on the other one."""

    def __init__(
        self,
        web: list[Instance],
        db: Database,
        kill_at: int,
        victim: Instance,
        admin: Gateway,
    ) -> None:
        self.web = web
        self.admin = admin
        self.db = db
        self.kill_at = kill_at
        self.victim = victim
        self.sent = 0
        self.acked: list[int] = []  # update ids the gateway acknowledged
        self.retried = 0
        self.update_ids = itertools.count(900_000_001)
        self.turn = itertools.count()

    async def post(self, client: httpx.AsyncClient, update: dict[str, Any]) -> None:
        first = next(self.turn) % len(self.web)
        order = self.web[first:] + self.web[:first]
        for attempt in range(20):
            instance = order[attempt % len(order)]
            try:
                response = await client.post(
                    f"{instance.url}/webhooks/telegram",
                    json=update,
                    headers={SECRET_HEADER: TEST_TELEGRAM_SECRET},
                )
            except httpx.TransportError:
                self.retried += 1
                continue
            if response.status_code == 200:
                self.acked.append(update["update_id"])
                return
            self.retried += 1
            await asyncio.sleep(0.05)
        raise AssertionError(f"update {update['update_id']} never acknowledged")

    def processed(self, chat_id: int) -> int:
        with self.db.read_session() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(InboundMessage)
                    .where(InboundMessage.channel == "telegram")
                    .where(InboundMessage.sender == str(chat_id))
                    .where(InboundMessage.status == InboundStatus.PROCESSED.value)
                )
                or 0
            )

    async def citizen(self, client: httpx.AsyncClient, n: int) -> None:
        chat_id = 700_000_000 + n
        for step in range(STEPS):
            update = _update(next(self.update_ids), chat_id, 100 + step, step, n)
            await self.post(client, update)
            self.sent += 1
            if self.sent == self.kill_at:
                self.victim.kill()  # mid-way: whatever it held in memory is gone
            # The next message only once this one is processed (a citizen reads the reply).
            deadline = time.monotonic() + 60
            while await asyncio.to_thread(self.processed, chat_id) < step + 1:
                assert time.monotonic() < deadline, f"citizen {n} step {step} never processed"
                await asyncio.sleep(0.1)
        # The admin disposes the complaint at once: the worker forwards it to the core while
        # the other citizens are still writing.
        await asyncio.to_thread(self.dispose, chat_id)

    def dispose(self, chat_id: int) -> None:
        with self.db.read_session() as session:
            complaint_id = session.scalar(
                select(Complaint.id)
                .join(InboundMessage, InboundMessage.complaint_id == Complaint.id)
                .where(InboundMessage.sender == str(chat_id))
                .limit(1)
            )
        assert complaint_id is not None, f"no complaint for chat {chat_id}"
        dispose(self.admin, complaint_id)

    async def run(self) -> None:
        limits = httpx.Limits(max_connections=CONCURRENT * 2)
        async with httpx.AsyncClient(timeout=10, limits=limits) as client:
            queue: asyncio.Queue[int] = asyncio.Queue()
            for n in range(CITIZENS):
                queue.put_nowait(n)

            async def worker() -> None:
                while not queue.empty():
                    await self.citizen(client, queue.get_nowait())

            await asyncio.gather(*(worker() for _ in range(CONCURRENT)))


def _wait_for(what: str, check: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _local_settings(db_url: str, tmp_path: Path, s3: dict[str, object]) -> Settings:
    return load_settings(
        _env_file=None,
        app_env="test",
        database_url=db_url,
        data_dir=tmp_path / "test",
        scheduler_enabled=False,
        secret_key="multi-instance-test-secret-not-for-production",
        **s3,
    )


def test_two_web_instances_and_a_worker_on_one_postgresql(
    own_database: str,
    tmp_path: Path,
    telegram: RunningTelegram,
    s3_settings: dict[str, object],
) -> None:
    core_server, core, core_url = start_core(tmp_path / "core")
    for n in range(0, CITIZENS, 10):
        telegram.fake.add_file(f"multi-photo-{n}", _photo(n), f"photos/{n}.jpg")
    env = _environment(own_database, telegram, core_url, s3_settings)
    ports = [_free_port(), _free_port()]
    web = [
        Instance(
            name,
            ["serve", "--no-jobs", "--host", "127.0.0.1", "--port", str(port)],
            {**env, "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"},
            tmp_path / name,
            port,
        )
        for name, port in zip(("web-a", "web-b"), ports, strict=True)
    ]
    worker = Instance("worker", ["worker"], env, tmp_path / "worker")
    db = Database(own_database)
    instances = [*web, worker]
    started = time.monotonic()
    try:
        for instance in instances:
            instance.start()
        for instance in instances:
            instance.wait_ready()
        phases = {"started": time.monotonic() - started}
        gateway = Gateway.create(_local_settings(own_database, tmp_path, s3_settings), db=db)
        with db.session() as session:  # the agency every complaint is disposed to
            session.add(Agency(code="DPUPR", name="Dinas Pekerjaan Umum dan Penataan Ruang"))
            session.commit()
        sender = Sender(web, db, kill_at=CITIZENS * STEPS // 2, victim=web[0], admin=gateway)
        asyncio.run(sender.run())
        phases["sent"] = time.monotonic() - started
        assert web[0].process is not None and web[0].process.returncode == -signal.SIGKILL

        # Every acknowledged update stored once and processed.
        with db.read_session() as session:
            rows = session.execute(
                select(InboundMessage.sender, InboundMessage.status).where(
                    InboundMessage.channel == "telegram"
                )
            ).all()
        assert len(sender.acked) == len(set(sender.acked)) == CITIZENS * STEPS
        assert len(rows) == CITIZENS * STEPS
        assert Counter(status for _, status in rows) == {"processed": CITIZENS * STEPS}
        assert set(Counter(s for s, _ in rows).values()) == {STEPS}

        # One complaint per citizen, each disposed by the admin; the worker files them.
        with db.read_session() as session:
            complaints = session.execute(select(Complaint.id, Complaint.reporter_id)).all()
        assert len(complaints) == CITIZENS
        assert len({reporter for _, reporter in complaints}) == CITIZENS

        def settled() -> bool:
            with db.read_session() as session:
                busy = session.scalar(
                    select(func.count())
                    .select_from(OutboxItem)
                    .where(OutboxItem.status.in_([OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT]))  # type: ignore[attr-defined]
                )
                fetching = session.scalar(
                    select(func.count())
                    .select_from(Attachment)
                    .where(Attachment.status != AttachmentStatus.STORED)
                )
            return busy == 0 and fetching == 0

        print(f"phases (s): {phases}, retried {sender.retried}", flush=True)
        try:
            _wait_for("the outbox and the downloads to settle", settled, timeout=60)
        except AssertionError:
            with db.read_session() as session:
                stuck = session.execute(
                    select(
                        OutboxItem.kind,
                        OutboxItem.status,
                        func.count(),
                        func.max(OutboxItem.last_error),
                    ).group_by(OutboxItem.kind, OutboxItem.status)
                ).all()
                files = session.execute(
                    select(Attachment.status, func.count(), func.max(Attachment.error)).group_by(
                        Attachment.status
                    )
                ).all()
            raise AssertionError(f"{stuck}\n{files}\n{worker.log.read_text()[-3000:]}") from None
        phases["settled"] = time.monotonic() - started
        print(f"phases (s): {phases}, retried {sender.retried}")

        # No reply sent twice: what the fake Telegram received is the outbox, one for one.
        with db.read_session() as session:
            outbox = session.execute(
                select(OutboxItem.recipient, OutboxItem.payload, OutboxItem.status).where(
                    OutboxItem.channel == "telegram"
                )
            ).all()
        assert {status for _, _, status in outbox} == {OutboxStatus.SENT}
        queued = Counter((recipient, payload.get("text", "")) for recipient, payload, _ in outbox)
        delivered = Counter(
            (
                str(call.params.get("chat_id")),
                call.params.get("text") or call.params.get("caption") or "",
            )
            for call in telegram.fake.sent()
        )
        assert delivered == queued

        # No core report doubled: one report per complaint, each complaint filed once.
        with db.read_session() as session:
            refs = session.scalars(select(Complaint.core_ref)).all()
        assert None not in refs and len(set(refs)) == CITIZENS
        assert core.store.count_reports() == CITIZENS

        # Photos: downloaded once each, served by both web instances (the killed one again).
        web[0].start()
        web[0].wait_ready()
        with db.read_session() as session:
            photos = session.scalars(select(Attachment).order_by(Attachment.id)).all()
        photos_sent = {f"multi-photo-{n}": _photo(n) for n in range(0, CITIZENS, 10)}
        assert len({p.storage_key for p in photos}) == len(photos)  # distinct photos, kept apart
        assert len(photos) == CITIZENS // 10
        downloads = Counter(
            call.params.get("file_id") for call in telegram.fake.calls if call.method == "getFile"
        )
        assert set(downloads.values()) == {1}
        for photo in photos:
            link = gateway.media_links.url(photo.id or 0).rsplit("/media/", 1)[1]
            served = [httpx.get(f"{w.url}/media/{link}", timeout=10) for w in web]
            assert [r.status_code for r in served] == [200, 200]
            assert served[0].content == served[1].content
            assert same_picture(served[0].content, photos_sent[photo.provider_ref or ""])
        phases["checked"] = time.monotonic() - started
        print(f"phases (s): {phases}", flush=True)
    finally:
        for instance in instances:
            instance.stop()
        db.dispose()
        core_server.stop()
