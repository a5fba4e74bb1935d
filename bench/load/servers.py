"""The processes and databases of a load run: the gateway, the ceiling, the fake providers.

The gateway is reached only as its users reach it: the `lapor-gateway` command (`migrate`,
`seed-demo`, `serve`), HTTP, and its database read with plain SQL (the table names are the
schema, not the code). Every scenario starts on a fresh copy of one migrated and seeded
template database, so no scenario inherits another's backlog:
SQLite copies a template file; PostgreSQL creates `bench_load_<n>` from `bench_load_template`
(a new name each time: DROP DATABASE forces a checkpoint of the whole cluster, which on a busy
shared server took minutes, so the run's databases are dropped together at its end).
"""

from __future__ import annotations

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
PG_DATABASE = "bench_load"  # SQLite's file name; PostgreSQL's databases are bench_load_<n>
PG_TEMPLATE = "bench_load_template"


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
        self.generation = 0  # PostgreSQL: which bench_load_<n> is the current one

    @property
    def label(self) -> str:
        return "SQLite" if self.kind == "sqlite" else "PostgreSQL"

    def _sqlite_path(self, name: str) -> Path:
        return self.workdir / f"{name}.db"

    def _pg_dsn(self, database: str) -> str:
        return POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + database

    @property
    def _pg_current(self) -> str:
        return f"{PG_DATABASE}_{self.generation}"

    def url(self, template: bool = False) -> str:
        """The SQLAlchemy URL the gateway is given (DATABASE_URL)."""
        if self.kind == "sqlite":
            return f"sqlite:///{self._sqlite_path(PG_TEMPLATE if template else PG_DATABASE)}"
        name = PG_TEMPLATE if template else self._pg_current
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
            self.drop()  # what an interrupted run left
            self._admin(f"CREATE DATABASE {PG_TEMPLATE}")
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
            self.generation += 1
            self._admin(f"CREATE DATABASE {self._pg_current} TEMPLATE {PG_TEMPLATE}")

    def drop(self) -> None:
        """PostgreSQL: drop every database of the load benchmark (the run's and leftovers)."""
        if self.kind != "postgresql":
            return
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
            names = [
                row[0]
                for row in conn.execute(
                    "SELECT datname FROM pg_database WHERE datname = %s OR datname = %s "
                    "OR datname ~ %s",
                    (PG_DATABASE, PG_TEMPLATE, f"^{PG_DATABASE}_[0-9]+$"),
                )
            ]
            for name in sorted(names, key=lambda n: n == PG_TEMPLATE):  # the template last
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Read the load database (`?` placeholders on both engines)."""
        if self.kind == "sqlite":
            conn = sqlite3.connect(self._sqlite_path(PG_DATABASE), timeout=30)
            try:
                return conn.execute(sql, tuple(params)).fetchall()
            finally:
                conn.close()
        import psycopg

        with psycopg.connect(self._pg_dsn(self._pg_current), autocommit=True) as conn:
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

    def start(self, health: str = "/healthz", timeout: float = 60.0) -> None:
        WORKDIR.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own command
                self.command, env=self.env, cwd=WORKDIR, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.base_url + health, timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer {health} in {timeout:.0f} s")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (its threads included)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            # A backlog still being processed may hold the graceful shutdown; this process is
            # ours and its database is thrown away after the scenario.
            self.process.kill()
            self.process.wait(timeout=10)


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def base_env() -> dict[str, str]:
    """This environment with the repository importable (the ceiling and fakes are in bench/)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env
