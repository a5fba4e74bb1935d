"""From the scenarios' measurements to the rows of the table (pure: dictionaries in, rows out).

Each row compares one figure with the issue's target; the verdict is computed from the numbers,
never written by hand. Figures that depend on a size (the burst) name the size they were
measured with, so a `--quick` run cannot pass for a full one.
"""

from __future__ import annotations

import math
from typing import Any

from bench.load.report import Figure, all_met
from bench.load.stats import fmt_ms, fmt_rate

Values = dict[str, Any]


def _lat(value: float | None, unanswered_after: float | None = None) -> str:
    if value is not None and math.isinf(value):
        return "unanswered" if unanswered_after is None else f"> {unanswered_after:.0f} s"
    return fmt_ms(value)


def _unanswered(v: Values) -> str:
    closed = v.get("closed", 0)
    dropped = f" ({closed} dropped by the server)" if closed else ""
    return f"{v['unanswered']:,} unanswered{dropped}"


def _le(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def max_rate(label: str, gw: Values, ceiling: Values) -> Figure:
    def cell(v: Values) -> str:
        extra = f"; {v['non_2xx']} non-2xx" if v["non_2xx"] else ""
        extra += f"; {v['errors']} socket errors/timeouts" if v["errors"] else ""
        extra += f"; {v['lost']} lost" if v["lost"] else ""
        cpu = f"{v['cpu_ms']:.2f} ms CPU/msg" if v["cpu_ms"] is not None else "no CPU figure"
        if v.get("split") and v.get("web_cpu_ms") is not None:
            cpu += f" in all, {v['web_cpu_ms']:.2f} ms in the web processes"
        load = f", load {v['load']:.1f}" if v.get("load") is not None else ""
        return f"{fmt_rate(v['rate'], ' msg/s')} ({cpu}, p99 {fmt_ms(v['p99'])}{extra}{load})"

    ratio = gw["rate"] / ceiling["rate"] if ceiling["rate"] else 0.0
    return Figure(
        f"webhook → durable inbound row, max rate, wrk 32 connections ({label})",
        "≥ 0.5× ceiling",
        f"{cell(gw)} = {ratio:.2f}× ceiling",
        cell(ceiling),
        all_met(ratio >= 0.5, gw["lost"] == 0, gw["non_2xx"] == 0),
    )


def fixed_rate(label: str, rate: int, gw: Values, ceiling: Values, drain: float) -> Figure:
    def cell(v: Values, backlog: bool) -> str:
        text = (
            f"p50 {_lat(v['p50'], drain)}, p99 {_lat(v['p99'], drain)}, "
            f"p99.9 {_lat(v['p999'], drain)}"
        )
        if v["unanswered"] or v["5xx"]:
            text += f"; {_unanswered(v)}, {v['5xx']} 5xx of {v['sent']:,}"
        if backlog:
            text += f" (backlog {v['pending_before']:,} pending → {v['pending_after']:,} after)"
        return text

    return Figure(
        f"ack latency at a fixed {rate} msg/s while a backlog is processed ({label})",
        "p99 ≤ 15 ms, p99.9 ≤ 100 ms",
        cell(gw, True),
        cell(ceiling, False),
        all_met(_le(gw["p99"], 0.015), _le(gw["p999"], 0.100), gw["pending_before"] > 0 or None),
    )


def burst(label: str, size: int, wait: float, gw: Values, ceiling: Values) -> list[Figure]:
    def acked(v: Values) -> str:
        if v["acked_s"] is not None:
            return f"{v['acked_s']:.1f} s"
        return (
            f"not all: {v['ok']:,} of {v['sent']:,} acked "
            f"(last answer after {v['last_answer_s'] or 0:.1f} s)"
        )

    def failures(v: Values) -> str:
        return f"{v['5xx']} 5xx, {_unanswered(v)}, {v['lost']} lost"

    statuses = ", ".join(f"{n:,} {s}" for s, n in sorted(gw["statuses"].items()))
    processed = (
        f"{gw['processed_s']:.1f} s"
        if gw["processed_s"] is not None
        else f"not within {wait:.0f} s ({statuses})"
    )
    if gw.get("cpu_ms") is not None:
        processed += f"; {gw['cpu_ms']:.2f} ms CPU/msg in all"
        if gw.get("worker_cpu_ms") is not None:
            processed += f", {gw['worker_cpu_ms']:.2f} ms in the worker"
    if gw.get("load") is not None:
        processed += f"; load {gw['load']:.1f}"
    # Not all acked is a miss; not all processed is one when we waited past the target.
    acked_met = False if gw["acked_s"] is None else gw["acked_s"] <= 5.0
    if gw["processed_s"] is not None:
        processed_met: bool | None = gw["processed_s"] <= 30.0
    else:
        processed_met = False if wait >= 30 else None
    return [
        Figure(
            f"burst of {size:,}: all acked ({label})",
            "≤ 5 s",
            acked(gw),
            acked(ceiling),
            all_met(acked_met, size >= 5000 or None),
        ),
        Figure(
            f"burst of {size:,}: all processed ({label})",
            "≤ 30 s",
            processed,
            "— (stores only)",
            all_met(processed_met, size >= 5000 or None),
        ),
        Figure(
            f"burst of {size:,}: 5xx, unanswered, lost ({label})",
            "0 5xx, 0 lost",
            failures(gw),
            failures(ceiling),
            gw["5xx"] == 0 and gw["lost"] == 0 and gw["unanswered"] == 0,
        ),
    ]


def api(label: str, clients: int, gw: Values, ceiling: Values, timeout: float) -> Figure:
    def cell(v: Values) -> str:
        text = (
            f"{fmt_rate(v['rate'], ' complaints/s')}, p99 {_lat(v['p99'], timeout)}, "
            f"longest stall {fmt_ms(v['stall'])}"
        )
        if v["5xx"] or v["unanswered"]:
            text += f"; {v['5xx']} 5xx, {_unanswered(v)} of {v['sent']:,}"
        if v.get("other"):
            text += f"; {v['other']:,} other non-2xx answers (e.g. 429) of {v['sent']:,}"
        if v["over_1s"]:
            text += f"; {v['over_1s']} took > 1 s"
        return text

    return Figure(
        f"JSON API POST /api/v1/complaints, {clients} clients ({label})",
        "no stall; ≥ 300/s; p99 ≤ 100 ms",
        cell(gw),
        cell(ceiling),
        all_met(
            gw["rate"] is not None and gw["rate"] >= 300,
            _le(gw["p99"], 0.100),
            gw["stall"] < 1.0 and gw["5xx"] == 0 and gw["unanswered"] == 0,
        ),
    )


def outbox(label: str, size: int, gw: Values) -> list[Figure]:
    drained = gw.get("outbox_drained_s")
    drain_text = f"; outbox empty after {drained:.0f} s" if drained is not None else ""
    waiting = f"; {gw['outbox_waiting']:,} still waiting" if gw["outbox_waiting"] else ""
    return [
        Figure(
            f"outbox sends to the fake Telegram after the burst of {size:,} ({label})",
            "≥ 500 sends/s",
            f"peak {fmt_rate(gw['send_peak'], '/s')} (1-s window), "
            f"mean {fmt_rate(gw['send_mean'], '/s')}; {gw['sends']:,} sent{drain_text}{waiting}",
            "—",
            gw["send_peak"] >= 500,
        ),
        Figure(
            f"outbox enqueue → first attempt, p95, during ingest ({label})",
            "≤ 200 ms",
            _lat(gw["first_attempt_p95"]).replace("unanswered", "some never tried"),
            "—",
            _le(gw["first_attempt_p95"], 0.200),
        ),
        Figure(
            f"replies to one reporter in order ({label})",
            "all in order",
            f"{gw['out_of_order']} of {gw['reporters']:,} reporters out of order",
            "—",
            gw["out_of_order"] == 0 if gw["reporters"] else None,
        ),
    ]


def conversations(label: str, rate: int, gw: Values) -> Figure:
    def made(value: float | None) -> str:
        # inf: an acknowledged `kirim` whose complaint did not appear while we watched
        return "no complaint yet" if value is not None and math.isinf(value) else fmt_ms(value)

    text = f"p95 {made(gw['p95'])}, p50 {made(gw['p50'])}; {gw['complaints']:,} of "
    text += f"{gw['reporters']:,} complaints made"
    if gw["kirim_acked"] < gw["reporters"]:
        missing = gw["reporters"] - gw["kirim_acked"]
        text += f" ({missing:,} reporters' `kirim` never acknowledged)"
    text += f"; ack p99 {_lat(gw['ack_p99'], gw['drain'])}"
    return Figure(
        f"inbound → complaint in the inbox at {rate} msg/s ({label})",
        "p95 ≤ 1 s",
        text,
        "—",
        _le(gw["p95"], 1.0),
    )


def rss(label: str, size: int, idle: float, gw: Values) -> Figure:
    growth = gw["rss_later"] - gw["rss_after"]
    return Figure(
        f"gateway RSS after the burst of {size:,} ({label})",
        "≤ 300 MiB, no growth after",
        f"{gw['rss_after']:.0f} MiB, {gw['rss_later']:.0f} MiB {idle:.0f} s later",
        "—",
        all_met(gw["rss_after"] <= 300, growth <= 5, size >= 5000 or None),
    )
