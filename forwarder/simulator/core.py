"""The simulated SP4N-LAPOR core itself: reports, their life, push delivery, faults, auto-answer.

Two kinds of report live here. The regency's gateway submits its own (`submit`); a citizen files
one in LAPOR! itself (`file_report`: the web form, the app, SMS 1708), where it waits for the
national admin, who disposes it to the regency (`dispose_to_regency`). From then on it is in the
regency's incoming feed (the `intake` table) and the regency acts on it like on its own: verify,
dispose to an agency, return it to the national admin ("bukan wewenang"), archive it, or ask the
reporter a question, which the citizen answers on their page (`reporter_reply`).

`CoreSimulator` is what the web app's routes call; tests and the gateway's end-to-end tests may
call it directly too (`act`, `tick`, `push_due`) to drive the core deterministically with their
own clock, without sleeping. The background loop (`run_background`) only calls the same methods
on a timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx

from forwarder.signing import sign_push
from forwarder.simulator.lifecycle import (
    AUTO_PATH,
    KIND_DISPOSITION,
    KIND_INCOMING,
    KIND_REPORTER_REPLY,
    STATUS_LABELS,
    Action,
    Origin,
    SimStatus,
    TransitionError,
    already_done,
    apply,
    apply_followup,
)
from forwarder.simulator.store import CoreStore, IntakeEntry, StoredEvent, StoredReport

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# Used when auto-answer must dispose a report that named no agency: in a regency, Kominfo
# runs SP4N-LAPOR! and is the natural catch-all.
DEFAULT_AGENCY = "DINKOMINFO"
AUTO_ACTOR = "auto"
# Who did a follow-up that came through the API: the agency, by way of the regency's gateway.
GATEWAY_ACTOR = "gateway"
NATIONAL_ACTOR = "nasional"  # LAPOR!'s national admin
REPORTER_ACTOR = "pelapor"  # the citizen who filed the report
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def utc_now() -> datetime:
    return datetime.now(UTC)


class FaultMode(StrEnum):
    NONE = "none"
    UNAVAILABLE = "unavailable"  # every API call answers 503
    # a new submit or follow-up is stored, then the answer never comes in time
    TIMEOUT_AFTER_ACCEPT = "timeout_after_accept"


@dataclass
class Faults:
    mode: FaultMode = FaultMode.NONE
    remaining: int | None = None  # faulty requests left; None = until switched off
    delay_seconds: float = 30.0  # how long a "timeout" submit holds the connection

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode.value,
            "remaining": self.remaining,
            "delay_seconds": self.delay_seconds,
        }


class ReportNotFound(Exception):
    pass


# Follow-ups that mean nothing without words: the answer, the question, why it is returned.
_NEEDS_TEXT = {Action.ANSWER: "an answer", Action.ASK: "a question", Action.RETURN: "a return"}


class KeyReused(Exception):
    """An idempotency key already used for a follow-up on another report."""


def _not_at_regency(report: StoredReport) -> TransitionError:
    return TransitionError(
        f"report {report.core_id} is with LAPOR!'s national admin, not disposed to the regency"
    )


def _side_changes(report: StoredReport, action: Action, to: SimStatus) -> dict[str, Any]:
    """What else changes on the report with its status: a citizen's report returned leaves the
    regency for the national admin; a question remembers where the reply goes back to."""
    changes: dict[str, Any] = {}
    if action is Action.RETURN and report.origin is Origin.LAPOR:
        changes["regency_at"] = None
    if to is SimStatus.PENDING and report.status is not SimStatus.PENDING:
        changes["status_before"] = report.status.value
    elif to is not SimStatus.PENDING and report.status_before is not None:
        changes["status_before"] = None
    return changes


class CoreSimulator:
    def __init__(
        self,
        db_path_or_url: str | Path,
        *,
        push_url: str | None = None,
        push_secret: str | None = None,
        auto_answer_seconds: float | None = None,
        api_key: str | None = None,
        clock: Clock = utc_now,
        push_transport: httpx.AsyncBaseTransport | None = None,
        push_timeout_seconds: float = 5.0,
        push_max_attempts: int = 20,
        push_backoff_max_seconds: float = 300.0,
        media_dir: str | Path | None = None,
    ) -> None:
        if push_url and not push_secret:
            raise ValueError("push_url needs push_secret: the gateway refuses unsigned events")
        self.store = CoreStore(db_path_or_url)
        self.push_url = push_url
        self.push_secret = push_secret
        self.auto_answer_seconds = auto_answer_seconds
        self.api_key = api_key
        self.clock = clock
        self.push_max_attempts = push_max_attempts
        self.push_backoff_max_seconds = push_backoff_max_seconds
        self.faults = Faults()
        self.media_dir = self._media_dir(media_dir)
        self._push_transport = push_transport
        self._push_timeout = push_timeout_seconds
        self._push_client: httpx.AsyncClient | None = None
        self._push_lock = asyncio.Lock()
        self._release = asyncio.Event()  # set to end held "timeout" requests early
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self.auto_answer_text = (TEMPLATES_DIR / "auto_answer.txt").read_text("utf-8").strip()

    def _media_dir(self, media_dir: str | Path | None) -> Path:
        if media_dir is not None:
            path = Path(media_dir)
        elif self.store.path == ":memory:":
            import tempfile

            path = Path(tempfile.mkdtemp(prefix="core-sim-media-"))
        else:
            db = Path(self.store.path)
            path = db.with_name(db.stem + "-media")
        path.mkdir(parents=True, exist_ok=True)
        return path

    # --- reports -------------------------------------------------------------------------

    def submit(self, idempotency_key: str, payload: dict[str, Any]) -> tuple[StoredReport, bool]:
        """Store the report once per key; (report, created)."""
        report, created = self.store.create_report(idempotency_key, payload, self.clock())
        if created:
            log.info("core simulator: report %s received", report.core_id)
        return report, created

    def file_report(
        self, idempotency_key: str, payload: dict[str, Any]
    ) -> tuple[StoredReport, bool]:
        """A citizen files a report in LAPOR! itself, once per key (the form's token): it waits
        for the national admin. (report, created)."""
        report, created = self.store.create_report(
            idempotency_key, payload, self.clock(), origin=Origin.LAPOR
        )
        if created:
            log.info("core simulator: citizen's report %s filed", report.core_id)
        return report, created

    def dispose_to_regency(
        self, core_id: str, agency_code: str | None = None, text: str | None = None
    ) -> StoredEvent:
        """The national admin's "disposisikan ke pemda": the report joins the regency's incoming
        feed (and is pushed). TransitionError unless it is a citizen's report waiting at the
        national admin."""
        report = self.get(core_id)
        if report.origin is not Origin.LAPOR:
            raise TransitionError(f"report {core_id} came from the regency itself")
        if report.at_regency:
            raise TransitionError(f"report {core_id} is with the regency already")
        event = self.store.dispose_to_regency(
            core_id,
            (agency_code or "").strip() or None,
            text.strip() if text and text.strip() else None,
            NATIONAL_ACTOR,
            self.clock(),
            push_queued=bool(self.push_url),
        )
        if event is None:
            raise TransitionError(
                f"cannot dispose report {core_id} to the regency while it is"
                f" {report.status.value} ({STATUS_LABELS[report.status]})"
            )
        self._notify_push()
        return event

    def reporter_reply(
        self, core_id: str, text: str, attachments: list[dict[str, str]] | None = None
    ) -> StoredEvent:
        """The reporter answers the question asked through LAPOR!: the report goes back to where
        it was before the question, with a `reporter_reply` event."""
        report = self.get(core_id)
        if report.status is not SimStatus.PENDING:
            raise TransitionError(f"report {core_id} has no open question")
        if not text.strip():
            raise ValueError("a reply needs text")
        back = report.status_before or SimStatus.UNVERIFIED
        event = self.store.record_change(
            core_id,
            expected_status=SimStatus.PENDING,
            new_status=back,
            kind=KIND_REPORTER_REPLY,
            text=text.strip(),
            agency_code=None,
            attachments=list(attachments or []),
            actor=REPORTER_ACTOR,
            now=self.clock(),
            push_queued=bool(self.push_url),
            report_changes={"status_before": None},
        )
        if event is None:
            raise TransitionError(f"report {core_id} changed meanwhile; try again")
        self._notify_push()
        return event

    def open_question(self, core_id: str) -> StoredEvent | None:
        """The question the reporter is asked now (the last one), while the report is pending."""
        report = self.get(core_id)
        if report.status is not SimStatus.PENDING:
            return None
        asked = [e for e in self.store.events_of(core_id) if e.status == SimStatus.PENDING.value]
        return asked[-1] if asked else None

    def get(self, core_id: str) -> StoredReport:
        report = self.store.get_report(core_id)
        if report is None:
            raise ReportNotFound(core_id)
        return report

    def act(
        self,
        core_id: str,
        action: Action,
        *,
        text: str | None = None,
        agency_code: str | None = None,
        attachments: list[dict[str, str]] | None = None,
        actor: str = "admin",
    ) -> StoredEvent:
        """Do what the LAPOR! admin or agency does; raise TransitionError when not allowed."""
        report = self.get(core_id)
        if not report.at_regency:
            raise _not_at_regency(report)
        transition = apply(report.status, action)
        if action is Action.DISPOSE:
            agency_code = (agency_code or report.agency_code or DEFAULT_AGENCY).strip()
        else:
            agency_code = None
        if action is Action.ANSWER and not (text and text.strip()):
            raise ValueError("an answer needs text")
        event = self.store.record_change(
            core_id,
            expected_status=report.status,
            new_status=transition.to,
            kind=transition.kind,
            text=text.strip() if text else None,
            agency_code=agency_code,
            attachments=list(attachments or []),
            actor=actor,
            now=self.clock(),
            push_queued=bool(self.push_url),
            report_changes=_side_changes(report, action, transition.to),
        )
        if event is None:  # someone changed it between our read and write: say so plainly
            raise TransitionError(f"report {core_id} changed meanwhile; try again")
        self._notify_push()
        return event

    def redispose(self, core_id: str, agency_code: str, reason: str | None) -> StoredEvent | None:
        """The regency moves a report to another agency. Before LAPOR!'s admin has disposed it,
        only the agency it will go to changes; after, it is a re-disposition. None: no change."""
        report = self.get(core_id)
        if not report.at_regency:
            raise _not_at_regency(report)
        agency_code = agency_code.strip()
        if report.agency_code == agency_code:
            return None
        if report.status in (SimStatus.UNVERIFIED, SimStatus.VERIFIED):
            event = self.store.record_change(
                core_id,
                expected_status=report.status,
                new_status=report.status,
                kind=KIND_DISPOSITION,
                text=reason,
                agency_code=agency_code,
                attachments=[],
                actor="api",
                now=self.clock(),
                push_queued=bool(self.push_url),
            )
            if event is None:
                raise TransitionError(f"report {core_id} changed meanwhile; try again")
            self._notify_push()
            return event
        return self.act(core_id, Action.DISPOSE, text=reason, agency_code=agency_code, actor="api")

    def followup(
        self,
        core_id: str,
        action: Action,
        idempotency_key: str,
        *,
        text: str | None = None,
        attachments: list[dict[str, str]] | None = None,
        agency_code: str | None = None,
    ) -> tuple[StoredEvent | None, bool]:
        """The regency's follow-up through the gateway, once per key: (event, created).

        The agency's (in process, answer, close) and the regency admin's (verify, dispose to an
        agency, return to the national admin, archive, ask the reporter). The same key again
        returns the first event, whatever happened since; a follow-up that is already done
        (closing a closed report, verifying a verified one) changes nothing (None, False)."""
        known = self.store.event_by_origin(idempotency_key)
        if known is not None:
            if known.core_id != core_id:
                raise KeyReused(idempotency_key)
            return known, False
        report = self.get(core_id)
        agency_code = (agency_code or "").strip() or None
        if action is Action.DISPOSE and agency_code is None:
            raise ValueError("a disposition needs an agency")
        if action in _NEEDS_TEXT and not (text and text.strip()):
            raise ValueError(f"{_NEEDS_TEXT[action]} needs text")
        if already_done(report.status, action, agency_code, report.agency_code):
            return None, False
        if not report.at_regency:
            raise _not_at_regency(report)
        transition = apply_followup(report.status, action)
        event = self.store.record_change(
            core_id,
            expected_status=report.status,
            new_status=transition.to,
            kind=transition.kind,
            text=text.strip() if text else None,
            agency_code=agency_code if action is Action.DISPOSE else None,
            attachments=list(attachments or []),
            actor=GATEWAY_ACTOR,
            now=self.clock(),
            push_queued=bool(self.push_url),
            origin_key=idempotency_key,
            report_changes=_side_changes(report, action, transition.to),
        )
        if event is None:
            known = self.store.event_by_origin(idempotency_key)
            if known is not None:  # the same follow-up, sent twice at the same moment
                return known, False
            raise TransitionError(f"report {core_id} changed meanwhile; try again")
        self._notify_push()
        return event, True

    def add_feedback(self, core_id: str, text: str, rating: int | None) -> None:
        self.get(core_id)
        self.store.add_feedback(core_id, text, rating, self.clock())

    # --- auto-answer ---------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> list[StoredEvent]:
        """Advance every report idle for `auto_answer_seconds` by one step of the demo path."""
        if not self.auto_answer_seconds:
            return []
        now = now or self.clock()
        before = now - timedelta(seconds=self.auto_answer_seconds)
        events = []
        for report in self.store.reports_idle_since(list(AUTO_PATH), before):
            if report.origin is Origin.LAPOR:
                continue  # a citizen's report: the regency's admin works it, not a canned path
            if self.store.followups_of(report.core_id):
                continue  # the agency works it through the gateway: no canned answer over it
            action = AUTO_PATH[report.status]
            try:
                events.append(
                    self.act(
                        report.core_id,
                        action,
                        text=self.auto_answer_text if action is Action.ANSWER else None,
                        actor=AUTO_ACTOR,
                    )
                )
            except TransitionError as exc:  # a person acted on it at the same moment
                log.info("core simulator: auto-answer skipped %s: %s", report.core_id, exc)
        return events

    # --- push ----------------------------------------------------------------------------

    def _notify_push(self) -> None:
        if self._loop is not None and self._wakeup is not None:
            self._loop.call_soon_threadsafe(self._wakeup.set)

    def _backoff(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.push_backoff_max_seconds, 2.0 ** max(attempts - 1, 0)))

    async def push_due(self, now: datetime | None = None) -> int:
        """Deliver due events in order; stop at the first failure. Returns how many went out."""
        if not self.push_url or not self.push_secret:
            return 0
        delivered = 0
        async with self._push_lock:
            while True:
                moment = now or self.clock()
                item = self.store.next_push(moment)
                if item is None:
                    return delivered
                body = json.dumps(
                    {"events": [self.event_body(item.event)]}, ensure_ascii=False
                ).encode("utf-8")
                headers = {"Content-Type": "application/json"}
                headers.update(sign_push(body, self.push_secret, moment))
                error = await self._post(body, headers)
                if error is None:
                    self.store.push_delivered(item.event.seq, moment)
                    delivered += 1
                    continue
                attempts = item.attempts + 1
                retry_at = (
                    None if attempts >= self.push_max_attempts else moment + self._backoff(attempts)
                )
                self.store.push_failed(item.event.seq, error, retry_at, moment)
                log.warning(
                    "core simulator: push of event %s failed (attempt %d): %s",
                    item.event.seq,
                    attempts,
                    error,
                )
                if retry_at is None:
                    continue  # gave up on this one (the gateway still gets it by polling)
                return delivered

    async def _post(self, body: bytes, headers: dict[str, str]) -> str | None:
        """POST one push; the error text, or None when the gateway took it (2xx)."""
        if self._push_client is None:
            self._push_client = httpx.AsyncClient(
                transport=self._push_transport, timeout=self._push_timeout
            )
        assert self.push_url is not None
        try:
            response = await self._push_client.post(self.push_url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if response.is_success:
            return None
        return f"HTTP {response.status_code}"

    # --- JSON ----------------------------------------------------------------------------

    def event_body(self, event: StoredEvent) -> dict[str, Any]:
        """An event as the API and the push send it; an `incoming` one carries its report."""
        body = event_json(event, self.store.instance_id)
        if event.kind == KIND_INCOMING:
            entry = self.store.intake_of(event.core_id)
            body["report"] = incoming_json(entry) if entry else None
        return body

    # --- faults --------------------------------------------------------------------------

    def set_faults(
        self, mode: FaultMode, remaining: int | None = None, delay_seconds: float | None = None
    ) -> Faults:
        self.faults = Faults(
            mode=mode,
            remaining=remaining,
            delay_seconds=self.faults.delay_seconds if delay_seconds is None else delay_seconds,
        )
        if mode is FaultMode.NONE:
            # Let requests held by "timeout after accept" finish now instead of at their delay;
            # later holds wait on a fresh event.
            self._release.set()
            self._release = asyncio.Event()
        return self.faults

    def take_fault(self, mode: FaultMode) -> bool:
        """True when this request must suffer `mode` (and count it down)."""
        if self.faults.mode is not mode:
            return False
        if self.faults.remaining is not None:
            self.faults.remaining -= 1
            if self.faults.remaining <= 0:
                self.faults = Faults(delay_seconds=self.faults.delay_seconds)
        return True

    async def hold(self, delay_seconds: float) -> None:
        """Keep a request open past any client timeout, unless the fault is switched off."""
        release = self._release
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(release.wait(), timeout=delay_seconds)

    # --- background ----------------------------------------------------------------------

    async def run_background(self, poll_seconds: float = 1.0) -> None:
        """Push events as they happen (and retry), and run auto-answer, until cancelled."""
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        while True:
            try:
                self.tick()
                await self.push_due()
            except Exception:  # keep the simulator alive; the next round tries again
                log.exception("core simulator: background round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=poll_seconds)
            self._wakeup.clear()

    async def aclose(self) -> None:
        self._release.set()
        if self._push_client is not None:
            await self._push_client.aclose()
            self._push_client = None
        self._loop = None
        self._wakeup = None


def event_id(event: StoredEvent, instance_id: str) -> str:
    return f"sim-{instance_id}-{event.seq}"


def event_json(event: StoredEvent, instance_id: str) -> dict[str, Any]:
    """An event as the API and the push send it."""
    status = SimStatus(event.status) if event.status else None
    return {
        "event_id": event_id(event, instance_id),
        "seq": event.seq,
        "report_id": event.core_id,
        "kind": event.kind,
        "status": status.value if status else None,
        "status_label": STATUS_LABELS[status] if status else None,
        "text": event.text,
        "agency_code": event.agency_code,
        "attachments": event.attachments,
        "occurred_at": event.occurred_at,
        "origin_key": event.origin_key,
    }


def report_json(report: StoredReport) -> dict[str, Any]:
    """A report as the API returns it: what was submitted plus the core's own fields."""
    return {
        **report.payload,
        "id": report.core_id,
        "idempotency_key": report.idempotency_key,
        "status": report.status.value,
        "status_label": STATUS_LABELS[report.status],
        "agency_code": report.agency_code,
        "created_at": report.created_at,
        "updated_at": report.changed_at,
    }


def incoming_json(entry: IntakeEntry) -> dict[str, Any]:
    """A citizen's report as the regency's incoming feed shows it (docs/core-api.md). LAPOR!
    keeps the citizen's contact (answers go back through LAPOR!) and shares the name only when
    the report is not anonymous."""
    report = entry.report
    data = report.payload
    anonim = bool(data.get("anonim"))
    return {
        "id": report.core_id,
        "seq": entry.seq,
        "title": data.get("title") or "",
        "description": data.get("description"),
        "category": data.get("category"),
        "topic": data.get("topic"),
        "source_channel": data.get("source_channel"),
        "received_at": report.created_at,
        "disposed_at": entry.disposed_at,
        "agency_code": entry.agency_code,
        "status": report.status.value,
        "status_label": STATUS_LABELS[report.status],
        "location_text": data.get("location_text"),
        "latitude": data.get("latitude"),
        "longitude": data.get("longitude"),
        "kecamatan": data.get("kecamatan"),
        "kelurahan": data.get("kelurahan"),
        "reporter_name": None if anonim else data.get("reporter_name"),
        "reporter_contact": None,
        "anonim": anonim,
        "rahasia": bool(data.get("rahasia")),
        "attachments": data.get("attachments") or [],
    }
