"""Maximum-rate load with Debian's `wrk`: distinct signed Telegram updates over N connections.

wrk is closed-loop (each connection sends its next request when the answer came), which is
what a maximum rate is. The Lua script is written from `updates.UPDATE_TEMPLATE`, so its
bodies are the ones the tests check; each wrk thread counts within its own block of ids.
Its `done()` prints one JSON line with the totals, read back by `run_wrk`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.load import updates

LUA = r"""-- Written by bench/load/wrk.py: distinct signed Telegram updates, one per request.
local path = "{path}"
local secret = "{secret}"
local first_block = {first_block}
local block = {block}
local chat_base = {chat_base}
local chats = {chats}
local date = {date}
local template = [==[{template}]==]
local texts = {{ {texts} }}

local threads = {{}}
function setup(thread)
  -- `tid` becomes a global of that thread's own Lua state
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local counter = -1
local headers = {{}}
function init(args)
  headers["Content-Type"] = "application/json"
  headers["X-Telegram-Bot-Api-Secret-Token"] = secret
end

function request()
  counter = counter + 1
  local n = counter
  local update_id = first_block + tid * block + n
  local text = texts[(n % #texts) + 1] .. " (laporan " .. n .. ")"
  local body = string.format(template, update_id, update_id % 1000000000 + 1, date,
    chat_base + n % chats, chat_base + n % chats, text)
  return wrk.format("POST", path, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nWRK_JSON {{"requests": %d, "duration_us": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def lua_script(
    *, secret: str, first_block: int, date: int, path: str = updates.WEBHOOK_PATH
) -> str:
    """The wrk script; thread t sends updates first_block + t * BLOCK + 0, 1, 2, ..."""

    def lua_string(text: str) -> str:
        # The texts are plain Indonesian without quotes or backslashes; JSON-escape them once
        # for the body and quote them for Lua.
        escaped = updates.json_text(text)
        if '"' in escaped or "\\" in escaped:
            raise ValueError(f"text needs escaping in Lua: {text!r}")
        return f'"{escaped}"'

    return LUA.format(
        path=path,
        secret=secret,
        first_block=first_block,
        block=updates.BLOCK,
        chat_base=updates.CHAT_BASE,
        chats=updates.CHATS,
        date=date,
        template=updates.UPDATE_TEMPLATE,
        texts=", ".join(lua_string(t) for t in updates.TEXTS),
    )


def expected_body(first_block: int, thread: int, n: int, date: int) -> bytes:
    """The body the script sends as thread `thread`'s n-th request (for the tests)."""
    return updates.flood_update(first_block + thread * updates.BLOCK, n, date)


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    timeouts: int
    p50: float
    p99: float
    max: float

    @property
    def ok(self) -> int:
        return self.requests - self.non_2xx

    @property
    def rate(self) -> float:
        """Answered 2xx per second."""
        return self.ok / self.seconds if self.seconds else 0.0


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk is not installed: `make load-deps` installs Debian's wrk")
    return found


def run_wrk(
    base_url: str,
    *,
    secret: str,
    first_block: int,
    date: int,
    seconds: float,
    connections: int = 32,
    threads: int = 2,
    timeout_s: int = 10,
) -> WrkResult:
    script = lua_script(secret=secret, first_block=first_block, date=date)
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        path = Path(tmp) / "telegram.lua"
        path.write_text(script, encoding="utf-8")
        command = [
            wrk_binary(),
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            f"--timeout={timeout_s}s",
            "-s",
            str(path),
            base_url + updates.WEBHOOK_PATH,
        ]
        done = subprocess.run(  # noqa: S603 - our own command line
            command, capture_output=True, text=True, timeout=seconds + timeout_s + 30, check=False
        )
    return parse_output(done.stdout, done.stderr)


def parse_output(stdout: str, stderr: str = "") -> WrkResult:
    line = next((ln for ln in stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{stdout}\n{stderr}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    return WrkResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        non_2xx=data["status"],
        socket_errors=data["connect"] + data["read"] + data["write"],
        timeouts=data["timeout"],
        p50=data["p50_us"] / 1e6,
        p99=data["p99_us"] / 1e6,
        max=data["max_us"] / 1e6,
    )
