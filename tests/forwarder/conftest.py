"""Shared pieces for the forwarder tests: a clock we move by hand, an in-process simulator,
a REST client talking to it over httpx's ASGI transport, and a report builder."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from forwarder.base import CoreAttachment, CoreReport
from forwarder.rest import RestCoreClient
from forwarder.simulator import CoreSimulator, build_simulator_server, create_app

START = datetime(2024, 5, 2, 1, 30, tzinfo=UTC)  # 08:30 WIB on a Thursday
CORE_URL = "http://core.test"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeClock:
    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@dataclass
class SleepRecorder:
    """Stands in for asyncio.sleep: remembers the backoff asked for, waits for nothing."""

    calls: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_report(**changes: Any) -> CoreReport:
    report = CoreReport(
        tracking_code="LPR-7K3M9Q",
        title="Jalan berlubang di Jl. Pemuda",
        description="Jalan di depan SD Negeri 2 berlubang besar dan membahayakan pengendara.",
        category="pengaduan",
        source_channel="whatsapp",
        received_at=START,
        agency_code="DPUPR",
        location_text="Jl. Pemuda depan SD Negeri 2",
        latitude=-6.7083,
        longitude=111.3412,
        kecamatan="Rembang",
        kelurahan="Leteh",
        reporter_name="Warga Contoh",
        reporter_contact="+6281100009999",
        attachments=(CoreAttachment("http://gw.test/m/1.jpg", "lubang.jpg", "image/jpeg"),),
    )
    return replace(report, **changes)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def core_app(tmp_path: Path, clock: FakeClock) -> FastAPI:
    return create_app(tmp_path / "core.db", clock=clock)


@pytest.fixture
def core(core_app: FastAPI) -> CoreSimulator:
    return core_app.state.core  # type: ignore[no-any-return]


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
async def client(core_app: FastAPI, sleeps: SleepRecorder) -> AsyncIterator[RestCoreClient]:
    rest = RestCoreClient(
        base_url=CORE_URL,
        transport=httpx.ASGITransport(app=core_app),
        retries=2,
        sleep=sleeps,
    )
    yield rest
    await rest.aclose()


@pytest.fixture
async def http(core_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Raw HTTP to the simulator, for what the REST client does not cover."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=core_app), base_url=CORE_URL
    ) as raw:
        yield raw


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveCore:
    url: str
    server: Any


@pytest.fixture
def live_core(tmp_path: Path) -> Iterator[LiveCore]:
    """The simulator under a real uvicorn on 127.0.0.1, for real client timeouts."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = build_simulator_server("127.0.0.1", port, tmp_path / "live.db", log_level="warning")
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:  # waiting for start-up, not timing anything
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the simulator did not start")
        time.sleep(0.01)
    yield LiveCore(url=f"http://127.0.0.1:{port}", server=server)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
