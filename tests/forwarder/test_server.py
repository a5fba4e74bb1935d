"""`serve_simulator` runs the simulator in the caller's asyncio loop (as `lapor-gateway serve`
does beside the gateway) and stops when asked."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from forwarder.simulator import serve_simulator

from .conftest import free_port

pytestmark = pytest.mark.anyio


async def test_serve_in_the_same_loop_and_stop(tmp_path: Path) -> None:
    port = free_port()
    stop = asyncio.Event()
    task = asyncio.create_task(
        serve_simulator("127.0.0.1", port, tmp_path / "core.db", stop=stop, log_level="warning")
    )
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=2) as raw:
        for _ in range(500):  # wait for start-up (not a timing assertion)
            try:
                health = await raw.get("/api/v1/health")
                break
            except httpx.ConnectError:
                assert not task.done(), task.exception()
                await asyncio.sleep(0.01)
        assert health.json() == {"status": "ok"}
        page = await raw.get("/")
        assert "Simulator SP4N-LAPOR!" in page.text
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    assert (tmp_path / "core.db").exists()


def test_options_from_the_gateway_settings() -> None:
    from config.settings import load_settings
    from forwarder.simulator import simulator_options

    secret = "push-" + "s" * 16
    settings = load_settings(
        core_base_url="http://127.0.0.1:8111",
        public_base_url="http://127.0.0.1:8000",
        core_push_secret=secret,
        core_simulator_db="var/sim.db",
        core_simulator_auto_answer_seconds=15,
    )
    options = simulator_options(settings)
    assert (options["host"], options["port"], str(options["db"])) == (
        "127.0.0.1",
        8111,
        "var/sim.db",
    )
    assert options["push_url"] == "http://127.0.0.1:8000/core/events"
    assert options["push_secret"] == secret
    assert options["auto_answer_seconds"] == 15
    # no secret, no push: the gateway would refuse unsigned events anyway
    quiet = simulator_options(load_settings(core_push_secret=None))
    assert (quiet["push_url"], quiet["push_secret"]) == (None, None)
