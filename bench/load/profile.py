"""A short py-spy profile of the gateway under load, summarised as its top costs.

`py-spy record --format raw` writes collapsed stacks ("frame;frame;frame count"), one line per
distinct stack, frames outermost first, each "function (file:line)". `summarise` turns them
into two lists: where the CPU samples end (self time, by function) and which of our own
functions (gateway/, channels/, config/, normalizer/) the samples pass through (inclusive).
Only the thread holding the GIL is sampled (`--gil`), so the shares are of the Python work
that limits the gateway, not of time spent waiting.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

OWN_PACKAGES = ("gateway", "channels", "config", "normalizer", "forwarder")
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


@dataclass(frozen=True)
class Cost:
    what: str
    share: float  # of all samples, 0..1


@dataclass(frozen=True)
class Profile:
    samples: int
    self_costs: list[Cost]
    own_inclusive: list[Cost]
    by_library: list[Cost]
    by_thread: list[Cost]


def thread_role(functions: list[str]) -> str:
    """Which kind of thread a stack is on: the event loop, the worker threads, or another."""
    if "BaseEventLoop.run_forever" in functions:
        return "event loop (requests, acks)"
    if any(f in ("WorkerThread.run", "_worker") for f in functions):
        return "worker threads (sync routes, background tasks)"
    return "other threads (scheduler, ...)"


def py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def record(pid: int, seconds: float, output: Path, rate: int = 100) -> str | None:
    """Sample `pid` for `seconds` into `output`; returns why not when it could not."""
    binary = py_spy()
    if binary is None:
        return "py-spy is not installed (`make load-deps` installs it)"
    done = subprocess.run(  # noqa: S603 - our own command line
        [
            binary,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, round(seconds))),
            "--rate",
            str(rate),
            "--format",
            "raw",
            "--nonblocking",  # never pause the gateway to read its stacks
            # Only the thread holding the GIL: the gateway's Python work is what limits it
            # (CPU per message), and waits (locks, sockets, a preempted thread) drop out.
            "--gil",
            # uvicorn's worker processes, when the web side runs several
            "--subprocesses",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    if done.returncode != 0 or not output.exists():
        return f"py-spy failed: {(done.stderr or done.stdout).strip()[-300:]}"
    return None


def _short_file(path: str) -> str:
    """`.../site-packages/sqlalchemy/orm/session.py` → `sqlalchemy/orm/session.py`."""
    for marker in ("site-packages/", "dist-packages/"):
        if marker in path:
            return path.split(marker, 1)[1]
    for package in OWN_PACKAGES:
        index = path.find(f"/{package}/")
        if index >= 0:
            return path[index + 1 :]
    if "/lib/python3" in path:
        return "stdlib/" + path.split("/lib/python3", 1)[1].split("/", 1)[-1]
    return path


def parse_frame(frame: str) -> tuple[str, str]:
    """(function, short file) of one collapsed-stack frame."""
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip(), ""
    return match["function"], _short_file(match["file"])


def _library(file: str) -> str:
    if file.startswith("stdlib/"):
        name = file.removeprefix("stdlib/").split("/", 1)[0].removesuffix(".py")
        return f"{name} (stdlib)"
    head = file.split("/", 1)[0].removesuffix(".py")
    return head or "?"


def summarise(raw: str, top: int = 10) -> Profile:
    self_time: Counter[str] = Counter()
    own: Counter[str] = Counter()
    library: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [parse_frame(f) for f in stack.split(";")]
        # py-spy puts the thread ("process 12 ..."/"thread (0x..)") first when asked; skip it
        frames = [f for f in frames if f[1]]
        if not frames:
            continue
        total += count
        function, file = frames[-1]
        self_time[f"{function} ({file})"] += count
        library[_library(file)] += count
        threads[thread_role([f for f, _ in frames])] += count
        seen = set()
        for function, file in frames:
            # cli.py is the entry point under every event-loop sample: it says nothing
            if file.split("/", 1)[0] in OWN_PACKAGES and not file.endswith("cli.py"):
                key = f"{function} ({file})"
                if key not in seen:  # recursion counts once per sample
                    seen.add(key)
                    own[key] += count

    def costs(counter: Counter[str]) -> list[Cost]:
        return [Cost(what, n / total) for what, n in counter.most_common(top)] if total else []

    return Profile(total, costs(self_time), costs(own), costs(library), costs(threads))


def markdown(profile: Profile, label: str) -> str:
    if not profile.samples:
        return f"No samples for {label}."

    def rows(costs: list[Cost]) -> str:
        return "\n".join(f"| {c.share:.1%} | `{c.what}` |" for c in costs)

    return (
        f"**{label}** ({profile.samples:,} samples of the thread holding the GIL)\n\n"
        "By thread:\n\n"
        f"| share | thread |\n|---|---|\n{rows(profile.by_thread)}\n\n"
        "By package (self time):\n\n"
        f"| share | package |\n|---|---|\n{rows(profile.by_library)}\n\n"
        "Our own functions the samples pass through (inclusive):\n\n"
        f"| share | function |\n|---|---|\n{rows(profile.own_inclusive)}\n\n"
        "Functions the samples end in (self time):\n\n"
        f"| share | function |\n|---|---|\n{rows(profile.self_costs)}"
    )
