"""The pure parts of the load benchmark (bench/load): what it sends, how it counts, what it writes.

Nothing here measures speed; the benchmark itself is `make bench-load`.
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from bench.load import profile, report, section, updates, wrk
from bench.load.client import CLOSED, TIMEOUT, Flow, Request, failure, open_loop, read_response
from bench.load.stats import longest_gap, peak_rate, percentile
from channels.base import RawRequest
from channels.telegram import TelegramChannel
from config.settings import load_settings

SECRET = "load-test-secret"


@pytest.fixture(scope="module")
def telegram() -> TelegramChannel:
    return TelegramChannel(load_settings(telegram_webhook_secret=SECRET))


def parse(channel: TelegramChannel, body: bytes, headers: dict[str, str]):
    raw = RawRequest(body=body, headers={k.lower(): v for k, v in headers.items()}, url="http://x")
    channel.verify(raw)  # the secret header as the gateway checks it
    return channel.parse(raw)


# --- what the load generators send -----------------------------------------------------------


def test_flood_updates_are_valid_signed_telegram_messages(telegram: TelegramChannel) -> None:
    headers = updates.webhook_headers(SECRET)
    block = updates.IdBlocks().take()
    for n in (0, 1, 7, updates.CHATS + 3):
        (message,) = parse(telegram, updates.flood_update(block, n, date=1_700_000_000), headers)
        assert message.external_id == str(block + n)
        assert message.sender == str(updates.CHAT_BASE + n % updates.CHATS)
        assert message.text == updates.text_for(n)


def test_flood_updates_are_distinct_within_and_across_blocks(telegram: TelegramChannel) -> None:
    blocks = updates.IdBlocks()
    first, second = blocks.take(), blocks.take(2)
    bodies = [updates.flood_update(b, n, 1) for b in (first, second) for n in range(2000)]
    ids = [json.loads(b)["update_id"] for b in bodies]
    assert len(set(ids)) == len(ids) == 4000
    assert len(set(bodies)) == 4000
    assert second - first == updates.BLOCK  # the wrk threads of `second` start there


def test_a_wrong_secret_is_refused_like_the_gateway_would(telegram: TelegramChannel) -> None:
    from channels.base import SignatureError

    with pytest.raises(SignatureError):
        parse(telegram, updates.flood_update(updates.BLOCK, 0, 1), updates.webhook_headers("x"))


def test_conversation_texts_and_complaints_are_valid_json() -> None:
    body = json.loads(updates.complaint_body(12))
    assert body["consent"] is True and len(body["description"]) >= 15
    assert (
        updates.complaint_headers()["Idempotency-Key"]
        != updates.complaint_headers()["Idempotency-Key"]
    )
    quoted = updates.update_body(5, chat_id=9, text='kata "ya"\\ok', date=1)
    assert json.loads(quoted)["message"]["text"] == 'kata "ya"\\ok'


def test_lua_script_carries_the_template_the_secret_and_the_ids() -> None:
    script = wrk.lua_script(secret=SECRET, first_block=3 * updates.BLOCK, date=42)
    assert updates.UPDATE_TEMPLATE in script
    assert f'local secret = "{SECRET}"' in script
    assert f"local first_block = {3 * updates.BLOCK}" in script
    assert all(updates.json_text(t) in script for t in updates.TEXTS)


class _Capture(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as wrk expects
    bodies: ClassVar[list[bytes]] = []
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.lock:
            self.bodies.append(body)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def capture_server() -> Iterator[str]:
    _Capture.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.skipif(shutil.which("wrk") is None, reason="Debian's wrk not installed")
def test_wrk_sends_distinct_updates_the_parser_reads(
    capture_server: str, telegram: TelegramChannel
) -> None:
    """The real Lua script through the real wrk: its bodies are the ones Python makes."""
    first_block = 5 * updates.BLOCK
    result = wrk.run_wrk(
        capture_server, secret=SECRET, first_block=first_block, date=7, seconds=1, connections=2
    )
    bodies = list(_Capture.bodies)
    assert result.requests > 0 and len(bodies) >= result.requests
    ids = [json.loads(b)["update_id"] for b in bodies]
    assert len(set(ids)) == len(ids)
    for body in bodies[:50] + bodies[-50:]:
        update_id = json.loads(body)["update_id"]
        thread, n = divmod(update_id - first_block, updates.BLOCK)
        assert thread in (0, 1)
        assert body == wrk.expected_body(first_block, thread, n, 7)
        (message,) = parse(telegram, body, updates.webhook_headers(SECRET))
        assert message.text == updates.text_for(n)


def test_wrk_summary_is_read_back() -> None:
    out = (
        "Running 1s test\n"
        'WRK_JSON {"requests": 120, "duration_us": 2000000, "connect": 0, "read": 1, '
        '"write": 0, "status": 20, "timeout": 2, "p50_us": 1500, "p99_us": 9000, "max_us": 12000}\n'
    )
    result = wrk.parse_output(out)
    assert (result.ok, result.rate, result.socket_errors, result.timeouts) == (100, 50.0, 1, 2)
    assert result.p99 == pytest.approx(0.009)
    with pytest.raises(RuntimeError):
        wrk.parse_output("no summary")


# --- the open-loop client --------------------------------------------------------------------


class _Slow(_Capture):
    delay = 0.2

    def do_POST(self) -> None:
        time.sleep(self.delay)
        super().do_POST()


def test_open_loop_latency_counts_the_wait_for_a_connection() -> None:
    """Two requests due at once on one connection: the second waits for the first, and its
    latency says so (measured from when it was due, not from when it could be sent)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        flows = [Flow(0.0, [(0.0, Request("/x", b"{}", {}, tag=str(i)))]) for i in range(2)]
        results, _ = asyncio.run(open_loop(base, flows, connections=1, drain=10))
    finally:
        server.shutdown()
        server.server_close()
    first, second = sorted(results, key=lambda r: r.done or math.inf)
    assert first.ok and second.ok
    assert second.latency >= 2 * _Slow.delay  # its own time plus the first's
    assert second.sent - second.scheduled >= _Slow.delay  # it left late, and that counted


def test_flow_steps_wait_for_the_previous_answer() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        steps = [(0.0, Request("/x", b"1", {})), (0.0, Request("/x", b"2", {}))]
        results, _ = asyncio.run(open_loop(base, [Flow(0.0, steps)], connections=4, drain=10))
    finally:
        server.shutdown()
        server.server_close()
    assert [r.request.body for r in results] == [b"1", b"2"]
    assert results[1].sent >= results[0].done  # a reporter's next message after the ack


def test_chunked_and_closing_responses_are_read() -> None:
    async def read(raw: bytes) -> tuple[int, bool]:
        reader = asyncio.StreamReader()
        reader.feed_data(raw)
        reader.feed_eof()
        return await read_response(reader)

    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    assert asyncio.run(read(chunked)) == (200, True)
    closing = b"HTTP/1.1 503 Busy\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno"
    assert asyncio.run(read(closing)) == (503, False)
    with pytest.raises(asyncio.IncompleteReadError) as dropped:  # closed before answering
        asyncio.run(read(b""))
    assert failure(dropped.value) == CLOSED
    assert failure(TimeoutError()) == TIMEOUT


# --- the arithmetic --------------------------------------------------------------------------


def test_percentile_is_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 99.9) == 100
    assert percentile(values, 0) == 1
    assert percentile([5.0], 99) == 5.0
    assert percentile([], 50) is None
    assert percentile([3, 1, 2], 50) == 2  # unsorted input
    assert percentile([1, 2, math.inf], 99) == math.inf  # an unanswered request is slowest
    with pytest.raises(ValueError):
        percentile(values, 101)


def test_peak_rate_is_the_busiest_window() -> None:
    assert peak_rate([]) == 0
    assert peak_rate([0.0, 0.1, 0.2, 5.0]) == 3
    assert peak_rate([0.0, 0.5, 1.0, 1.4], window=1.0) == 3  # 0.5, 1.0, 1.4
    assert peak_rate([0.0, 1.0, 2.0, 3.0], window=2.0) == 1.0  # 2 in 2 s


def test_longest_gap_is_time_in_flight_without_progress() -> None:
    assert longest_gap([]) == 0
    # steady answers every 0.1 s, then one request hangs 30 s with nothing else finishing
    steady = [(i * 0.1, i * 0.1 + 0.1) for i in range(10)]
    assert longest_gap(steady) == pytest.approx(0.1)
    assert longest_gap([*steady, (1.0, 31.0)]) == pytest.approx(30.0)
    # idle time with nothing in flight is no stall
    assert longest_gap([(0.0, 0.1), (10.0, 10.2)]) == pytest.approx(0.2)


# --- the section --------------------------------------------------------------------------


def test_table_renders_rows_and_verdicts() -> None:
    rows = [
        report.Figure("a | b", "≥ 1", "2", "3", True),
        report.Figure("c", "≤ 1", "2", met=False),
        report.Figure("d", "x", "y"),
    ]
    lines = report.table(rows).splitlines()
    assert lines[0] == "| figure | target | gateway | ceiling | met? |"
    assert lines[2] == "| a \\| b | ≥ 1 | 2 | 3 | yes |"
    assert lines[3] == "| c | ≤ 1 | 2 | — | **no** |"
    assert lines[4] == "| d | x | y | — | — |"
    assert report.all_met(True, None) is None and report.all_met(True, None, False) is False


def _rate(rate: float, **extra: object) -> dict[str, object]:
    return {"rate": rate, "non_2xx": 0, "errors": 0, "lost": 0, "p99": 0.01, "cpu_ms": 1.0, **extra}


def test_max_rate_is_judged_against_half_the_ceiling() -> None:
    assert section.max_rate("SQLite", _rate(600), _rate(1000)).met is True
    missed = section.max_rate("SQLite", _rate(60), _rate(2000))
    assert missed.met is False and "0.03× ceiling" in missed.gateway
    assert section.max_rate("SQLite", _rate(600, lost=1), _rate(1000)).met is False


def test_burst_rows_name_their_size_and_do_not_pass_a_quick_run() -> None:
    gw = {
        "sent": 300, "ok": 300, "5xx": 0, "unanswered": 0, "lost": 0,
        "acked_s": 1.0, "last_answer_s": 1.0, "processed_s": None,
        "statuses": {"pending": 12, "processed": 288},
    }  # fmt: skip
    ceiling = {**gw, "processed_s": None}
    acked, processed, failures = section.burst("SQLite", 300, 20, gw, ceiling)
    assert "burst of 300" in acked.figure and acked.met is None  # fast, but not 5,000
    assert processed.met is None and "12 pending" in processed.gateway  # waited < 30 s
    assert failures.met is True
    full = {**gw, "sent": 5000, "ok": 4000, "acked_s": None}
    acked, processed, _ = section.burst("SQLite", 5000, 180, full, ceiling)
    assert acked.met is False and "4,000 of 5,000 acked" in acked.gateway
    assert processed.met is False


def test_unanswered_latency_reads_as_more_than_the_wait() -> None:
    gw = {
        "p50": 0.5, "p99": math.inf, "p999": math.inf, "unanswered": 3, "5xx": 0,
        "sent": 600, "pending_before": 40, "pending_after": 90,
    }  # fmt: skip
    row = section.fixed_rate("PostgreSQL", 300, gw, {**gw, "p99": 0.01, "p999": 0.02}, 10)
    assert "p99 > 10 s" in row.gateway and "backlog 40 pending" in row.gateway
    assert "3 unanswered, 0 5xx of 600" in row.gateway
    dropped = section.fixed_rate("SQLite", 300, {**gw, "closed": 2}, gw, 10)
    assert "3 unanswered (2 dropped by the server)" in dropped.gateway
    assert row.met is False


# --- the profile summary ------------------------------------------------------------------

RAW = """\
<module> (lapor-gateway:6);main (gateway/cli.py:464);BaseEventLoop.run_forever (asyncio/base_events.py:607);receive (gateway/webhooks.py:40);do_execute (sqlalchemy/engine/default.py:924) 6
Thread._bootstrap (threading.py:1002);WorkerThread.run (anyio/_backends/_asyncio.py:1124);process (gateway/intake.py:188);do_execute (sqlalchemy/engine/default.py:924) 3
Thread._bootstrap (threading.py:1002);WorkerThread.run (anyio/_backends/_asyncio.py:1124);process (gateway/intake.py:188);scrub (gateway/logs.py:30) 1
"""  # noqa: E501


def test_profile_summary_ranks_costs() -> None:
    summary = profile.summarise(RAW)
    assert summary.samples == 10
    assert summary.self_costs[0] == profile.Cost(
        "do_execute (sqlalchemy/engine/default.py)", pytest.approx(0.9)
    )
    own = {c.what: c.share for c in summary.own_inclusive}
    assert own["process (gateway/intake.py)"] == pytest.approx(0.4)
    assert own["receive (gateway/webhooks.py)"] == pytest.approx(0.6)
    assert not any("cli.py" in what for what in own)
    threads = {c.what: c.share for c in summary.by_thread}
    assert threads["event loop (requests, acks)"] == pytest.approx(0.6)
    text = profile.markdown(summary, "SQLite")
    assert "| 90.0% | `sqlalchemy` |" in text


def test_a_complaint_never_made_is_said_so() -> None:
    gw = {
        "p50": 4.0, "p95": math.inf, "complaints": 80, "reporters": 100, "kirim_acked": 90,
        "ack_p99": math.inf, "drain": 60.0,
    }  # fmt: skip
    row = section.conversations("SQLite", 100, gw)
    assert "p95 no complaint yet" in row.gateway and "80 of 100 complaints made" in row.gateway
    assert "10 reporters' `kirim` never acknowledged" in row.gateway
    assert "ack p99 > 60 s" in row.gateway and row.met is False
