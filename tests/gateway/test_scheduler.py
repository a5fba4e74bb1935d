"""The background jobs every instance runs, the ones only the leader runs, and that /healthz
reports them alive."""

from __future__ import annotations

import asyncio

from gateway.context import Gateway
from gateway.jobs.scheduler import CORE_POLL_JOB, Scheduler


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
    } <= ids
    # Polling the core moves a shared cursor: only the leader does it.
    assert CORE_POLL_JOB not in ids
    assert alive


def _jobs_when_leading(gateway: Gateway) -> set[str]:
    async def leading() -> set[str]:
        scheduler = Scheduler(gateway)
        scheduler.start()
        try:
            await scheduler.elect()
            assert scheduler.leading
            return {job.id for job in scheduler.scheduler.get_jobs()}
        finally:
            scheduler.shutdown()
            await scheduler.stopped()

    return asyncio.run(leading())


def test_the_leader_polls_the_core(gateway: Gateway) -> None:
    assert CORE_POLL_JOB in _jobs_when_leading(gateway)


def test_the_manual_backend_polls_no_core(gateway: Gateway) -> None:
    gateway.settings = gateway.settings.model_copy(update={"core_backend": "manual"})
    assert CORE_POLL_JOB not in _jobs_when_leading(gateway)
