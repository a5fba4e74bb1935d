"""The load scenarios of issue 12, each run against the gateway and against the ceiling.

Every scenario starts its server on a fresh database (a copy of the migrated, seeded template)
and stops it afterwards. The gateway is configured as a deployment with one Telegram bot
would be: its webhook secret, and its Bot API at the local fake (bench/load/fakes.py, a process
of its own), so every reply the bot sends really leaves over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import re
import secrets
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bench.load import fakes, profile, updates
from bench.load.client import CLOSED, Flow, Request, Result, closed_loop, open_loop
from bench.load.servers import (
    WORKDIR,
    Database,
    Deployment,
    Service,
    base_env,
    cli_path,
    free_port,
    python_module,
    to_unix,
)
from bench.load.stats import longest_gap, peak_rate, percentile
from bench.load.wrk import WrkResult, run_wrk

# Reporters of the conversation scenario get chat ids of their own, apart from the flood's.
CONVERSATION_CHAT_BASE = 710_000_000


@dataclass(frozen=True)
class Plan:
    """How long and how much: the full run, or the quick smoke run (`--quick`)."""

    quick: bool
    max_rate_seconds: float
    profile_seconds: float
    backlog: int
    fixed_rate: int
    fixed_seconds: float
    burst: int
    burst_wait: float  # the longest wait for the burst to be processed
    api_clients: int
    api_seconds: float
    api_timeout: float
    conversation_rate: int
    conversation_seconds: float
    conversation_wait: float
    rss_idle: float
    drain: float  # the longest wait for answers after a fixed-rate run

    @classmethod
    def make(cls, quick: bool) -> Plan:
        if quick:
            return cls(True, 3, 3, 100, 300, 2, 300, 20, 32, 3, 6, 100, 3, 8, 2, 8)
        return cls(False, 20, 10, 1500, 300, 15, 5000, 180, 32, 20, 45, 100, 30, 60, 15, 60)


@dataclass(frozen=True)
class Topology:
    """How the gateway is deployed for a run: `single` is `lapor-gateway serve` with its jobs
    (one process); `split` is `serve --no-jobs --workers N` with WEB_PROCESSES_INBOUND=false
    (the web only verifies, stores and acks) beside M `lapor-gateway worker` processes
    (processing and sending). The ceiling is served with the same number of web processes."""

    web_processes: int = 1
    worker_processes: int = 0

    @property
    def worker(self) -> bool:
        return self.worker_processes > 0

    @classmethod
    def parse(cls, text: str) -> Topology:
        """`single`, `split` (one web process, one worker), `splitN` (N web processes, one
        worker) or `splitNwM` (N web processes, M workers)."""
        if text in ("", "single"):
            return cls()
        found = re.fullmatch(r"split(\d*)(?:w(\d+))?", text)
        if found:
            return cls(int(found.group(1) or 1), int(found.group(2) or 1))
        raise ValueError(f"unknown topology {text!r} (single, split, split2, split2w2, ...)")

    @property
    def name(self) -> str:
        if not self.worker:
            return "single"
        workers = f"w{self.worker_processes}" if self.worker_processes > 1 else ""
        return f"split{self.web_processes}{workers}"

    def describe(self) -> str:
        if not self.worker:
            return "one `serve` process with its jobs"
        web = "1 web process" if self.web_processes == 1 else f"{self.web_processes} web processes"
        count = self.worker_processes
        return f"{web} + {count} worker{'s' if count > 1 else ''}"


@dataclass
class EngineResult:
    db: Database
    topology: Topology = field(default_factory=Topology)
    scenarios: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    profile: profile.Profile | None = None
    notes: list[str] = field(default_factory=list)


def latencies(results: list[Result]) -> list[float]:
    """Latency of every request, `inf` for one never answered (so it counts as slowest)."""
    return [r.latency if r.latency is not None else math.inf for r in results]


def status_counts(results: list[Result]) -> dict[str, int]:
    return {
        "sent": len(results),
        "ok": sum(r.ok for r in results),
        "5xx": sum(1 for r in results if r.status is not None and r.status >= 500),
        "other": sum(1 for r in results if r.status is not None and not r.ok and r.status < 500),
        "unanswered": sum(1 for r in results if r.status is None),
        # of those, the ones whose connection the server closed (e.g. after an exception)
        "closed": sum(1 for r in results if r.status is None and r.error == CLOSED),
    }


class LoadRun:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.secret = secrets.token_urlsafe(24)
        self.ids = updates.IdBlocks()
        self.fakes: Service | None = None
        self.date = int(time.time())
        self.topology = Topology()  # set per engine by the run

    # --- the servers -------------------------------------------------------------------------

    def gateway_env(self, url: str) -> dict[str, str]:
        assert self.fakes is not None
        return {
            **base_env(),
            "APP_ENV": "development",
            "DATABASE_URL": url,
            "DATA_DIR": str(WORKDIR / "data"),
            "SECRET_KEY": self.secret + "-key",
            "TELEGRAM_BOT_TOKEN": fakes.BOT_TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": self.secret,
            "TELEGRAM_API_BASE_URL": self.fakes.base_url,
            # As the ceiling (which logs nothing per request): behind a proxy that logs them.
            "ACCESS_LOG": "false",
        }

    def start_fakes(self) -> None:
        port = free_port()
        self.fakes = Service(
            "fakes", python_module("bench.load.fakes", "--port", str(port)), base_env(), port
        )
        self.fakes.start(health="/_bench/sends")

    def prepare(self, db: Database) -> None:
        db.prepare_template(self.gateway_env(db.url()))

    @contextlib.contextmanager
    def serving(self, side: str, db: Database, scenario: str) -> Iterator[Deployment]:
        db.fresh()
        port = free_port()
        topology = self.topology
        name = f"{side}-{db.kind}-{topology.name}-{scenario}"  # its log's name
        workers: list[Service] = []
        if side == "gateway":
            command = [cli_path(), "serve", "--host", "127.0.0.1", "--port", str(port)]
            env = self.gateway_env(db.url())
            if scenario == "api":
                # The 32 clients all come from 127.0.0.1: the JSON API's per-address limit
                # (RATE_LIMIT_API, 60/minute) would answer 429 to nearly all of them.
                env["RATE_LIMIT_ENABLED"] = "false"
            if topology.worker:
                command += ["--no-jobs", "--workers", str(topology.web_processes)]
                env["WEB_PROCESSES_INBOUND"] = "false"
                # The worker's inbound threads mostly wait for the database (a dozen round
                # trips per message), so more of them than cores keep its CPU busy.
                worker_env = {
                    **env,
                    "INBOUND_THREADS": os.environ.get("BENCH_LOAD_INBOUND_THREADS", "6"),
                }
                workers = [
                    Service(f"{name}-worker{n}", [cli_path(), "worker"], worker_env, 0)
                    for n in range(topology.worker_processes)
                ]
        else:
            command = python_module("bench.load.ceiling", "--database-url", db.url())
            command += ["--port", str(port), "--workers", str(topology.web_processes)]
            env = {**base_env(), "BENCH_SECRET": self.secret}
        deployment = Deployment(Service(name, command, env, port), workers)
        deployment.start()
        try:
            self.warm_up(deployment, db, side)
            yield deployment
        finally:
            deployment.stop()

    def warm_up(self, service: Deployment, db: Database, side: str) -> None:
        """A few requests first (lazy imports, caches, pool), processed before measuring."""
        self.send_burst(service, 40, connections=4)
        if side == "gateway":
            self.wait_processed(db, timeout=30)

    # --- load ------------------------------------------------------------------------------

    def update_request(self, block: int, n: int) -> Request:
        body = updates.flood_update(block, n, self.date)
        return Request(
            updates.WEBHOOK_PATH, body, updates.webhook_headers(self.secret), tag=str(block + n)
        )

    def send_burst(
        self, service: Deployment, count: int, connections: int = 32, drain: float | None = None
    ) -> tuple[list[Result], float]:
        """`count` updates due at once over `connections` connections."""
        block = self.ids.take()
        flows = [Flow(0.0, [(0.0, self.update_request(block, n))]) for n in range(count)]
        drain = self.plan.drain if drain is None else drain
        return asyncio.run(open_loop(service.base_url, flows, connections=connections, drain=drain))

    def send_at_rate(
        self, service: Deployment, rate: int, seconds: float
    ) -> tuple[list[Result], float]:
        block = self.ids.take()
        flows = [
            Flow(n / rate, [(0.0, self.update_request(block, n))])
            for n in range(int(rate * seconds))
        ]
        return asyncio.run(
            open_loop(service.base_url, flows, connections=64, drain=self.plan.drain)
        )

    def wrk(self, service: Deployment, seconds: float) -> WrkResult:
        return run_wrk(
            service.base_url,
            secret=self.secret,
            first_block=self.ids.take(2),  # one block per wrk thread
            date=self.date,
            seconds=seconds,
        )

    # --- the gateway's database, read from outside -------------------------------------------

    @staticmethod
    def inbound_statuses(db: Database) -> dict[str, int]:
        rows = db.query(
            "SELECT status, COUNT(*) FROM inbound_message WHERE channel = 'telegram' "
            "GROUP BY status"
        )
        return {str(status): int(count) for status, count in rows}

    def pending(self, db: Database, side: str) -> int:
        """Messages stored but not processed yet (the ceiling processes nothing)."""
        return self.inbound_statuses(db).get("pending", 0) if side == "gateway" else 0

    def wait_processed(self, db: Database, timeout: float, expect: int = 0) -> float | None:
        """Seconds until no Telegram message is pending (and at least `expect` are stored)."""
        start = time.time()
        while time.time() - start < timeout:
            statuses = self.inbound_statuses(db)
            if statuses.get("pending", 0) == 0 and sum(statuses.values()) >= expect:
                return time.time() - start
            time.sleep(0.25)
        return None

    @staticmethod
    def wait_outbox(db: Database, timeout: float) -> float | None:
        """Seconds until no Telegram reply waits in the outbox."""
        start = time.time()
        while time.time() - start < timeout:
            waiting = db.scalar(
                "SELECT COUNT(*) FROM outbox_item WHERE channel = 'telegram' "
                "AND status IN ('pending', 'in_flight')"
            )
            if not waiting:
                return time.time() - start
            time.sleep(0.25)
        return None

    @staticmethod
    def stored_ids(db: Database, side: str) -> set[str]:
        if side == "gateway":
            sql = "SELECT external_id FROM inbound_message WHERE channel = 'telegram'"
        else:
            sql = "SELECT external_id FROM bench_ceiling_message WHERE channel = 'telegram'"
        return {str(row[0]) for row in db.query(sql)}

    # --- scenarios -------------------------------------------------------------------------

    def max_rate(self, db: Database, result: EngineResult) -> None:
        """wrk, 32 connections: answered per second, CPU per answer, and nothing lost."""
        for side in ("gateway", "ceiling"):
            with self.serving(side, db, "max_rate") as service:
                before = len(self.stored_ids(db, side))
                cpu, web_cpu = service.cpu_seconds(), service.web_cpu_seconds()
                run = self.wrk(service, self.plan.max_rate_seconds)
                cpu = service.cpu_seconds() - cpu
                web_cpu = service.web_cpu_seconds() - web_cpu
                stored = len(self.stored_ids(db, side)) - before
                values = {
                    "rate": run.rate,
                    "ok": run.ok,
                    "non_2xx": run.non_2xx,
                    "errors": run.socket_errors + run.timeouts,
                    "p99": run.p99,
                    # every process of the side (web and worker), and the web processes alone
                    "cpu_ms": cpu / run.ok * 1000 if run.ok else None,
                    "web_cpu_ms": web_cpu / run.ok * 1000 if run.ok else None,
                    "split": bool(service.workers),
                    "load": os.getloadavg()[0],
                    # wrk does not count requests still in flight when it stops, so a few more
                    # rows than answers is normal; fewer would be a loss.
                    "lost": max(0, run.ok - stored),
                }
                if side == "gateway" and self.plan.profile_seconds:
                    result.profile = self.profile_under_load(service, db, result)
                result.scenarios.setdefault("max_rate", {})[side] = values

    def profile_under_load(
        self, service: Deployment, db: Database, result: EngineResult
    ) -> profile.Profile | None:
        """py-spy on the gateway during a second wrk run of the same length."""
        output = WORKDIR / f"profile-{db.kind}.txt"
        output.unlink(missing_ok=True)
        seconds = self.plan.profile_seconds
        load = threading.Thread(target=self.wrk, args=(service, seconds + 2), daemon=True)
        load.start()
        time.sleep(1)  # sample the steady state, not wrk's connecting
        problem = profile.record(service.pid, seconds, output)
        load.join(timeout=seconds + 60)
        if problem is not None:
            result.notes.append(f"No profile on {db.label}: {problem}")
            return None
        return profile.summarise(output.read_text(encoding="utf-8"))

    def fixed_rate(self, db: Database, result: EngineResult) -> None:
        """A backlog first (a burst), then 300 msg/s open loop: latency from the schedule."""
        for side in ("gateway", "ceiling"):
            with self.serving(side, db, "fixed_rate") as service:
                self.send_burst(service, self.plan.backlog)
                pending_before = self.pending(db, side)
                results, _ = self.send_at_rate(
                    service, self.plan.fixed_rate, self.plan.fixed_seconds
                )
                pending_after = self.pending(db, side)
                values = {
                    **status_counts(results),
                    "p50": percentile(latencies(results), 50),
                    "p99": percentile(latencies(results), 99),
                    "p999": percentile(latencies(results), 99.9),
                    "pending_before": pending_before,
                    "pending_after": pending_after,
                }
                result.scenarios.setdefault("fixed_rate", {})[side] = values

    def burst(self, db: Database, result: EngineResult) -> None:
        """5,000 at once: all acked, all processed, replies sent, RSS after."""
        for side in ("gateway", "ceiling"):
            with self.serving(side, db, "burst") as service:
                before = self.stored_ids(db, side)
                cpu_start = service.cpu_seconds()
                worker_start = service.worker_cpu_seconds()
                results, t0 = self.send_burst(service, self.plan.burst, drain=self.plan.burst_wait)
                counts = status_counts(results)
                answered = [r.done for r in results if r.done is not None]
                values: dict[str, Any] = {
                    **counts,
                    "acked_s": max(answered) - t0 if counts["ok"] == len(results) else None,
                    "last_answer_s": max(answered) - t0 if answered else None,
                }
                if side == "gateway":
                    expect = len(before) + counts["ok"]
                    remaining = self.plan.burst_wait - (time.time() - t0)
                    processed = self.wait_processed(db, remaining, expect=expect)
                    values["processed_s"] = None if processed is None else time.time() - t0
                    values["statuses"] = self.inbound_statuses(db)
                    # CPU per message from the first ack to the last processed: the acks,
                    # processing and the replies queued so far; the worker's share alone
                    # (processing and sending) when the gateway is split.
                    done = max(1, counts["ok"])
                    values["cpu_ms"] = (service.cpu_seconds() - cpu_start) / done * 1000
                    worker_now = service.worker_cpu_seconds()
                    if worker_now is not None and worker_start is not None:
                        values["worker_cpu_ms"] = (worker_now - worker_start) / done * 1000
                    values["load"] = os.getloadavg()[0]
                    drained = self.wait_outbox(db, self.plan.burst_wait - (time.time() - t0))
                    values["outbox_drained_s"] = None if drained is None else time.time() - t0
                    values.update(self.outbox_figures(db, t0))
                    values["rss_after"] = service.rss_mib()
                    time.sleep(self.plan.rss_idle)
                    values["rss_later"] = service.rss_mib()
                stored = self.stored_ids(db, side) - before
                acked = {r.request.tag for r in results if r.ok}
                values["lost"] = len(acked - stored)
                result.scenarios.setdefault("burst", {})[side] = values

    def fake_sends(self) -> list[float]:
        assert self.fakes is not None
        with urllib.request.urlopen(self.fakes.base_url + "/_bench/sends", timeout=10) as answer:  # noqa: S310
            return [float(t) for t in json.load(answer)["times"]]

    def outbox_figures(self, db: Database, t0: float) -> dict[str, Any]:
        """The replies the burst caused, as the fake received them and as the outbox has them."""
        sends = [t for t in self.fake_sends() if t >= t0]
        rows = db.query(
            "SELECT id, recipient, status, attempts, created_at, sent_at, provider_message_id "
            "FROM outbox_item WHERE channel = 'telegram'"
        )
        rows = [r for r in rows if (to_unix(r[4]) or 0) >= t0]
        waits = []
        for _, _, status, attempts, created, sent, _ in rows:
            if status == "sent" and attempts == 1:
                waits.append((to_unix(sent) or 0) - (to_unix(created) or 0))
            elif status in ("pending", "in_flight"):
                waits.append(math.inf)  # not tried yet: slower than any that was
        by_reporter: dict[str, list[tuple[int, int]]] = {}
        for row_id, recipient, status, _, _, _, provider_id in rows:
            if status == "sent" and provider_id and ":" in str(provider_id):
                message_id = int(str(provider_id).rsplit(":", 1)[1])
                by_reporter.setdefault(str(recipient), []).append((int(row_id), message_id))
        out_of_order = sum(
            1
            for sent in by_reporter.values()
            if [m for _, m in sorted(sent)] != sorted(m for _, m in sent)
        )
        return {
            "sends": len(sends),
            "send_peak": peak_rate(sends, 1.0),
            "send_mean": (len(sends) / (max(sends) - min(sends))) if len(sends) > 1 else None,
            "outbox_rows": len(rows),
            "outbox_waiting": sum(1 for r in rows if r[2] in ("pending", "in_flight")),
            "first_attempt_p95": percentile(waits, 95),
            "reporters": len(by_reporter),
            "out_of_order": out_of_order,
        }

    def api(self, db: Database, result: EngineResult) -> None:
        """POST /api/v1/complaints from 32 clients back to back."""
        for side in ("gateway", "ceiling"):
            with self.serving(side, db, "api") as service:

                def make(n: int) -> Request:
                    return Request(
                        updates.API_PATH,
                        updates.complaint_body(n),
                        updates.complaint_headers(),
                        tag=str(n),
                    )

                results = asyncio.run(
                    closed_loop(
                        service.base_url,
                        make,
                        clients=self.plan.api_clients,
                        seconds=self.plan.api_seconds,
                        timeout=self.plan.api_timeout,
                    )
                )
                counts = status_counts(results)
                done = [r.done for r in results if r.done is not None]
                start = min(r.scheduled for r in results)
                end = max(done) if done else start
                ended = time.time()  # a request still in flight now waited until now
                spans = [(r.sent or r.scheduled, r.done or r.failed or ended) for r in results]
                values = {
                    **counts,
                    "rate": counts["ok"] / (end - start) if end > start else None,
                    "p99": percentile(latencies(results), 99),
                    "max": max(latencies(results), default=None),
                    "stall": longest_gap(spans),
                    "over_1s": sum(1 for x in latencies(results) if x > 1.0),
                }
                result.scenarios.setdefault("api", {})[side] = values

    def conversations(self, db: Database, result: EngineResult) -> None:
        """Reporters writing text, "ya", "kirim" at 100 msg/s in all: time to the complaint."""
        plan = self.plan
        block = self.ids.take()
        gap = 2.0  # seconds between one reporter's messages: a person answering the bot
        reporters = int(plan.conversation_rate * plan.conversation_seconds / 3)
        flows = []
        for r in range(reporters):
            chat = CONVERSATION_CHAT_BASE + block // updates.BLOCK * 100_000 + r
            steps = []
            for i, text in enumerate((updates.text_for(r), "ya", "kirim")):
                update_id = block + 3 * r + i
                body = updates.update_body(update_id, chat_id=chat, text=text, date=self.date)
                request = Request(
                    updates.WEBHOOK_PATH,
                    body,
                    updates.webhook_headers(self.secret),
                    tag=str(update_id),
                )
                steps.append((i * gap, request))
            flows.append(Flow(r * 3 / plan.conversation_rate, steps))
        with self.serving("gateway", db, "conversations") as service:
            results, t0 = asyncio.run(open_loop(service.base_url, flows, drain=plan.drain))
            kirim = {r.request.tag: r for r in results if r.ok and int(r.request.tag) % 3 == 2}
            made: dict[str, float] = {}
            deadline = time.time() + plan.conversation_wait
            while time.time() < deadline:
                rows = db.query(
                    "SELECT i.external_id, c.created_at FROM inbound_message i "
                    "JOIN complaint c ON c.id = i.complaint_id WHERE i.channel = 'telegram'"
                )
                made = {
                    str(ext): to_unix(created) or 0.0 for ext, created in rows if str(ext) in kirim
                }
                if len(made) >= len(kirim):
                    break
                time.sleep(0.5)
            waits = [made[tag] - (kirim[tag].sent or 0.0) for tag in made]
            waits += [math.inf] * (len(kirim) - len(made))
            result.scenarios["conversations"] = {
                "gateway": {
                    "wait": plan.conversation_wait,
                    "drain": plan.drain,
                    **status_counts(results),
                    "reporters": reporters,
                    "kirim_acked": len(kirim),
                    "complaints": len(made),
                    "p50": percentile(waits, 50),
                    "p95": percentile(waits, 95),
                    "ack_p99": percentile(latencies(results), 99),
                    "seconds": time.time() - t0,
                }
            }
