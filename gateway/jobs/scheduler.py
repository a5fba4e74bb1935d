"""Background jobs on APScheduler.

On every instance that runs jobs (`lapor-gateway worker`, or `serve` with SCHEDULER_ENABLED):
outbox dispatch (rows are claimed), the resume sweep for inbound messages (claimed by a
conditional UPDATE), the bot's idle window, and attachment downloads (claimed with
`SELECT ... FOR UPDATE SKIP LOCKED` and a lease).

On the leader only (`gateway/jobs/leader.py`), because doing them twice is wrong or refused:
polling the SP4N core and its cursor, Telegram's getUpdates (a second poller gets `Conflict`),
every configured poller (X, YouTube, the mailbox; `gateway/jobs/pollers.py`), the SLA sweeps
and the daily digest. They start when this instance becomes the leader and stop when it stops
being it.

The leader's jobs live in a persistent job store (APScheduler's `SQLAlchemyJobStore` on the
gateway's database, table `apscheduler_jobs`): their next run time survives a restart, so a
digest due while the gateway was down runs when it comes back (within the misfire grace time).
Only the leader opens that store, because APScheduler 3 does not share a job store between
schedulers.

The scheduler runs in the event loop of the process that hosts it (the web process, or a
`lapor-gateway worker`) and only starts jobs there: their work runs in threads. Outbox dispatch
and inbound processing are not scheduler jobs but threads of their own started with it
(`gateway/jobs/workers.py`): the dispatcher keeps sending while rows are due, and the inbound
threads take each message as soon as its webhook stored it. What must run once across
instances (the core's cursors, Telegram polling, the pollers, the sweeps) runs on the leader
only. `alive()` is what `/healthz` reports: the scheduler is running and the dispatcher has
cycled recently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from channels.registry import build_pollers
from forwarder.base import CoreUnavailable
from gateway.admin import health as channel_health
from gateway.bot import conversation
from gateway.clock import utcnow
from gateway.core import intake as core_intake
from gateway.core import sync as core_sync
from gateway.intake import attachments, spool
from gateway.intake.webhooks import telegram_polling
from gateway.jobs.leader import Leadership
from gateway.jobs.pollers import PollerRunner
from gateway.jobs.workers import InboundWorkers, OutboxThread
from gateway.reports import digest
from gateway.sla import sweeps
from workdays.calendar import resolve_timezone

if TYPE_CHECKING:
    from gateway.context import Gateway

log = logging.getLogger(__name__)


SWEEP_STORE = "sweeps"  # the persistent job store's alias
SWEEP_JOB = "sla-sweep"
DIGEST_JOB = "daily-digest"
CORE_POLL_JOB = "core-poll"
CORE_INTAKE_JOB = "core-intake"
TELEGRAM_TASK = "telegram-polling"
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
    def __init__(self, gateway: Gateway, poll_inbound: bool = False) -> None:
        """`poll_inbound`: a worker process, whose inbound threads look in the database for
        what the web processes stored (they hand nothing over in memory)."""
        self.gateway = gateway
        self.poll_inbound = poll_inbound
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.outbox = OutboxThread(gateway.dispatcher(worker_id()))
        self.dispatcher = self.outbox.dispatcher
        self.inbound = InboundWorkers(gateway, gateway.settings.inbound_threads)
        self.leadership = Leadership(gateway.db)
        self.leading = False
        # The leader's long-running loops (Telegram polling, one per poller), by name; stopped
        # when leadership ends.
        self.leader_tasks: dict[str, asyncio.Task[None]] = {}
        self._stop_leader_tasks = asyncio.Event()

    def start(self) -> None:
        s = self.gateway.settings
        # (job, every N seconds, id, run at once): every instance runs these; what must run
        # once runs only on the leader (see `start_leading`).
        self.inbound.start(s.inbound_poll_seconds if self.poll_inbound else None)
        self.gateway.inbound_workers = self.inbound
        self.outbox.start()
        jobs: list[tuple[Callable[[], Awaitable[None]], float, str, bool]] = [
            (self.resume_inbound, s.inbound_resume_seconds, "inbound-resume", False),
            (self.conversation_sweep, 15, "conversation-idle", False),
            (self.fetch_attachments, s.attachment_fetch_seconds, "attachments", False),
            (self.elect, s.leader_check_seconds, "leader-election", True),
        ]
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
        self._cancel_leader_tasks()
        if self.gateway.inbound_workers is self.inbound:
            self.gateway.inbound_workers = None
        self.inbound.stop()
        self.outbox.stop()
        if _leader is self:
            _leader = None
        self.leading = False
        self.leadership.close()

    async def stopped(self) -> None:
        """Wait for the leader's loops to end after `shutdown()`."""
        tasks = list(self.leader_tasks.values())
        self.leader_tasks.clear()
        await asyncio.gather(*tasks, return_exceptions=True)

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
        if s.core_backend != "manual":
            # The core's events and the reports filed in SP4N-LAPOR!: one cursor each, walked
            # by the leader only.
            for job, job_id in (
                (self.poll_core, CORE_POLL_JOB),
                (self.poll_intake, CORE_INTAKE_JOB),
            ):
                self.scheduler.add_job(
                    job,
                    "interval",
                    seconds=s.core_poll_seconds,
                    id=job_id,
                    max_instances=1,
                    coalesce=True,
                    next_run_time=utcnow(),
                    replace_existing=True,
                )
        self._start_leader_tasks()
        log.info("leading the sweeps and pollers", extra={"worker": self.dispatcher.worker_id})

    def _start_leader_tasks(self) -> None:
        """The loops only one instance may run: Telegram's getUpdates and every poller."""
        s = self.gateway.settings
        self._stop_leader_tasks = asyncio.Event()
        loops: dict[str, Awaitable[None]] = {}
        if s.telegram_mode == "polling" and s.telegram_bot_token is not None:
            loops[TELEGRAM_TASK] = telegram_polling(self.gateway)
        for name, poller in build_pollers(self.gateway.channels).items():
            loops[f"poller:{name}"] = PollerRunner(self.gateway, poller).run(
                self._stop_leader_tasks
            )
        for name, loop in loops.items():
            self.leader_tasks[name] = asyncio.ensure_future(loop)

    def _cancel_leader_tasks(self) -> None:
        self._stop_leader_tasks.set()
        for task in self.leader_tasks.values():
            task.cancel()

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
        for job_id in (CORE_POLL_JOB, CORE_INTAKE_JOB):
            with contextlib.suppress(Exception):
                self.scheduler.remove_job(job_id)
        # Cancelled, not awaited: a getUpdates long poll ends with its connection, and a
        # poller's store step refuses a cursor that moved (`pollers.CursorMoved`).
        self._cancel_leader_tasks()
        self.leader_tasks.clear()
        if _leader is self:
            _leader = None
        self.leading = False
        log.warning("no longer leading the sweeps")

    async def sweep(self) -> None:
        try:
            await asyncio.to_thread(sweeps.run, self.gateway, None, with_digest=False)
        except Exception:
            log.exception("sla sweep failed")
        try:  # leader only, like the sweep: one alarm per incident, not one per instance
            await asyncio.to_thread(channel_health.raise_alarms, self.gateway)
        except Exception:
            log.exception("channel health alarms failed")

    async def send_digest(self) -> None:
        if not self.gateway.settings.digest_enabled:
            return
        try:
            await asyncio.to_thread(digest.send, self.gateway, utcnow())
        except Exception:
            log.exception("daily digest failed")

    async def resume_inbound(self) -> None:
        # Rows younger than the sweep interval are probably still queued in the threads
        # (`submit` skips those anyway); older ones were lost by a crash or stored elsewhere.
        s = self.gateway.settings
        try:
            # What waited on disk while the database was away comes first (issue 13).
            await asyncio.to_thread(spool.drain, self.gateway)
            await asyncio.to_thread(self.inbound.resume, s.inbound_resume_seconds)
        except Exception:
            log.exception("inbound resume failed")

    async def resume_all_inbound(self) -> None:
        """At start-up: what waited on disk, then everything stored before a crash, whatever
        its age."""
        try:
            await asyncio.to_thread(spool.drain, self.gateway)
            await asyncio.to_thread(self.inbound.resume, 0)
        except Exception:
            log.exception("inbound resume failed")

    async def conversation_sweep(self) -> None:
        try:
            await asyncio.to_thread(conversation.idle_sweep, self.gateway)
        except Exception:
            log.exception("conversation sweep failed")

    async def fetch_attachments(self) -> None:
        try:
            await attachments.fetch_pending(self.gateway, worker=self.dispatcher.worker_id)
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
        return self.outbox.alive(self.gateway.settings.outbox_poll_seconds * 5 + 60)
