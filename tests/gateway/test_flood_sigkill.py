"""A flood, the gateway killed with SIGKILL in the middle, started again (issue 12's done-when):
every acknowledged message is stored once and processed once, none is left pending, and no
reply reaches the provider twice. The real `lapor-gateway serve` process, with its inbound
threads and outbox thread, against a fake Telegram on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import func, select

from channels.telegram import SECRET_HEADER
from gateway.store.db import Database
from gateway.store.models import InboundMessage, InboundStatus, OutboxItem, OutboxStatus
from tests.channels.cases import TEST_TELEGRAM_SECRET, TEST_TELEGRAM_TOKEN

CHATS = 120


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _update(n: int) -> bytes:
    chat = 7_000_000 + n
    return json.dumps(
        {
            "update_id": 90_000 + n,
            "message": {
                "message_id": n,
                "from": {"id": chat, "is_bot": False, "first_name": "Warga"},
                "chat": {"id": chat, "type": "private", "first_name": "Warga"},
                "date": int(time.time()),
                "text": f"Jalan berlubang di depan rumah nomor {n}",
            },
        }
    ).encode()


class Gateway:
    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        out = self.log.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own command
            [sys.executable, "-m", "gateway.cli", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=out,
            stderr=out,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"the gateway did not start: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def _send_all(url: str, numbers: list[int], acked: set[int], lock: threading.Lock) -> None:
    headers = {"content-type": "application/json", SECRET_HEADER: TEST_TELEGRAM_SECRET}

    def run(mine: list[int]) -> None:
        with httpx.Client(timeout=10) as client:
            for n in mine:
                try:
                    response = client.post(
                        f"{url}/webhooks/telegram", content=_update(n), headers=headers
                    )
                except httpx.HTTPError:
                    continue  # not acknowledged: the provider sends it again later
                if response.status_code == 200:
                    with lock:
                        acked.add(n)

    threads = [threading.Thread(target=run, args=(numbers[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _settled(db: Database) -> bool:
    with db.read_session() as session:
        pending = session.scalar(
            select(func.count())
            .select_from(InboundMessage)
            .where(InboundMessage.status == InboundStatus.PENDING)
        )
        unsent = session.scalar(
            select(func.count())
            .select_from(OutboxItem)
            .where(OutboxItem.status.in_([OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT]))  # type: ignore[attr-defined]
        )
    return pending == 0 and unsent == 0


def test_sigkill_in_a_flood_loses_nothing_and_sends_nothing_twice(
    db: Database,
    db_url: str,
    telegram,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))},
        "APP_ENV": "test",
        "DATABASE_URL": db_url,
        "DATA_DIR": str(tmp_path / "var"),
        "SECRET_KEY": "test-secret-key-not-for-production",
        "DEMO_PROVIDERS": "false",
        "CORE_BACKEND": "manual",
        "SCHEDULER_ENABLED": "true",
        "INBOUND_RESUME_SECONDS": "1",
        "OUTBOX_POLL_SECONDS": "0.5",
        "OUTBOX_LEASE_SECONDS": "5",
        "TELEGRAM_BOT_TOKEN": TEST_TELEGRAM_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": TEST_TELEGRAM_SECRET,
        "TELEGRAM_API_BASE_URL": telegram.url,
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    gateway = Gateway(env, port, tmp_path / "gateway.log")
    acked: set[int] = set()
    lock = threading.Lock()
    numbers = list(range(CHATS))
    gateway.start()
    try:
        sender = threading.Thread(target=_send_all, args=(gateway.url, numbers, acked, lock))
        sender.start()
        deadline = time.monotonic() + 60
        while len(acked) < CHATS // 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        gateway.kill()  # mid-flood: acks, processing and sends all in flight
        sender.join()
        killed_after = len(acked)
        assert 0 < killed_after < CHATS
        gateway.start()
        # The provider retries whatever was not acknowledged (and, to be sure, all of it).
        _send_all(gateway.url, numbers, acked, lock)
        assert acked == set(numbers)
        deadline = time.monotonic() + 90
        while not _settled(db) and time.monotonic() < deadline:
            time.sleep(0.25)
        assert _settled(db), "messages or replies still waiting 90 s after the restart"
    finally:
        gateway.stop()
    with db.read_session() as session:
        stored = Counter(session.scalars(select(InboundMessage.external_id)).all())
        statuses = Counter(session.scalars(select(InboundMessage.status)).all())
        rows = session.execute(select(OutboxItem.recipient, OutboxItem.status)).all()
    assert sorted(stored) == sorted(str(90_000 + n) for n in numbers)
    assert set(stored.values()) == {1}  # each message stored once
    assert set(statuses) == {InboundStatus.PROCESSED}
    sent_rows = Counter(r.recipient for r in rows if r.status == OutboxStatus.SENT)
    at_provider = Counter(call.chat_id for call in telegram.fake.sent())
    for n in numbers:
        chat = str(7_000_000 + n)
        # Never more messages at the provider than rows recorded as sent (a row whose send
        # was cut by the kill is reconciled or becomes a dead letter, never sent blindly).
        assert at_provider[chat] <= sent_rows[chat] + sum(
            1 for r in rows if r.recipient == chat and r.status == OutboxStatus.DEAD
        )
        assert sent_rows[chat] >= 1 or any(
            r.recipient == chat and r.status == OutboxStatus.DEAD for r in rows
        )
