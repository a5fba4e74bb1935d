"""CPU per processed message, and where it goes: `intake.process` alone, without HTTP or sends.

The load benchmark's figures move with the machine's load; CPU time per message hardly does.
This stores a flood of Telegram updates the way the webhook does (`webhooks.receive`, no
processing), then processes them one by one as the inbound threads do (`intake.process`),
timing the process's CPU and, with `--profile`, naming the top costs (cProfile). The replies
are queued in the outbox, not sent: sending is measured by the load benchmark.

    python -m bench.load.process_cpu --engine sqlite --messages 1000 --profile

The database is a fresh one migrated and seeded with the gateway's own commands (SQLite in
var/bench-load, PostgreSQL `bench_load_cpu` on BENCH_LOAD_POSTGRES).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import time

from bench.load import servers, updates
from bench.load.servers import WORKDIR, Database, base_env

SECRET = "bench-process-cpu-secret"  # noqa: S105 - only for this local database


def build(kind: str) -> tuple[Database, dict[str, str]]:
    # Databases of its own, beside a load run's (bench_load_cpu and bench_load_cpu_template).
    servers.PG_DATABASE, servers.PG_TEMPLATE = "bench_load_cpu", "bench_load_cpu_template"
    db = Database(kind)
    env = {
        **base_env(),
        "APP_ENV": "development",
        "DATA_DIR": str(WORKDIR / "data"),
        "SECRET_KEY": "bench-process-cpu-key",
        "TELEGRAM_BOT_TOKEN": "900000001:bench-load-fake-telegram-token-0000",
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9",  # never called: nothing is sent
        "LOG_LEVEL": "WARNING",
    }
    db.prepare_template(env)
    db.fresh()
    env["DATABASE_URL"] = db.url()
    return db, env


def run(kind: str, messages: int, profile: bool, warm: int = 50) -> str:
    db, env = build(kind)
    os.environ.update(env)
    from channels.base import RawRequest
    from config.settings import load_settings
    from gateway.context import Gateway
    from gateway.intake import inbound, webhooks

    gateway = Gateway.create(load_settings())
    date = int(time.time())
    ids: list[int] = []
    headers = {k.lower(): v for k, v in updates.webhook_headers(SECRET).items()}
    ack_cpu = 0.0
    for n in range(warm + messages):
        body = updates.flood_update(updates.BLOCK, n, date)
        raw = RawRequest(body, headers, "http://127.0.0.1/webhooks/telegram")
        began = time.process_time()
        ids += [i for i, _ in webhooks.receive(gateway, "telegram", raw).new_rows]
        if n >= warm:
            ack_cpu += time.process_time() - began
    for inbound_id in ids[:warm]:  # imports, caches, the first reporters
        inbound.process(gateway, inbound_id)
    profiler = cProfile.Profile() if profile else None
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    for inbound_id in ids[warm:]:
        inbound.process(gateway, inbound_id)
    if profiler is not None:
        profiler.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    pending = db.scalar("SELECT COUNT(*) FROM inbound_message WHERE status = 'pending'")
    lines = [
        f"{db.label}: {messages} webhooks stored by receive() (the ack without HTTP), "
        f"{ack_cpu / messages * 1000:.2f} ms CPU/msg",
        f"{db.label}: {messages} messages processed, {cpu / messages * 1000:.2f} ms CPU/msg, "
        f"{wall / messages * 1000:.2f} ms wall/msg (load {os.getloadavg()[0]:.1f}; "
        f"{'with' if profiler else 'without'} cProfile); {pending} left pending",
    ]
    if profiler is not None:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(45)
        lines.append(out.getvalue())
    gateway.db.dispose()
    db.drop()
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    print(run(args.engine, args.messages, args.profile))


if __name__ == "__main__":
    main()
