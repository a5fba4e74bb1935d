"""The contract between the gateway and an SP4N-LAPOR core.

The gateway hands a finished `CoreReport` to `submit` with an idempotency key and gets the
core's tracking id back; `updates(since)` returns what happened in the core (status changes,
dispositions, answers, closing) after a cursor. A backend raises `CoreUnavailable` for anything
worth retrying (down, timeout, 5xx) and `CoreRejected` when retrying cannot help.
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

    async def aclose(self) -> None:  # noqa: B027
        """Release connections."""


@dataclass
class ManualTask:
    """What the manual backend asks an admin to do (paste into LAPOR!, type back the id)."""

    idempotency_key: str
    text: str
    fields: dict[str, str] = field(default_factory=dict)
