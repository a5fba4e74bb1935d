"""The outbox over several channels at once, limits honoured per channel and per recipient.

Issue 12 asks for "≥ 500 sends/s" to local fake providers, with the providers' limits honoured.
One Telegram bot may send about 30 messages a second (and about one a second to one chat), so
500/s can only be the sum over several channels and numbers. This benchmark queues replies on
six channels at once — Telegram, Twilio SMS and WhatsApp, WhatsApp Cloud, Messenger, Instagram
— to many recipients, each reply of a pair to one recipient in order, while the rows are still
being queued ("during ingest"), and measures at the fake providers (their own clocks):

- sends per second, in all and per channel, against each channel's configured limit;
- the most messages any one recipient received within a second (and, for WhatsApp Cloud, within
  6 s: its pair rate), against the per-recipient limit;
- replies to one recipient in the order they were queued;
- enqueue → first attempt (the outbox row's `created_at` to its first `sent_at`), p50/p95, for
  all rows and for each recipient's first row (not held back by a per-recipient limit).

    python -m bench.load.outbox_channels --engine postgresql --rate 500 --seconds 15

The gateway runs in this process in demo mode (no credentials), its PUBLIC_BASE_URL at the
fakes' process (bench/load/fakes.py), so every channel's SDK or HTTP client really sends over
HTTP; the dispatcher is the one `lapor-gateway worker` runs (`OutboxThread`).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import time
import urllib.request
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.load import servers
from bench.load.servers import (
    WORKDIR,
    Database,
    Service,
    base_env,
    free_port,
    python_module,
    to_unix,
)
from bench.load.stats import peak_rate, percentile

# Share of the queued replies per channel, and its recipients' address format.
CHANNELS: dict[str, tuple[float, str]] = {
    "telegram": (0.05, "{n}"),
    "whatsapp_cloud": (0.15, "+62813{n:07d}"),
    "twilio_whatsapp": (0.15, "+62814{n:07d}"),
    "twilio_sms": (0.25, "+62815{n:07d}"),
    "facebook": (0.2, "9{n:09d}"),
    "instagram": (0.2, "8{n:09d}"),
}
RECIPIENTS = 2000  # per channel
PAIR = 2  # replies queued together for one recipient (the bot's greeting and its question)


def fake_sends(base_url: str) -> list[tuple[str, str, float, str]]:
    with urllib.request.urlopen(base_url + "/_bench/channel_sends", timeout=30) as answer:  # noqa: S310
        return [(str(c), str(r), float(t), str(x)) for c, r, t, x in json.load(answer)["sends"]]


def most_within(times: list[float], window: float) -> int:
    """The most of `times` (sorted) inside any window of `window` seconds."""
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def run(kind: str, rate: float, seconds: float, wait: float, processes: int = 0) -> dict[str, Any]:
    servers.PG_DATABASE, servers.PG_TEMPLATE = "bench_outbox", "bench_outbox_template"
    port = free_port()
    fakes = Service(
        "outbox-fakes", python_module("bench.load.fakes", "--port", str(port)), base_env(), port
    )
    fakes.start(health="/_bench/sends")
    db = Database(kind)
    env = {
        **base_env(),
        "APP_ENV": "development",
        "DATA_DIR": str(WORKDIR / "data-outbox"),
        "SECRET_KEY": "bench-outbox-key",
        "PUBLIC_BASE_URL": fakes.base_url,
        "LOG_LEVEL": "WARNING",
    }
    try:
        db.prepare_template(env)
        db.fresh()
        env["DATABASE_URL"] = db.url()
        os.environ.update(env)
        return _measure(db, fakes, rate, seconds, wait, processes)
    finally:
        fakes.stop()
        db.drop()


def ingest(rate: float, seconds: float, t0: float, shard: int, shards: int) -> int:
    """Queue this shard's pairs at their scheduled times (open loop: the n-th pair is due at
    n / (rate / PAIR) s), one transaction per pair, as processing one message queues its
    replies. Returns how many rows it queued."""
    from config.settings import load_settings
    from gateway.context import Gateway
    from gateway.dev import demo
    from gateway.outbox.delivery import REPLY
    from gateway.outbox.payloads import ChannelPayload
    from gateway.outbox.queue import OutboxMessage, enqueue

    gateway = Gateway.create(demo.demo_settings(load_settings()))
    names = list(CHANNELS)
    weights = [CHANNELS[c][0] for c in names]
    credit = [0.0] * len(names)
    counters: dict[str, int] = defaultdict(int)
    queued = 0
    for n in range(int(rate * seconds / PAIR)):
        # Smooth weighted round robin: each channel gets its share, evenly spread.
        for i, w in enumerate(weights):
            credit[i] += w
        pick = max(range(len(names)), key=lambda i: credit[i])
        credit[pick] -= sum(weights)
        channel = names[pick]
        counters[channel] += 1
        if n % shards != shard:
            continue
        pause = t0 + n * PAIR / rate - time.time()
        if pause > 0:
            time.sleep(pause)
        recipient = CHANNELS[channel][1].format(n=(counters[channel] - 1) % RECIPIENTS + 1)
        now = datetime.now(UTC)
        with gateway.db.session() as session:
            for k in range(PAIR):
                enqueue(
                    session,
                    OutboxMessage(
                        kind=REPLY,
                        key=f"bench:{channel}:{n}:{k}",
                        channel=channel,
                        recipient=recipient,
                        payload=ChannelPayload(
                            f"bench {counters[channel]:06d}.{k}",
                            last_inbound_at=now - timedelta(seconds=1),
                        ),
                    ),
                )
                queued += 1
            session.commit()
    gateway.db.dispose()
    return queued


def _measure(
    db: Database, fakes: Service, rate: float, seconds: float, wait: float, processes: int
) -> dict[str, Any]:
    from config.settings import load_settings
    from gateway.context import Gateway
    from gateway.dev import demo
    from gateway.jobs.workers import OutboxThread

    if processes:
        # Rows queued by other processes wake no dispatcher: it polls for them this often.
        os.environ["OUTBOX_POLL_SECONDS"] = "0.1"
    settings = demo.demo_settings(load_settings())
    assert demo.is_demo(load_settings()), "the outbox benchmark needs demo mode"
    gateway = Gateway.create(settings)
    thread = OutboxThread(gateway.dispatcher("bench-outbox"))
    thread.start()
    t0 = time.time() + (3.0 if processes else 0.0)  # the ingest processes start meanwhile
    cpu0 = time.process_time()
    if processes:
        context = multiprocessing.get_context("spawn")
        with context.Pool(processes) as pool:
            queued = sum(
                pool.starmap(ingest, [(rate, seconds, t0, i, processes) for i in range(processes)])
            )
    else:
        queued = ingest(rate, seconds, t0, 0, 1)
    ingest_end = time.time()
    deadline = ingest_end + wait
    while time.time() < deadline:
        waiting = db.scalar(
            "SELECT COUNT(*) FROM outbox_item WHERE status IN ('pending', 'in_flight')"
        )
        if not waiting:
            break
        time.sleep(0.5)
    drained, cpu = time.time(), time.process_time() - cpu0
    thread.stop()
    rows = db.query(
        "SELECT id, channel, recipient, status, attempts, created_at, sent_at, last_error "
        "FROM outbox_item WHERE idempotency_key LIKE ?",
        ("bench:%",),
    )
    sends = [s for s in fake_sends(fakes.base_url) if s[2] >= t0 and s[3].startswith("bench ")]
    gateway.db.dispose()
    result = summarise(settings, rows, sends, t0, ingest_end, drained, queued, rate, seconds)
    # CPU of this process per send: the dispatcher's, plus the queueing when it ran here.
    result["cpu_ms_per_send"] = cpu / len(sends) * 1000 if sends else None
    result["ingest_processes"] = processes
    return result


def summarise(
    settings: Any,
    rows: list[tuple[Any, ...]],
    sends: list[tuple[str, str, float, str]],
    t0: float,
    ingest_end: float,
    drained: float,
    queued: int,
    rate: float,
    seconds: float,
) -> dict[str, Any]:
    by_channel: dict[str, list[float]] = defaultdict(list)
    by_recipient: dict[tuple[str, str], list[tuple[float, str]]] = defaultdict(list)
    for channel, recipient, at, text in sends:
        by_channel[channel].append(at)
        by_recipient[(channel, recipient)].append((at, text))
    times = sorted(at for _, _, at, _ in sends)
    channels: dict[str, dict[str, Any]] = {}
    for channel in CHANNELS:
        ts = sorted(by_channel.get(channel, []))
        per_recipient = [
            sorted(t for t, _ in v) for (c, _), v in by_recipient.items() if c == channel
        ]
        channels[channel] = {
            "sent": len(ts),
            "peak_1s": most_within(ts, 1.0),
            "mean": len(ts) / (ts[-1] - ts[0]) if len(ts) > 1 else None,
            "limit": settings.outbox_send_rates.get(channel),
            "recipient_limit": settings.outbox_recipient_rates.get(channel),
            "recipient_peak_1s": max((most_within(t, 1.0) for t in per_recipient), default=0),
            "recipient_peak_6s": max((most_within(t, 6.0) for t in per_recipient), default=0),
        }
    out_of_order = sum(
        1 for v in by_recipient.values() if [x for _, x in sorted(v)] != sorted(x for _, x in v)
    )
    waits, firsts = [], []
    first_row: dict[tuple[str, str], int] = {}
    for row_id, channel, recipient, *_ in rows:
        key = (channel, recipient)
        first_row[key] = min(first_row.get(key, row_id), row_id)
    for row_id, channel, recipient, status, attempts, created, sent, _ in rows:
        if status == "sent" and attempts == 1:
            wait = (to_unix(sent) or 0) - (to_unix(created) or 0)
        elif status in ("pending", "in_flight"):
            wait = math.inf
        else:
            continue
        waits.append(wait)
        if first_row[(channel, recipient)] == row_id:
            firsts.append(wait)
    failed = [r for r in rows if r[3] not in ("sent", "pending", "in_flight")]
    return {
        "queued": queued,
        "rate": rate,
        "seconds": seconds,
        "ingest_s": ingest_end - t0,
        "drained_s": drained - t0,
        "sent_at_fakes": len(sends),
        "send_peak_1s": most_within(times, 1.0),
        "send_mean": len(times) / (times[-1] - times[0]) if len(times) > 1 else None,
        "send_peak_rate": peak_rate(times, 1.0),
        "channels": channels,
        "out_of_order": out_of_order,
        "recipients": len(by_recipient),
        "first_attempt_p50": percentile(waits, 50),
        "first_attempt_p95": percentile(waits, 95),
        "first_row_p95": percentile(firsts, 95),
        "not_sent": sum(1 for r in rows if r[3] in ("pending", "in_flight")),
        "failed": len(failed),
        "failures": sorted({str(r[7])[:120] for r in failed})[:5],
        "load": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--rate", type=float, default=500.0, help="replies queued per second")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--wait", type=float, default=90.0, help="longest wait for the drain")
    parser.add_argument(
        "--ingest-processes",
        type=int,
        default=0,
        help="queue the rows from N other processes (0: in this one, beside the dispatcher)",
    )
    args = parser.parse_args()
    result = run(args.engine, args.rate, args.seconds, args.wait, args.ingest_processes)
    print(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
