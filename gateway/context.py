"""The running gateway's parts, built once from settings and handed to routes, jobs and the CLI."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from pathlib import Path

from sqlmodel import Session

from channels import registry
from channels.base import Channel
from channels.webform import Limits, WebformChannel
from config.settings import Settings
from gateway.bot import conversation, mail
from gateway.complaints import create as complaints
from gateway.complaints import enrich
from gateway.complaints.reporter_links import ReporterLinks
from gateway.core import sync as core_sync
from gateway.intake import importer, manual_entry, tiktok_capture
from gateway.intake.inbound import Processor
from gateway.intake.inbound import process as intake_process
from gateway.jobs.workers import InboundWorkers, pool_size_for
from gateway.open311 import filing as open311_filing
from gateway.open311 import keys as open311_keys
from gateway.outbox import delivery
from gateway.outbox import queue as outbox
from gateway.sla import calendar_days, deadlines
from gateway.store.db import Database
from gateway.store.files import AttachmentStore, build_store
from gateway.store.media_links import MediaLinks
from workdays.calendar import WorkingCalendar
from workdays.deadlines import SlaPolicy


def build_channels(settings: Settings) -> dict[str, Channel]:
    return {"webform": WebformChannel(), **registry.build_channels(settings)}


def build_processors(channels: dict[str, Channel]) -> dict[str, Processor]:
    """The web form and the mailbox file a whole complaint at once; every chat channel talks to
    the bot."""
    processors: dict[str, Processor] = {name: conversation.handle_message for name in channels}
    processors["webform"] = complaints.create_from_form
    processors[mail.CHANNEL] = mail.handle_mail  # e-mail is not a chat: a mail is a complaint
    processors[importer.CHANNEL] = importer.process_import
    processors[manual_entry.CHANNEL] = manual_entry.create_from_manual
    processors[tiktok_capture.CHANNEL] = tiktok_capture.create_from_capture
    processors[open311_keys.CHANNEL] = open311_filing.create_from_open311
    return processors


def secret_key(settings: Settings) -> str:
    """The session/CSRF key: from SECRET_KEY, or (development only) generated once under var/."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    if settings.app_env == "production":
        from config.settings import SettingsError

        raise SettingsError("Invalid setting SECRET_KEY: required when APP_ENV=production")
    path = Path(settings.data_dir) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


@dataclass
class Gateway:
    settings: Settings
    db: Database
    files: AttachmentStore
    channels: dict[str, Channel]
    processors: dict[str, Processor] = field(default_factory=dict)
    handlers: dict[str, outbox.Handler] = field(default_factory=dict)
    # The inbound threads, when running (started with the background jobs, gateway/app.py).
    inbound_workers: InboundWorkers | None = None

    @classmethod
    def create(cls, settings: Settings, db: Database | None = None) -> Gateway:
        channels = build_channels(settings)
        if db is None:
            db = Database(
                settings.database_url,
                ack_timeout=settings.ack_timeout_seconds,
                pool_size=pool_size_for(settings),
                max_overflow=0,
            )
        gateway = cls(
            settings=settings,
            db=db,
            files=build_store(settings),
            channels=channels,
            processors=build_processors(channels),
        )
        gateway.handlers = gateway.default_handlers()
        return gateway

    def default_handlers(self) -> dict[str, outbox.Handler]:
        messages = delivery.ChannelMessageHandler(self.channels, self.db)
        return {
            delivery.REPLY: messages,
            delivery.NOTIFY_LIAISON: messages,
            delivery.NOTIFY_ADMIN: messages,
            delivery.SEND_DOCUMENT: messages,
            core_sync.CORE_SUBMIT: core_sync.CoreSubmitHandler(self),
            core_sync.CORE_FEEDBACK: core_sync.CoreFeedbackHandler(self),
            core_sync.CORE_REDISPOSE: core_sync.CoreRedisposeHandler(self),
            **dict.fromkeys(core_sync.FOLLOWUPS, core_sync.CoreFollowupHandler(self)),
        }

    @cached_property
    def calendar_source(self) -> calendar_days.CalendarSource:
        return calendar_days.CalendarSource(
            self.settings, self.db, check_seconds=self.settings.calendar_check_seconds
        )

    @property
    def calendar(self) -> WorkingCalendar:
        """The holiday files plus the admins' days, rebuilt when an admin changes them."""
        return self.calendar_source.current()

    def calendar_in(self, session: Session) -> WorkingCalendar:
        """The calendar, checked through the caller's session (inside a transaction)."""
        return self.calendar_source.current(session)

    @cached_property
    def sla_policy(self) -> SlaPolicy:
        return deadlines.policy_from(self.settings)

    @cached_property
    def enricher(self) -> enrich.Enricher:
        return enrich.make_enricher(self)

    @cached_property
    def media_links(self) -> MediaLinks:
        return MediaLinks(secret_key(self.settings), self.settings.public_base_url)

    @cached_property
    def reporter_links(self) -> ReporterLinks:
        """Web-form reporters' private links (their answer, photos and PUAS / TIDAK PUAS)."""
        return ReporterLinks(secret_key(self.settings), self.settings.public_base_url)

    @cached_property
    def reporter_notice_statuses(self) -> frozenset[str]:
        return frozenset(
            s.strip() for s in self.settings.reporter_status_notices.split(",") if s.strip()
        )

    @property
    def conversation_idle(self) -> timedelta:
        return timedelta(minutes=self.settings.conversation_idle_minutes)

    def hand_over(self, items: list[tuple[int, str]]) -> Callable[[], None] | None:
        """Stored inbound rows (id, sender key) to be processed. The inbound threads take
        them when they run; with WEB_PROCESSES_INBOUND=false they are left to a worker
        process; otherwise the caller gets a function to run after its answer (tests and
        commands without the background machinery)."""
        if not items:
            return None
        workers = self.inbound_workers
        if workers is not None and workers.submit(items):
            return None
        if workers is None and not self.settings.web_processes_inbound:
            # A web process beside `lapor-gateway worker`: the rows stay pending and a
            # worker's poll takes them (INBOUND_POLL_SECONDS); this process only acks.
            return None

        def process_now() -> None:
            for inbound_id, _sender in items:
                intake_process(self, inbound_id)

        return process_now

    def processor_for(self, channel: str) -> Processor:
        try:
            return self.processors[channel]
        except KeyError:
            raise LookupError(f"no processor for channel {channel!r}") from None

    def dispatcher(self, worker_id: str) -> outbox.Dispatcher:
        s = self.settings
        return outbox.Dispatcher(
            self.db,
            self.handlers,
            worker_id=worker_id,
            batch_size=s.outbox_batch_size,
            lease_seconds=s.outbox_lease_seconds,
            backoff=outbox.Backoff(s.outbox_backoff_base_seconds, s.outbox_backoff_max_seconds),
            max_attempts=s.outbox_max_attempts,
            limits=outbox.ChannelLimits(
                concurrency=s.outbox_channel_concurrency,
                rates=dict(s.outbox_send_rates),
                recipient_rates=dict(s.outbox_recipient_rates),
                burst=s.outbox_recipient_burst,
            ),
            max_in_flight=s.outbox_max_in_flight,
            poll_seconds=s.outbox_poll_seconds,
        )

    @property
    def form_limits(self) -> Limits:
        s = self.settings
        return Limits(
            min_chars=s.complaint_min_chars,
            max_chars=s.complaint_max_chars,
            max_files=s.upload_max_files,
            max_bytes=s.upload_max_bytes,
            max_side=s.image_max_side,
        )

    def channel(self, name: str) -> Channel | None:
        return self.channels.get(name)
