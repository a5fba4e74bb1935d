"""The processes and databases of a load run: the gateway, the ceiling, the fake providers.

The gateway is reached only as its users reach it: the `lapor-gateway` command (`migrate`,
`seed-demo`, `serve`), HTTP, and its database read with plain SQL (the table names are the
schema, not the code). Every scenario starts on a fresh copy of one migrated and seeded
template database, so no scenario inherits another's backlog:
SQLite copies a template file; PostgreSQL creates `bench_load` from `bench_load_template`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
WORKDIR = REPO / "var" / "bench-load"
# Where PostgreSQL is administered from (CREATE DATABASE); the load databases are made on it.
POSTGRES_ADMIN = os.environ.get(
    "BENCH_LOAD_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# Another name when two runs share one server (two checkouts benchmarking at once).
PG_DATABASE = os.environ.get("BENCH_LOAD_PG_DATABASE", "bench_load")
PG_TEMPLATE = f"{PG_DATABASE}_template"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def to_unix(value: Any) -> float | None:
    """A timestamp column as Unix seconds: the gateway stores UTC (naive in SQLite)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return float(value.timestamp())


class Database:
    """One engine's fresh load database, its template, and plain-SQL reads of it."""

    def __init__(self, kind: str, workdir: Path = WORKDIR) -> None:
        if kind not in ("sqlite", "postgresql"):
            raise ValueError(kind)
        self.kind = kind
        self.workdir = workdir

    @property
    def label(self) -> str:
        return "SQLite" if self.kind == "sqlite" else "PostgreSQL"

    def _sqlite_path(self, name: str) -> Path:
        return self.workdir / f"{name}.db"

    def _pg_dsn(self, database: str) -> str:
        return POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + database

    def url(self, template: bool = False) -> str:
        """The SQLAlchemy URL the gateway is given (DATABASE_URL)."""
        name = PG_TEMPLATE if template else PG_DATABASE
        if self.kind == "sqlite":
            return f"sqlite:///{self._sqlite_path(name)}"
        return self._pg_dsn(name).replace("postgresql://", "postgresql+psycopg://", 1)

    def available(self) -> str | None:
        """None when usable, else why not."""
        if self.kind == "sqlite":
            return None
        try:
            import psycopg

            with psycopg.connect(POSTGRES_ADMIN, connect_timeout=5):
                return None
        except Exception as exc:  # any failure to connect means: skip PostgreSQL
            return f"PostgreSQL at {POSTGRES_ADMIN} unreachable ({type(exc).__name__})"

    def _admin(self, *statements: str) -> None:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def prepare_template(self, env: dict[str, str]) -> None:
        """Migrate and seed the template once per run, with the gateway's own commands."""
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self._sqlite_path(PG_TEMPLATE)}{suffix}").unlink(missing_ok=True)
        else:
            self._admin(
                f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)",
                f"DROP DATABASE IF EXISTS {PG_TEMPLATE} WITH (FORCE)",
                f"CREATE DATABASE {PG_TEMPLATE}",
            )
        env = {**env, "DATABASE_URL": self.url(template=True)}
        for command in (["migrate"], ["seed-demo"]):
            run_cli(command, env)

    def fresh(self) -> None:
        """A new load database, a copy of the template."""
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self._sqlite_path(PG_DATABASE)}{suffix}").unlink(missing_ok=True)
            for suffix in ("", "-wal"):
                source = Path(f"{self._sqlite_path(PG_TEMPLATE)}{suffix}")
                if source.exists():
                    shutil.copyfile(source, f"{self._sqlite_path(PG_DATABASE)}{suffix}")
        else:
            self._admin(
                f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)",
                f"CREATE DATABASE {PG_DATABASE} TEMPLATE {PG_TEMPLATE}",
            )

    def drop(self) -> None:
        if self.kind == "postgresql":
            self._admin(
                f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)",
                f"DROP DATABASE IF EXISTS {PG_TEMPLATE} WITH (FORCE)",
            )

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Read the load database (`?` placeholders on both engines)."""
        if self.kind == "sqlite":
            conn = sqlite3.connect(self._sqlite_path(PG_DATABASE), timeout=30)
            try:
                return conn.execute(sql, tuple(params)).fetchall()
            finally:
                conn.close()
        import psycopg

        with psycopg.connect(self._pg_dsn(PG_DATABASE), autocommit=True) as conn:
            return conn.execute(sql.replace("?", "%s"), tuple(params)).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None


def cli_path() -> str:
    """The `lapor-gateway` command of this Python's environment."""
    beside = Path(sys.executable).parent / "lapor-gateway"
    if beside.exists():
        return str(beside)
    found = shutil.which("lapor-gateway")
    if found is None:
        raise RuntimeError("the lapor-gateway command is not installed (make venv)")
    return found


def run_cli(args: list[str], env: dict[str, str]) -> None:
    WORKDIR.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(  # noqa: S603 - our own command
        [cli_path(), *args],
        env=env,
        cwd=WORKDIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"lapor-gateway {' '.join(args)} failed:\n{done.stderr[-2000:]}")


class Service:
    """A server process on 127.0.0.1: started, waited for on its health URL, measured, stopped."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], port: int) -> None:
        self.name, self.command, self.env, self.port = name, command, env, port
        self.base_url = f"http://127.0.0.1:{port}"
        self.log_path = WORKDIR / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(
        self, health: str = "/healthz", timeout: float = 60.0, ready_line: str | None = None
    ) -> None:
        """Start and wait until it answers `health` (a process without HTTP, a worker: until
        its log shows `ready_line`)."""
        WORKDIR.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own command
                self.command, env=self.env, cwd=WORKDIR, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start; see {self.log_path}")
            if ready_line is not None:
                if ready_line in self.log_path.read_text(errors="replace"):
                    return
                time.sleep(0.1)
                continue
            try:
                with urllib.request.urlopen(self.base_url + health, timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer {health} in {timeout:.0f} s")

    def pids(self) -> list[int]:
        """The process and its descendants (uvicorn's worker processes)."""
        return process_tree(self.pid)

    def cpu_seconds(self) -> float:
        """User + system CPU time so far of the process and its children (threads included)."""
        return sum(cpu_seconds(pid) for pid in self.pids())

    def rss_mib(self) -> float:
        """Resident memory of the largest of its processes."""
        return max((rss_mib(pid) for pid in self.pids()), default=0.0)

    def rss_total_mib(self) -> float:
        return sum(rss_mib(pid) for pid in self.pids())

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        children = self.pids()[1:]
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            # A backlog still being processed may hold the graceful shutdown; this process is
            # ours and its database is thrown away after the scenario.
            self.process.kill()
            self.process.wait(timeout=10)
        for pid in children:  # uvicorn's worker processes, should any outlive their parent
            with contextlib.suppress(OSError):
                # still that child (spawned by multiprocessing), not a reused process id
                if b"multiprocessing" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    os.kill(pid, signal.SIGKILL)


def _stat_fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # gone meanwhile
        return None


def process_tree(root: int) -> list[int]:
    """`root` and every process descended from it (read from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                parents[int(entry.name)] = int(fields[1])
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        tree += frontier
    return tree


def cpu_seconds(pid: int) -> float:
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Deployment:
    """The servers of one side of a scenario: the web service (first) and, for the gateway
    split into web and workers, the worker processes; measured together."""

    def __init__(self, web: Service, workers: list[Service] | None = None) -> None:
        self.web, self.workers = web, list(workers or [])

    @property
    def services(self) -> list[Service]:
        return [self.web, *self.workers]

    @property
    def base_url(self) -> str:
        return self.web.base_url

    @property
    def pid(self) -> int:
        return self.web.pid

    def start(self) -> None:
        self.web.start()
        try:
            for worker in self.workers:
                worker.start(ready_line="running")
        except Exception:
            self.stop()
            raise

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()

    def cpu_seconds(self) -> float:
        return sum(s.cpu_seconds() for s in self.services)

    def web_cpu_seconds(self) -> float:
        return self.web.cpu_seconds()

    def worker_cpu_seconds(self) -> float | None:
        return sum(w.cpu_seconds() for w in self.workers) if self.workers else None

    def rss_mib(self) -> float:
        """The largest process's resident memory."""
        return max(s.rss_mib() for s in self.services)

    def rss_total_mib(self) -> float:
        return sum(s.rss_total_mib() for s in self.services)


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def base_env() -> dict[str, str]:
    """This environment with the repository importable (the ceiling and fakes are in bench/)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env
