"""What domain code needs from the running gateway, as narrow protocols.

The composition root (`gateway/context.py`'s `Gateway`) builds the parts once and hands itself
to routes, jobs and the CLI; the rooms below it never import it. Each domain function asks for
the protocol naming what it really uses (the settings, the database, the clock, the links),
so a reader sees its reach in the signature and a test can hand it a small stand-in. `Gateway`
satisfies every protocol here structurally; `tests/architecture` checks both facts.

This module is a leaf: it imports (for types only) the store, config, the channels, workdays and
two leaf classes (the reporter links, the calendar source).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlmodel import Session

    from channels.base import Channel
    from channels.webform import Limits
    from config.settings import Settings
    from gateway.complaints.reporter_links import ReporterLinks
    from gateway.sla.calendar_days import CalendarSource
    from gateway.store.db import Database
    from gateway.store.files import AttachmentStore
    from gateway.store.media_links import MediaLinks
    from gateway.store.models import Complaint
    from normalizer.location import Gazetteer
    from normalizer.pipeline import NormalizedComplaint
    from workdays.calendar import WorkingCalendar
    from workdays.deadlines import SlaPolicy


class Configured(Protocol):
    @property
    def settings(self) -> Settings: ...


class Stored(Configured, Protocol):
    @property
    def db(self) -> Database: ...


class Filed(Stored, Protocol):
    """Stored files (attachments): photos are written and served through `files`."""

    @property
    def files(self) -> AttachmentStore: ...


class Linked(Configured, Protocol):
    """What the outgoing texts need: the notice settings and the signed links in them."""

    @property
    def media_links(self) -> MediaLinks: ...

    @property
    def reporter_links(self) -> ReporterLinks: ...

    @property
    def reporter_notice_statuses(self) -> frozenset[str]: ...


class Timed(Configured, Protocol):
    """The working-day clock: the calendar (holiday files plus admins' days) and the policy."""

    @property
    def calendar(self) -> WorkingCalendar: ...

    def calendar_in(self, session: Session) -> WorkingCalendar:
        """The calendar, checked through the caller's session: inside a transaction a second
        pooled connection deadlocks the pool under load (issue 12)."""
        ...

    @property
    def sla_policy(self) -> SlaPolicy: ...


class CaseParts(Stored, Linked, Timed, Protocol):
    """What a change of a case needs (`complaints/lifecycle.step`): transition, deadlines,
    status notices and the outbox rows they cause."""


class Normalizing(Protocol):
    """The normalizer fed with the deployment's directory, gazetteer and routing model."""

    gazetteer: Gazetteer
    agency_ids: dict[str, int]

    def normalize(self, session: Session, complaint: Complaint) -> NormalizedComplaint: ...

    def normalize_text(self, session: Session, text: str) -> NormalizedComplaint: ...


class Enriching(Stored, Protocol):
    @property
    def enricher(self) -> Normalizing: ...


class Filing(CaseParts, Enriching, Protocol):
    """Filing a new complaint: enrich it, fold duplicates, start its clock."""


class Conversing(Filing, Protocol):
    """The bot: filing, plus how long a chat may stay idle."""

    @property
    def conversation_idle(self) -> timedelta: ...


class Processing(Stored, Protocol):
    """Turning a stored inbound message into (part of) a complaint, per channel."""

    def processor_for(self, channel: str) -> Callable[..., Any]: ...


class Receiving(Stored, Protocol):
    """Webhooks and downloads: the configured channels, and where stored rows go next."""

    @property
    def channels(self) -> Mapping[str, Channel]: ...

    def hand_over(self, items: list[tuple[int, str]]) -> Callable[[], None] | None: ...


class Fetching(Filed, Receiving, Protocol):
    """Attachment downloads: the channels that hold the media, the file store for the bytes."""


class FormParts(Filed, Protocol):
    @property
    def form_limits(self) -> Limits: ...


class Sweeping(CaseParts, Protocol):
    """The SLA sweeps: case changes, plus the calendar's source to notice admins' edits."""

    @property
    def calendar_source(self) -> CalendarSource: ...


class TimedStore(Stored, Timed, Protocol):
    """Reading figures over working days (the digest)."""


class ImportParts(Filing, Processing, Filed, Protocol):
    """Imports and manual entry: stored like inbound messages, then filed through the processor."""


class Intake(ImportParts, Conversing, Receiving, Protocol):
    """Processing any stored inbound message: whatever the channel's processor needs (the bot,
    the web form, imports, manual entry), since the processor is chosen by the row's channel."""
