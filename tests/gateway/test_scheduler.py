"""The background jobs every instance runs, and that /healthz reports them alive."""

from __future__ import annotations

import asyncio

from gateway.context import Gateway
from gateway.jobs.scheduler import Scheduler


def test_every_instance_runs_the_background_jobs(gateway: Gateway) -> None:
    async def started() -> tuple[set[str], bool, bool]:
        scheduler = Scheduler(gateway)
        scheduler.start()
        try:
            # The dispatcher and the inbound threads are threads of their own, not jobs.
            threads = scheduler.outbox.alive(60) and gateway.inbound_workers is scheduler.inbound
            return {job.id for job in scheduler.scheduler.get_jobs()}, scheduler.alive(), threads
        finally:
            scheduler.shutdown()

    ids, alive, threads = asyncio.run(started())
    assert threads
    assert gateway.inbound_workers is None  # stopped with the scheduler
    assert {
        "inbound-resume",
        "conversation-idle",
        "attachments",
        "leader-election",
        "core-poll",
    } <= ids
    assert alive


def test_the_manual_backend_polls_no_core(gateway: Gateway) -> None:
    gateway.settings = gateway.settings.model_copy(update={"core_backend": "manual"})

    async def ids() -> set[str]:
        scheduler = Scheduler(gateway)
        scheduler.start()
        try:
            return {job.id for job in scheduler.scheduler.get_jobs()}
        finally:
            scheduler.shutdown()

    assert "core-poll" not in asyncio.run(ids())
