"""An open-loop HTTP/1.1 load client on raw asyncio sockets, for latency at a fixed rate.

wrk2 (the fixed-rate wrk) is not in Debian, and plain wrk waits for each answer before the
next request, so a slow server would be sent less and its latency would look better than what
a provider sees ("coordinated omission"). Here every request has a scheduled time and is sent
then whether or not earlier ones were answered; its latency is measured from that scheduled
time, so time spent waiting for a free connection counts too.

A `Flow` is a few requests that must go in order, like the messages of one reporter: a step
leaves at its scheduled time or when the step before it was answered, whichever is later.
Single requests are flows of one step. `closed_loop` is the other shape: N clients, each
sending its next request when the last one was answered (the JSON API's 32 clients).

Raw sockets rather than httpx: at a few hundred requests per second on a 2-core machine the
client must cost little CPU next to the server it measures.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Request:
    path: str
    body: bytes
    headers: dict[str, str]
    method: str = "POST"
    tag: str = ""  # e.g. the update id, to find the request's row in the database


@dataclass
class Result:
    request: Request
    scheduled: float  # time.time() the request was due
    sent: float | None = None  # when it was written to a connection
    done: float | None = None  # when its answer was read completely
    status: int | None = None
    error: str | None = None
    failed: float | None = None  # when it failed without an answer (error set)

    @property
    def latency(self) -> float | None:
        """From the scheduled time to the answer (None: never answered)."""
        return None if self.done is None else self.done - self.scheduled

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


# Why a request got no answer (Result.error).
TIMEOUT = "timeout"  # nothing within the client's timeout
CLOSED = "closed"  # the server closed the connection instead of answering
REFUSED = "refused"  # nobody listening
RUN_ENDED = "run ended"  # still queued or in flight when the run stopped waiting


def failure(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return TIMEOUT
    if isinstance(exc, ConnectionRefusedError):
        return REFUSED
    if isinstance(exc, asyncio.IncompleteReadError | ConnectionResetError | BrokenPipeError):
        return CLOSED
    return f"{type(exc).__name__}: {exc}"[:200]


@dataclass(frozen=True)
class Flow:
    start: float  # seconds after the run starts
    steps: Sequence[tuple[float, Request]]  # (seconds after `start`, request), in order


@dataclass
class _Job:
    result: Result
    finished: asyncio.Event = field(default_factory=asyncio.Event)


def encode(request: Request, host: str) -> bytes:
    head = [f"{request.method} {request.path} HTTP/1.1", f"Host: {host}"]
    head += [f"{name}: {value}" for name, value in request.headers.items()]
    head.append(f"Content-Length: {len(request.body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + request.body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; its status and whether the server keeps the connection open."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("connection", "").lower() != "close"


class Connections:
    """`size` workers, each with one keep-alive connection, taking jobs from one queue."""

    def __init__(self, host: str, port: int, size: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.queue: asyncio.Queue[_Job] = asyncio.Queue()
        self.workers = [asyncio.create_task(self._work()) for _ in range(size)]

    async def submit(self, result: Result) -> Result:
        job = _Job(result)
        self.queue.put_nowait(job)
        await job.finished.wait()
        return result

    async def _work(self) -> None:
        reader = writer = None
        while True:
            job = await self.queue.get()
            result = job.result
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(self.host, self.port)
                result.sent = time.time()
                writer.write(encode(result.request, f"{self.host}:{self.port}"))
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the
                # cancellation that ends a run, and close() would then wait forever.
                async with asyncio.timeout(self.timeout):
                    status, keep = await read_response(reader)
                result.status, result.done = status, time.time()
                if not keep:
                    writer.close()
                    reader = writer = None
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                result.error, result.failed = failure(exc), time.time()
                if writer is not None:
                    writer.close()
                reader = writer = None
            finally:
                job.finished.set()

    async def close(self) -> None:
        for worker in self.workers:
            worker.cancel()
        await asyncio.wait(self.workers, timeout=5)


async def _run_flow(flow: Flow, t0: float, pool: Connections, results: list[Result]) -> None:
    previous_done = 0.0
    for offset, request in flow.steps:
        scheduled = t0 + flow.start + offset
        wait = max(scheduled, previous_done) - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        result = Result(request, scheduled=scheduled)
        results.append(result)
        await pool.submit(result)
        if not result.ok:
            return  # the rest of a reporter's messages make no sense without this one
        previous_done = result.done or time.time()


async def open_loop(
    base_url: str,
    flows: Sequence[Flow],
    *,
    connections: int = 64,
    timeout: float = 30.0,
    drain: float = 60.0,
) -> tuple[list[Result], float]:
    """Send every flow on its schedule; returns the results and the run's start (Unix time).

    After the last scheduled send, answers are awaited for at most `drain` seconds; what is
    still unanswered then stays in the results with `done` None.
    """
    host, port = _host_port(base_url)
    pool = Connections(host, port, connections, timeout)
    results: list[Result] = []
    t0 = time.time() + 0.05  # a moment to schedule the tasks before the first send
    tasks = [asyncio.create_task(_run_flow(f, t0, pool, results)) for f in flows]
    last = max((f.start + (f.steps[-1][0] if f.steps else 0) for f in flows), default=0.0)
    try:
        await asyncio.wait(tasks, timeout=max(0.0, t0 + last - time.time()) + drain)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await pool.close()
    for result in results:
        if result.done is None and result.error is None:
            result.error = RUN_ENDED
    return results, t0


async def closed_loop(
    base_url: str,
    make_request: Callable[[int], Request],
    *,
    clients: int,
    seconds: float,
    timeout: float = 60.0,
) -> list[Result]:
    """`clients` clients sending back to back for `seconds`; a request in flight at the end
    is still waited for (up to `timeout`), so a server that freezes shows as a long request."""
    host, port = _host_port(base_url)
    pool = Connections(host, port, clients, timeout)
    results: list[Result] = []
    counter = iter(range(10**9))
    stop_at = time.time() + seconds

    async def client() -> None:
        while time.time() < stop_at:
            result = Result(make_request(next(counter)), scheduled=time.time())
            results.append(result)
            await pool.submit(result)

    try:
        await asyncio.gather(*(client() for _ in range(clients)))
    finally:
        await pool.close()
    return results


def _host_port(base_url: str) -> tuple[str, int]:
    rest = base_url.split("://", 1)[-1].rstrip("/")
    host, _, port = rest.rpartition(":")
    return host, int(port)
