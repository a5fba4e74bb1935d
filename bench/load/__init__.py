"""Load benchmark of issue 12: the gateway under a flood, next to a bare one-INSERT ceiling.

`python -m bench load` (or `make bench-load`) runs it and writes its section of
docs/PERFORMANCE.md; see bench/load/README.md for what each scenario does. Engines:
SQLite and PostgreSQL in a full run, SQLite alone with `--quick` (a smoke run under two
minutes); BENCH_LOAD_ENGINES=sqlite,postgresql chooses.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from collections.abc import Callable

from bench.load import profile, report, section
from bench.load.scenarios import EngineResult, LoadRun, Plan, Topology
from bench.load.servers import Database

SECTION = "load"
TITLE = "Load: the gateway under a flood, next to a bare one-INSERT ceiling (issue 12)"


# The deployment each engine is measured in by default: on PostgreSQL web processes that only
# ack beside a worker that processes and sends (issue 12's "How"); on SQLite one process, the
# best single-machine setup measured (docs/PERFORMANCE.md, issue 12).
DEFAULT_TOPOLOGY = {"sqlite": "single", "postgresql": "split2"}


def engines(quick: bool) -> list[tuple[str, Topology]]:
    """(engine, topology) pairs: BENCH_LOAD_ENGINES="postgresql:split2,postgresql:single"."""
    chosen = os.environ.get("BENCH_LOAD_ENGINES")
    names = (
        [e.strip() for e in chosen.split(",") if e.strip()]
        if chosen
        else (["sqlite"] if quick else ["sqlite", "postgresql"])
    )
    pairs = []
    for name in names:
        kind, _, topology = name.partition(":")
        pairs.append((kind, Topology.parse(topology or DEFAULT_TOPOLOGY.get(kind, "single"))))
    return pairs


def run(quick: bool) -> str:
    plan = Plan.make(quick)
    load = LoadRun(plan)
    started, load_before = time.time(), os.getloadavg()[0]
    results: list[EngineResult] = []
    skipped: list[str] = []
    # `kill` of the benchmark still stops the servers it started (the finally blocks run).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    load.start_fakes()
    try:
        prepared: set[str] = set()
        pairs = engines(quick)
        for index, (kind, topology) in enumerate(pairs):
            db = Database(kind)
            why_not = db.available()
            if why_not is not None:
                skipped.append(why_not)
                continue
            result = EngineResult(db, topology)
            results.append(result)
            load.topology = topology
            began = time.time()
            if kind not in prepared:  # one template per engine, however many topologies
                load.prepare(db)
                prepared.add(kind)
            print(
                f"  {db.label}: template database in {time.time() - began:.0f} s", file=sys.stderr
            )
            scenarios: list[tuple[str, Callable[[Database, EngineResult], None]]] = [
                ("max rate", load.max_rate),
                ("fixed rate", load.fixed_rate),
                ("burst", load.burst),
                ("JSON API", load.api),
                ("conversations", load.conversations),
            ]
            only = os.environ.get("BENCH_LOAD_SCENARIOS")  # e.g. "burst,api" while debugging
            if only:
                wanted = {w.strip() for w in only.split(",")}
                scenarios = [(n, f) for n, f in scenarios if f.__name__ in wanted]
            try:
                for name, scenario in scenarios:
                    print(f"  {db.label}: {name} ...", file=sys.stderr, flush=True)
                    began = time.time()
                    try:
                        scenario(db, result)
                    except Exception as exc:  # one broken scenario must not lose the others
                        traceback.print_exc()
                        result.notes.append(f"{name} on {db.label} failed: {exc!r}"[:300])
                    print(f"    {time.time() - began:.0f} s", file=sys.stderr, flush=True)
            finally:
                if all(k != kind for k, _ in pairs[index + 1 :]):  # its last topology
                    db.drop()
    finally:
        if load.fakes is not None:
            load.fakes.stop()
    loads = (load_before, os.getloadavg()[0])
    return render(plan, results, skipped, time.time() - started, loads)


def figures(plan: Plan, result: EngineResult) -> list[report.Figure]:
    label, s = f"{result.db.label}; {result.topology.describe()}", result.scenarios
    rows: list[report.Figure] = []
    if "max_rate" in s:
        rows.append(section.max_rate(label, s["max_rate"]["gateway"], s["max_rate"]["ceiling"]))
    if "fixed_rate" in s:
        f = s["fixed_rate"]
        rows.append(
            section.fixed_rate(label, plan.fixed_rate, f["gateway"], f["ceiling"], plan.drain)
        )
    if "burst" in s:
        b = s["burst"]
        rows += section.burst(label, plan.burst, plan.burst_wait, b["gateway"], b["ceiling"])
    if "api" in s:
        a = s["api"]
        rows.append(
            section.api(label, plan.api_clients, a["gateway"], a["ceiling"], plan.api_timeout)
        )
    if "burst" in s:
        rows += section.outbox(label, plan.burst, s["burst"]["gateway"])
    if "conversations" in s:
        rows.append(
            section.conversations(label, plan.conversation_rate, s["conversations"]["gateway"])
        )
    if "burst" in s:
        rows.append(section.rss(label, plan.burst, plan.rss_idle, s["burst"]["gateway"]))
    return rows


def render(
    plan: Plan,
    results: list[EngineResult],
    skipped: list[str],
    seconds: float,
    loads: tuple[float, float],
) -> str:
    rows = [row for result in results for row in figures(plan, result)]
    met = sum(1 for r in rows if r.met is True)
    judged = sum(1 for r in rows if r.met is not None)
    parts = [
        f"{'Quick smoke run (smaller sizes; not the issue targets)' if plan.quick else 'Full run'}"
        f", {seconds / 60:.1f} min. Gateway: `lapor-gateway serve` (one process with its jobs) or"
        " `serve --no-jobs --workers N` with WEB_PROCESSES_INBOUND=false beside `lapor-gateway"
        " worker`, as each row says, on a fresh copy of a migrated, seeded database per scenario,"
        " Telegram webhook secret set, ACCESS_LOG=false, replies sent to a local fake Telegram Bot"
        " API in its own process. Ceiling: `bench/load/ceiling.py`, a bare FastAPI route checking"
        " the secret and doing one raw INSERT per request, served by the same `uvicorn.run(...)`"
        " call with the same number of web processes. Load: Debian's `wrk` for the maximum rate"
        " (distinct signed updates, 2 threads, 32 connections), an open-loop Python client for"
        " fixed rates (latency from the scheduled send time). Load generator and servers share"
        f" the machine's {os.cpu_count()} cores; load average (1 min) before and after:"
        f" {loads[0]:.1f} and {loads[1]:.1f} — above the core count other work competed for"
        " the CPU, and the ceiling, measured in the same run, shows by how much.",
        "",
        f"Targets met: **{met} of {judged}** judged rows.",
        "",
        report.table(rows),
        "",
        "Scenario sizes: "
        f"max rate {plan.max_rate_seconds:.0f} s; fixed rate after a backlog burst of "
        f"{plan.backlog:,}, {plan.fixed_rate} msg/s for {plan.fixed_seconds:.0f} s (answers"
        f" awaited {plan.drain:.0f} s); burst of {plan.burst:,} at 32 connections (processing"
        f" awaited {plan.burst_wait:.0f} s); JSON API {plan.api_clients} clients for "
        f"{plan.api_seconds:.0f} s (a request waited for up to {plan.api_timeout:.0f} s);"
        f" conversations of 3 messages (text, `ya`, `kirim`, 2 s apart) at "
        f"{plan.conversation_rate} msg/s for {plan.conversation_seconds:.0f} s. Provider rate"
        " limits: not measured (the fake sets none).",
    ]
    profiled = [r for r in results if r.profile is not None]
    if profiled:
        parts += ["", "### Top costs of the gateway under maximum-rate load"]
    for result in profiled:
        assert result.profile is not None
        label = f"{result.db.label}: py-spy, {plan.profile_seconds:.0f} s during wrk"
        parts += ["", profile.markdown(result.profile, label)]
    notes = skipped + [n for r in results for n in r.notes]
    if notes:
        parts += ["", "Notes:", ""] + [f"- {n}" for n in notes]
    return "\n".join(parts)
