"""Background jobs on APScheduler: outbox dispatch, the resume sweep for inbound messages, the
bot's idle window, attachment downloads and polling the SP4N core — on every instance — and the
SLA sweeps and the daily digest on the leader only (`gateway/jobs/leader.py`).

The leader's jobs live in a persistent job store (APScheduler's `SQLAlchemyJobStore` on the
gateway's database, table `apscheduler_jobs`): their next run time survives a restart, so a
digest due while the gateway was down runs when it comes back (within the misfire grace time).
Only the leader opens that store, because APScheduler 3 does not share a job store between
schedulers.

The scheduler runs inside the web process's event loop. `alive()` is what `/healthz` reports:
the scheduler is running and the dispatcher has run recently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from forwarder.base import CoreUnavailable
from gateway.bot import conversation
from gateway.clock import utcnow
from gateway.core import intake as core_intake
from gateway.core import sync as core_sync
from gateway.intake import attachments
from gateway.intake import inbound as intake
from gateway.jobs.leader import Leadership
from gateway.reports import digest
from gateway.sla import sweeps
from workdays.calendar import resolve_timezone

if TYPE_CHECKING:
    from gateway.context import Gateway

log = logging.getLogger(__name__)


SWEEP_STORE = "sweeps"  # the persistent job store's alias
SWEEP_JOB = "sla-sweep"
DIGEST_JOB = "daily-digest"
JOBS_TABLE = "apscheduler_jobs"
# A run missed while no instance was up still happens if it comes back within this window.
MISFIRE_GRACE_SECONDS = 6 * 3600

# The scheduler that currently leads in this process. Jobs in the persistent store are stored
# by reference to a module-level function (they must be picklable), which finds it here.
_leader: Scheduler | None = None


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def run_sweep_job() -> None:
    """The persistent `sla-sweep` job."""
    if _leader is not None:
        await _leader.sweep()


async def run_digest_job() -> None:
    """The persistent `daily-digest` job."""
    if _leader is not None:
        await _leader.send_digest()


class Scheduler:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.dispatcher = gateway.dispatcher(worker_id())
        self.last_dispatch: datetime | None = None
        self.leadership = Leadership(gateway.db)
        self.leading = False

    def start(self) -> None:
        s = self.gateway.settings
        # (job, every N seconds, id, run at once): every instance runs these; the sweeps run
        # only on the leader (see `elect`).
        jobs: list[tuple[Callable[[], Awaitable[None]], float, str, bool]] = [
            (self.dispatch_outbox, s.outbox_poll_seconds, "outbox", True),
            (self.resume_inbound, s.inbound_resume_seconds, "inbound-resume", False),
            (self.conversation_sweep, 15, "conversation-idle", False),
            (self.fetch_attachments, 20, "attachments", False),
            (self.elect, s.leader_check_seconds, "leader-election", True),
        ]
        if s.core_backend != "manual":
            jobs.append((self.poll_core, s.core_poll_seconds, "core-poll", False))
            jobs.append((self.poll_intake, s.core_poll_seconds, "core-intake", False))
        for job, seconds, job_id, at_once in jobs:
            self.scheduler.add_job(
                job,
                "interval",
                seconds=seconds,
                id=job_id,
                max_instances=1,
                coalesce=True,
                **({"next_run_time": utcnow()} if at_once else {}),
            )
        self.scheduler.start()

    def shutdown(self) -> None:
        global _leader
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if _leader is self:
            _leader = None
        self.leading = False
        self.leadership.close()

    # --- the leader's jobs ------------------------------------------------------------------------

    async def elect(self) -> None:
        """Become the sweeps' leader when nobody is, notice when this instance stopped being it."""
        try:
            leading = await asyncio.to_thread(self.leadership.try_lead)
        except Exception:
            log.exception("leader election failed")
            leading = False
        if leading and not self.leading:
            # In the loop's thread, so two elections cannot both open the store.
            self.start_leading()
        elif not leading and self.leading:
            self.stop_leading()

    def start_leading(self) -> None:
        """Open the persistent job store and make sure the sweep and digest jobs are in it.

        A job already stored keeps its next run time (a digest missed while down still runs);
        only a changed schedule (new settings) reschedules it."""
        global _leader
        if self.leading:
            return
        s = self.gateway.settings
        store = SQLAlchemyJobStore(engine=self.gateway.db.engine, tablename=JOBS_TABLE)
        self.scheduler.add_jobstore(store, alias=SWEEP_STORE)
        _leader = self
        self.leading = True
        self._ensure_job(
            SWEEP_JOB, run_sweep_job, IntervalTrigger(minutes=s.sweep_interval_minutes)
        )
        self._ensure_job(
            DIGEST_JOB,
            run_digest_job,
            CronTrigger(
                hour=s.digest_time.hour,
                minute=s.digest_time.minute,
                timezone=resolve_timezone(s.timezone),
            ),
        )
        log.info("leading the sweeps", extra={"worker": self.dispatcher.worker_id})

    def _ensure_job(self, job_id: str, func: object, trigger: BaseTrigger) -> Job:
        existing = self.scheduler.get_job(job_id, jobstore=SWEEP_STORE)
        if existing is not None:
            if str(existing.trigger) != str(trigger):
                existing.reschedule(trigger)
            return existing
        return self.scheduler.add_job(
            func,
            trigger,
            id=job_id,
            jobstore=SWEEP_STORE,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
        )

    def stop_leading(self) -> None:
        global _leader
        with contextlib.suppress(KeyError):  # the stored jobs stay for the next leader
            self.scheduler.remove_jobstore(SWEEP_STORE)
        if _leader is self:
            _leader = None
        self.leading = False
        log.warning("no longer leading the sweeps")

    async def sweep(self) -> None:
        try:
            await asyncio.to_thread(sweeps.run, self.gateway, None, with_digest=False)
        except Exception:
            log.exception("sla sweep failed")

    async def send_digest(self) -> None:
        if not self.gateway.settings.digest_enabled:
            return
        try:
            await asyncio.to_thread(digest.send, self.gateway, utcnow())
        except Exception:
            log.exception("daily digest failed")

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

    async def poll_intake(self) -> None:
        """Reports filed in SP4N-LAPOR! and disposed to the regency: the leader takes them (one
        instance walks the cursor; a push or a second instance finds them taken anyway)."""
        if not self.leading:
            return
        try:
            await core_intake.poll_incoming(self.gateway)
        except CoreUnavailable as exc:
            log.warning("core unavailable for the intake", extra={"error": str(exc)[:200]})
        except Exception:
            log.exception("core intake poll failed")

    def alive(self) -> bool:
        if not self.scheduler.running:
            return False
        if self.last_dispatch is None:
            return True  # just started
        slack = timedelta(seconds=self.gateway.settings.outbox_poll_seconds * 5 + 60)
        return utcnow() - self.last_dispatch < slack
