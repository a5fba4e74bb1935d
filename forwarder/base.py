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

The intake side: reports citizens file directly in SP4N-LAPOR! (the website, the app, SMS 1708)
that the national admin disposed to this regency (or one of its agencies) come out of
`incoming(since)` by cursor, each an `IncomingReport`; one the backend cannot map is not dropped
but carried as an `UnreadableReport` (its raw JSON and the error) for the gateway to keep and
show. A core that pushes announces each such report with an `INCOMING` event carrying it. The
regency admin's SOP actions on a report go back the same way as the agency's follow-ups, once per
key: `verify`, `dispose` (to an agency of the regency), `return_to_national` ("bukan
wewenang"), `archive`, `ask_reporter` (a question through LAPOR!, whose answer comes back as a
`REPORTER_REPLY` event). `follow_up(Followup)` sends any of them, so a caller needs one switch.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


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
    # A report filed in LAPOR! was disposed to this regency: `CoreEvent.report` carries it.
    INCOMING = "incoming"
    # The reporter answered a question asked through LAPOR! (`ask_reporter`): `text` and
    # `attachments` are the reporter's, `status` the report's status afterwards.
    REPORTER_REPLY = "reporter_reply"


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
    # With `INCOMING`: the report (or, when it cannot be mapped, its raw form and the error).
    report: IncomingReport | UnreadableReport | None = field(default=None, repr=False)


class FollowupKind(StrEnum):
    """What the regency's side sends about a report already in the core."""

    PROGRESS = "progress"  # "sedang diproses"
    ANSWER = "answer"  # the answer, with proof photos
    CLOSE = "close"  # closed by the gateway: the reporter is satisfied, or stayed silent
    # The regency admin's SOP actions (mostly on reports that started in LAPOR!).
    VERIFY = "verify"  # relevant, complete, clear
    DISPOSE = "dispose"  # to the competent agency (OPD) of the regency: `agency_code`
    RETURN = "return"  # "bukan wewenang": back to the national admin, with the reason
    ARCHIVE = "archive"  # irrelevant: archived, with the reason
    ASK = "ask"  # pend: a question to the reporter through LAPOR!


@dataclass(frozen=True)
class Followup:
    """One follow-up as the gateway's outbox sends it (`CoreClient.follow_up`). `text` is the
    progress note, the answer, the close/return/archive reason, the question, or a note on a
    verification or disposition."""

    kind: FollowupKind
    core_id: str
    idempotency_key: str
    text: str = ""
    agency_code: str | None = None  # DISPOSE only
    attachments: tuple[CoreAttachment, ...] = ()  # ANSWER only


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


# The channels a report reaches LAPOR! through (`IncomingReport.source_channel`); a core's word
# that none of the backends' tables knows is kept as it came (lower case).
LAPOR_CHANNELS = ("web", "app", "sms1708")


@dataclass(frozen=True)
class IncomingReport:
    """A report filed directly in SP4N-LAPOR! and disposed to this regency (or one of its
    agencies). The gateway did not create it; it is idempotent on `core_id`.

    LAPOR! often shares nothing about the reporter: answers go back through LAPOR!, not to a
    phone. When `anonim`, the reporter fields are empty whatever the core sent.
    """

    core_id: str  # the LAPOR! tracking id
    title: str  # may be "" (SMS 1708 reports have none): the gateway titles it
    description: str
    received_at: datetime  # filed in LAPOR!
    # ours (aspirasi | permintaan_informasi | pengaduan | pengaduan_berkadar_pengawasan), or
    # None when the core's word is unknown: the gateway classifies the text like any message
    category: str | None = None
    topic: str | None = None  # LAPOR!'s own "kategori" (e.g. "Infrastruktur"), as shown there
    source_channel: str | None = None  # web | app | sms1708 (LAPOR_CHANNELS), or the core's word
    disposed_at: datetime | None = None  # disposed to the regency
    agency_code: str | None = None  # the agency it was disposed to, if not the regency as such
    status: str | None = None  # the core's own status word (forwarder/status_map.py)
    location_text: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    kecamatan: str | None = None
    kelurahan: str | None = None
    reporter_name: str | None = field(default=None, repr=False)
    reporter_contact: str | None = field(default=None, repr=False)
    anonim: bool = False
    rahasia: bool = False
    attachments: tuple[CoreAttachment, ...] = ()
    # The core's JSON as it came (or the pasted text), for what the mapping does not cover.
    raw: Any = field(default=None, repr=False, compare=False, hash=False)

    @property
    def key(self) -> str:
        """The gateway's idempotency key for it: one complaint per LAPOR! tracking id (the same
        key as an `UnreadableReport` with that id, so a fixed report replaces its raw form)."""
        return f"lapor:{self.core_id}"


@dataclass(frozen=True)
class UnreadableReport:
    """An incoming report the backend could not map (no text, no id, a broken date ...). Never
    dropped: the gateway keeps `raw` and shows it with `error`, once per `key`."""

    error: str
    raw: Any = field(repr=False)  # the core's JSON for it, as it came
    core_id: str | None = None  # when at least the tracking id could be read

    @property
    def key(self) -> str:
        """Stable across polls: the tracking id, else a digest of the raw JSON."""
        if self.core_id:
            return f"lapor:{self.core_id}"
        canonical = json.dumps(self.raw, sort_keys=True, ensure_ascii=False, default=str)
        return "raw:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class IncomingPage:
    """One page of `incoming(since)`: the mapped reports and the unreadable ones, in the core's
    order; pass `cursor` back as `since`; `more` says another page is waiting now."""

    reports: list[IncomingReport]
    cursor: str | None
    more: bool = False
    unreadable: list[UnreadableReport] = field(default_factory=list)


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

    # --- intake: reports that started in LAPOR! ----------------------------------------------

    async def incoming(self, since: str | None) -> IncomingPage:
        """Reports disposed to this regency after the cursor, oldest first (none by default)."""
        return IncomingPage(reports=[], cursor=since, more=False)

    async def verify(self, core_id: str, note: str, idempotency_key: str) -> CoreReceipt:
        """The regency admin verified the report (relevant, complete, clear), once per key.
        A report the core already has past verification changes nothing."""
        raise CoreRejected(f"{self.name}: verification is not supported by this backend")

    async def dispose(
        self, core_id: str, agency_code: str, note: str, idempotency_key: str
    ) -> CoreReceipt:
        """Dispose the report to an agency of the regency, once per key (disposing to the agency
        it already has changes nothing)."""
        raise CoreRejected(f"{self.name}: disposition is not supported by this backend")

    async def return_to_national(
        self, core_id: str, reason: str, idempotency_key: str
    ) -> CoreReceipt:
        """ "Bukan wewenang": the report goes back to LAPOR!'s national admin, once per key."""
        raise CoreRejected(f"{self.name}: returning is not supported by this backend")

    async def archive(self, core_id: str, reason: str, idempotency_key: str) -> CoreReceipt:
        """Archive an irrelevant report, once per key."""
        raise CoreRejected(f"{self.name}: archiving is not supported by this backend")

    async def ask_reporter(self, core_id: str, question: str, idempotency_key: str) -> CoreReceipt:
        """Pend the report with a question to the reporter through LAPOR!, once per key; the
        reporter's answer comes back as a `REPORTER_REPLY` event."""
        raise CoreRejected(f"{self.name}: questions to the reporter are not supported")

    async def follow_up(self, followup: Followup) -> CoreReceipt:
        """Send any follow-up: the one switch over `FollowupKind` the gateway's outbox needs."""
        core_id, key, text = followup.core_id, followup.idempotency_key, followup.text
        match followup.kind:
            case FollowupKind.PROGRESS:
                return await self.progress(core_id, text, key)
            case FollowupKind.ANSWER:
                return await self.answer(core_id, text, followup.attachments, key)
            case FollowupKind.CLOSE:
                return await self.close(core_id, text, key)
            case FollowupKind.VERIFY:
                return await self.verify(core_id, text, key)
            case FollowupKind.DISPOSE:
                if not followup.agency_code:
                    raise CoreRejected("dispose: no agency to dispose to")
                return await self.dispose(core_id, followup.agency_code, text, key)
            case FollowupKind.RETURN:
                return await self.return_to_national(core_id, text, key)
            case FollowupKind.ARCHIVE:
                return await self.archive(core_id, text, key)
            case FollowupKind.ASK:
                return await self.ask_reporter(core_id, text, key)
        raise CoreRejected(f"unknown follow-up {followup.kind!r}")  # pragma: no cover

    async def aclose(self) -> None:  # noqa: B027
        """Release connections."""


@dataclass
class ManualTask:
    """What the manual backend asks an admin to do (paste into LAPOR!, type back the id)."""

    idempotency_key: str
    text: str
    fields: dict[str, str] = field(default_factory=dict)
