"""Background jobs on APScheduler: outbox dispatch and the resume sweep for inbound messages.

The scheduler runs inside the web process's event loop. `alive()` is what `/healthz` reports:
the scheduler is running and the dispatcher has run recently.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from gateway import intake
from gateway.clock import utcnow

if TYPE_CHECKING:
    from gateway.context import Gateway

log = logging.getLogger(__name__)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Scheduler:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.dispatcher = gateway.dispatcher(worker_id())
        self.last_dispatch: datetime | None = None

    def start(self) -> None:
        s = self.gateway.settings
        self.scheduler.add_job(
            self.dispatch_outbox,
            "interval",
            seconds=s.outbox_poll_seconds,
            id="outbox",
            max_instances=1,
            coalesce=True,
            next_run_time=utcnow(),
        )
        self.scheduler.add_job(
            self.resume_inbound,
            "interval",
            seconds=s.inbound_resume_seconds,
            id="inbound-resume",
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.start()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def dispatch_outbox(self) -> None:
        try:
            await self.dispatcher.drain(max_batches=10)
        except Exception:
            log.exception("outbox dispatch failed")
        finally:
            self.last_dispatch = utcnow()

    async def resume_inbound(self) -> None:
        # Rows younger than the sweep interval are probably still in their background task.
        s = self.gateway.settings
        try:
            await asyncio.to_thread(intake.resume, self.gateway, s.inbound_resume_seconds)
        except Exception:
            log.exception("inbound resume failed")

    def alive(self) -> bool:
        if not self.scheduler.running:
            return False
        if self.last_dispatch is None:
            return True  # just started
        slack = timedelta(seconds=self.gateway.settings.outbox_poll_seconds * 5 + 60)
        return utcnow() - self.last_dispatch < slack
