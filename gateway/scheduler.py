"""Background jobs on APScheduler: outbox dispatch, the resume sweep for inbound messages, the
bot's idle window, attachment downloads and polling the SP4N core.

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

from forwarder.base import CoreUnavailable
from gateway import attachments, conversation, core_sync, intake
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
        self.scheduler.add_job(
            self.conversation_sweep,
            "interval",
            seconds=15,
            id="conversation-idle",
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.add_job(
            self.fetch_attachments,
            "interval",
            seconds=20,
            id="attachments",
            max_instances=1,
            coalesce=True,
        )
        if s.core_backend != "manual":
            self.scheduler.add_job(
                self.poll_core,
                "interval",
                seconds=s.core_poll_seconds,
                id="core-poll",
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

    async def conversation_sweep(self) -> None:
        try:
            await asyncio.to_thread(conversation.idle_sweep, self.gateway)
        except Exception:
            log.exception("conversation sweep failed")

    async def fetch_attachments(self) -> None:
        try:
            await attachments.fetch_pending(self.gateway)
        except Exception:
            log.exception("attachment fetch failed")

    async def poll_core(self) -> None:
        try:
            await core_sync.poll(self.gateway)
        except CoreUnavailable as exc:
            log.warning("core unavailable for polling", extra={"error": str(exc)[:200]})
        except Exception:
            log.exception("core poll failed")

    def alive(self) -> bool:
        if not self.scheduler.running:
            return False
        if self.last_dispatch is None:
            return True  # just started
        slack = timedelta(seconds=self.gateway.settings.outbox_poll_seconds * 5 + 60)
        return utcnow() - self.last_dispatch < slack
