"""PostgreSQL stopped under load (issue 13's done-when): while signed Telegram webhooks keep
arriving at the real `lapor-gateway serve`, the test stops the database cluster, keeps sending
(each webhook must still be acknowledged with 200: it goes to the disk spool), starts the
cluster again, and then every acknowledged message is stored exactly once and processed.

The cluster is the test's own: `initdb` and `pg_ctl` from /usr/lib/postgresql/*/bin in a
temporary directory, on a free port, never the shared test server (stopping that would break
every other test). PostgreSQL refuses to run as root, so as root the server runs as the
`postgres` system user (`runuser`). The test is skipped, with the reason, only where no server
binaries are installed or no unprivileged user exists to run them.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text

from channels.telegram import SECRET_HEADER
from gateway.store.db import Database
from gateway.store.migrate import upgrade
from gateway.store.models import InboundMessage, InboundStatus
from tests.channels.cases import TEST_TELEGRAM_SECRET, TEST_TELEGRAM_TOKEN
from tests.conftest import RunningTelegram
from tests.gateway.test_flood_sigkill import Gateway, _free_port, _update

pytestmark = pytest.mark.own_postgres

SENDERS = 4
BEFORE, DURING, AFTER = 30, 30, 30  # acknowledged messages in each phase, at least


def _server_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    return Path(found[-1]).parent if found else None


def _version(path: str) -> int:
    part = Path(path).parts[-3]
    return int(part) if part.isdigit() else 0


class Cluster:
    """A throw-away PostgreSQL cluster: initdb into a temporary directory, its own port and
    socket directory, trust authentication on 127.0.0.1 only."""

    def __init__(self, bin_dir: Path, root: Path, port: int, run_as: list[str]) -> None:
        self.bin_dir, self.root, self.port, self.run_as = bin_dir, root, port, run_as
        self.data = root / "data"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/lapor"

    def _run(self, *args: str, timeout: float = 120) -> None:
        command = [*self.run_as, str(self.bin_dir / args[0]), *args[1:]]
        done = subprocess.run(  # noqa: S603 - the server's own tools, our arguments
            command, capture_output=True, text=True, timeout=timeout, cwd=self.root
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr.strip()[-1500:]}")

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=100"
        )
        log = str(self.root / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    def stop(self) -> None:
        # "immediate": the server goes away at once, mid-transaction, as in a crash or a
        # failover; open connections break under the gateway's feet.
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop_quietly(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self.stop()  # or it was not running


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    bin_dir = _server_bin()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql")
    run_as: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="lapor-pg-"))
    if os.geteuid() == 0:
        # initdb and postgres refuse root: run them as the system's postgres user.
        runuser = shutil.which("runuser")
        try:
            import pwd

            user = pwd.getpwnam("postgres")
        except KeyError:
            user = None
        if runuser is None or user is None:
            shutil.rmtree(root, ignore_errors=True)
            pytest.skip("running as root without a `postgres` user and runuser to start a cluster")
        os.chown(root, user.pw_uid, user.pw_gid)
        run_as = [runuser, "-u", "postgres", "--"]
    cluster = Cluster(bin_dir, root, _free_port(), run_as)
    try:
        cluster.init()
        cluster.start()
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        cluster.stop_quietly()
        shutil.rmtree(root, ignore_errors=True)
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"could not start a PostgreSQL cluster of our own: {exc}")
        pytest.skip(f"could not start a PostgreSQL cluster of our own: {exc}")
    admin = create_engine(
        f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/postgres",
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE lapor"))
    admin.dispose()
    db = Database(cluster.url)
    upgrade(db.engine)
    db.dispose()
    try:
        yield cluster
    finally:
        cluster.stop_quietly()
        shutil.rmtree(root, ignore_errors=True)


class Provider:
    """Telegram sending updates without pause from a few threads, noting each answer and the
    phase it came in; a connection error is simply sent again later (as Telegram does)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.phase = "before"
        self.answers: list[tuple[int, int, str]] = []  # (update, status, phase)
        self._next = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run) for _ in range(SENDERS)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def acked(self, phase: str | None = None) -> set[int]:
        with self._lock:
            return {
                n for n, status, seen in self.answers if status == 200 and phase in (None, seen)
            }

    def _take(self) -> int:
        with self._lock:
            self._next += 1
            return self._next - 1

    def _run(self) -> None:
        headers = {"content-type": "application/json", SECRET_HEADER: TEST_TELEGRAM_SECRET}
        with httpx.Client(timeout=30) as client:
            n = self._take()
            while not self._stop.is_set():
                phase = self.phase
                try:
                    response = client.post(
                        f"{self.url}/webhooks/telegram", content=_update(n), headers=headers
                    )
                except httpx.HTTPError:
                    continue  # not acknowledged: sent again
                with self._lock:
                    self.answers.append((n, response.status_code, phase))
                if response.status_code == 200:
                    n = self._take()
                else:
                    time.sleep(0.2)  # the provider's retry of the same update


def _wait(condition, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.05)


def _settled(db: Database, spool_file: Path, acked: set[int]) -> bool:
    if spool_file.exists() and spool_file.stat().st_size > 0:
        return False
    try:
        with db.read_session() as session:
            stored = session.scalar(select(func.count()).select_from(InboundMessage))
            pending = session.scalar(
                select(func.count())
                .select_from(InboundMessage)
                .where(InboundMessage.status == InboundStatus.PENDING)
            )
    except Exception:  # the database still coming back
        return False
    return (stored or 0) >= len(acked) and pending == 0


def test_stopping_postgresql_under_load_loses_nothing_and_stores_nothing_twice(
    cluster: Cluster, telegram: RunningTelegram, tmp_path: Path
) -> None:
    port = _free_port()
    data_dir = tmp_path / "var"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))},
        "APP_ENV": "test",
        "DATABASE_URL": cluster.url,
        "DATA_DIR": str(data_dir),
        "SECRET_KEY": "test-secret-key-not-for-production",
        "DEMO_PROVIDERS": "false",
        "CORE_BACKEND": "manual",
        "SCHEDULER_ENABLED": "true",
        "INBOUND_RESUME_SECONDS": "1",
        "OUTBOX_POLL_SECONDS": "0.5",
        "TELEGRAM_BOT_TOKEN": TEST_TELEGRAM_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": TEST_TELEGRAM_SECRET,
        "TELEGRAM_API_BASE_URL": telegram.url,
        "RATE_LIMIT_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    gateway = Gateway(env, port, tmp_path / "gateway.log")
    provider = Provider(gateway.url)
    gateway.start()
    try:
        provider.start()
        _wait(lambda: len(provider.acked("before")) >= BEFORE, 120, "acks before the stop")
        cluster.stop()
        provider.phase = "during"
        _wait(lambda: len(provider.acked("during")) >= DURING, 120, "acks while it is down")
        provider.phase = "restarting"
        cluster.start()
        provider.phase = "after"
        _wait(lambda: len(provider.acked("after")) >= AFTER, 120, "acks after the restart")
        provider.stop()
        db = Database(cluster.url)
        acked = provider.acked()
        spool_file = data_dir / "spool" / "webhooks.jsonl"
        _wait(lambda: _settled(db, spool_file, acked), 180, "the spool drained and processed")
    finally:
        provider.stop()
        gateway.stop()
    # While the database was away, the webhooks were still acknowledged: every answer 200.
    answers = Counter((status, phase) for _, status, phase in provider.answers)
    assert {status for status, _ in answers} == {200}, answers
    assert answers[(200, "during")] >= DURING
    assert "webhook spooled" in (tmp_path / "gateway.log").read_text()  # the spool took them
    with db.read_session() as session:
        stored = Counter(session.scalars(select(InboundMessage.external_id)).all())
        statuses = Counter(session.scalars(select(InboundMessage.status)).all())
    db.dispose()
    assert set(stored) == {str(90_000 + n) for n in acked}  # nothing acknowledged is lost
    assert set(stored.values()) == {1}  # and nothing is stored twice
    assert set(statuses) == {InboundStatus.PROCESSED}
