"""The contract between the gateway and an SP4N-LAPOR core.

The gateway hands a finished `CoreReport` to `submit` with an idempotency key and gets the
core's tracking id back; `updates(since)` returns what happened in the core (status changes,
dispositions, answers, closing) after a cursor. A backend raises `CoreUnavailable` for anything
worth retrying (down, timeout, 5xx) and `CoreRejected` when retrying cannot help.

The agency's side goes the other way: what a liaison officer or the gateway did about a report
already in the core — "sedang diproses" (`progress`), the answer with its proof photos
(`answer`), closing it (`close`) — each once per idempotency key, with `find_followup` to ask
after a crash whether the core already has it. The core's own events about such a follow-up
carry its key back as `CoreEvent.origin_key` (when the core says so), so the gateway recognises
its own words and never takes them for news from the core.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class CoreUnavailable(Exception):
    """The core could not be reached or answered 5xx/timeout: retry later."""


class CoreRejected(Exception):
    """The core refused the request (4xx, invalid report): retrying will not help."""


@dataclass(frozen=True)
class CoreAttachment:
    url: str
    filename: str
    content_type: str


@dataclass(frozen=True)
class CoreReport:
    """A complaint as the core receives it. Personal data is already removed when `anonim`."""

    tracking_code: str  # ours (LPR-...), so a person can match the two systems
    title: str
    description: str
    category: str  # aspirasi | permintaan_informasi | pengaduan | pengaduan_berkadar_pengawasan
    source_channel: str
    received_at: datetime
    agency_code: str | None = None
    location_text: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    kecamatan: str | None = None
    kelurahan: str | None = None
    reporter_name: str | None = None
    reporter_contact: str | None = None
    anonim: bool = False
    rahasia: bool = False
    attachments: tuple[CoreAttachment, ...] = ()


@dataclass(frozen=True)
class CoreRef:
    core_id: str  # the LAPOR tracking id
    status: str  # the core's own status word; mapped through forwarder/status_map.py


class CoreEventKind(StrEnum):
    STATUS = "status"
    DISPOSITION = "disposition"
    ANSWER = "answer"
    CLOSED = "closed"


@dataclass(frozen=True)
class CoreEvent:
    event_id: str  # unique in the core: the same event twice changes nothing the second time
    core_id: str
    kind: CoreEventKind
    occurred_at: datetime
    status: str | None = None
    text: str | None = None
    agency_code: str | None = None
    attachments: tuple[CoreAttachment, ...] = ()
    # The idempotency key of the gateway's follow-up that caused this event, when the core
    # tells: the gateway's own words coming back, not news.
    origin_key: str | None = None


class FollowupKind(StrEnum):
    """What the agency's side sends about a report already in the core."""

    PROGRESS = "progress"  # "sedang diproses"
    ANSWER = "answer"  # the answer, with proof photos
    CLOSE = "close"  # closed by the gateway: the reporter is satisfied, or stayed silent


@dataclass(frozen=True)
class CoreReceipt:
    """The core's acknowledgement of a follow-up."""

    receipt_id: str | None  # the core's id for it (its event id); None when nothing changed
    status: str  # the report's status in the core afterwards (the core's own word)


@dataclass(frozen=True)
class CoreUpdates:
    events: list[CoreEvent]
    cursor: str | None  # pass back as `since` next time
    more: bool = False


class CoreClient(ABC):
    name: str

    @abstractmethod
    async def submit(self, report: CoreReport, idempotency_key: str) -> CoreRef:
        """Create the report in the core, once per idempotency key."""

    @abstractmethod
    async def find(self, idempotency_key: str) -> CoreRef | None:
        """The report submitted under this key, if the core has it (reconciliation)."""

    @abstractmethod
    async def updates(self, since: str | None) -> CoreUpdates:
        """Events after the cursor, oldest first."""

    async def send_feedback(self, core_id: str, text: str, rating: int | None) -> None:  # noqa: B027
        """Pass a reporter's feedback on an answer to the core (optional for a backend)."""

    async def redispose(self, core_id: str, agency_code: str, reason: str) -> None:
        """Move a report to another agency after a wrong disposition (Rembang SOP step 3)."""
        raise CoreRejected(f"{self.name}: re-disposition is not supported by this backend")

    async def progress(self, core_id: str, text: str, idempotency_key: str) -> CoreReceipt:
        """The agency is working on the report ("sedang diproses"), once per key."""
        raise CoreRejected(f"{self.name}: follow-ups are not supported by this backend")

    async def answer(
        self,
        core_id: str,
        text: str,
        attachments: tuple[CoreAttachment, ...],
        idempotency_key: str,
    ) -> CoreReceipt:
        """The agency's answer with its proof photos (signed links), once per key."""
        raise CoreRejected(f"{self.name}: follow-ups are not supported by this backend")

    async def close(self, core_id: str, reason: str, idempotency_key: str) -> CoreReceipt:
        """Close the report (the reporter is satisfied, or stayed silent), once per key.
        Closing a report the core has already closed changes nothing."""
        raise CoreRejected(f"{self.name}: follow-ups are not supported by this backend")

    async def find_followup(self, core_id: str, idempotency_key: str) -> CoreReceipt | None:
        """The follow-up sent under this key, if the core has it (reconciliation)."""
        return None

    async def aclose(self) -> None:  # noqa: B027
        """Release connections."""


@dataclass
class ManualTask:
    """What the manual backend asks an admin to do (paste into LAPOR!, type back the id)."""

    idempotency_key: str
    text: str
    fields: dict[str, str] = field(default_factory=dict)
