"""The gateway's side of the SP4N-LAPOR core: submitting complaints through the outbox, taking
the core's events (polled or pushed) exactly once, and passing reporters' feedback back.

Submitting is an outbox row (`core_submit`), so a core that is down for an hour only delays it;
the tracking code is the idempotency key, and after a timeout or a crash the core is asked
whether it already has the report before anything is sent again. Events are recorded in
`core_event_log` by their id, so a repeated event changes nothing the second time.

What the gateway's own users do about a filed report goes to the core the same way, as
follow-ups (`core_progress` when a liaison officer says "sedang diproses", `core_answer` with the
proof photos as signed links, `core_close` when the reporter is satisfied or stayed silent):
one outbox row per event that caused it, keyed `<code>:<kind>:<event id>`, sent to the report
that stands for the case in the core (a cluster's primary). A follow-up waits while the report
is not filed yet and while rows queued before it for the same report are still on their way,
so the core hears "in process" before the answer and the answer before the close. Events the
core sends about our own follow-ups are recognised (`own_followup`) and never taken for news:
only what the gateway's users did goes out, and nothing that came from the core goes back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from channels.base import Media
from channels.media import allowed_media_url, media_policy
from config.messages import t
from forwarder.base import (
    CoreClient,
    CoreEvent,
    CoreEventKind,
    CoreReceipt,
    CoreRejected,
    CoreReport,
    CoreUnavailable,
    Followup,
    FollowupKind,
    IncomingReport,
    UnreadableReport,
)
from forwarder.manual import ManualSubmissionRequired
from forwarder.registry import build_core_client
from forwarder.status_map import to_internal
from gateway.clock import as_utc, utcnow
from gateway.complaints import disclosure, lifecycle, workflow
from gateway.intake import attachments as attachments_intake
from gateway.outbox import queue as outbox
from gateway.outbox.payloads import CorePayload
from gateway.outbox.queue import Delivered, OutboxMessage
from gateway.store.models import (
    Agency,
    Attachment,
    AttachmentStatus,
    Complaint,
    CoreEventLog,
    GatewayState,
    OutboxItem,
    OutboxStatus,
    Status,
)

if TYPE_CHECKING:
    from gateway.parts import CaseParts, Filing

log = logging.getLogger(__name__)

# What an admin sees for a core attachment whose URL is not on the core's hosts: no address.
REFUSED_CORE_MEDIA = "core attachment: media could not be fetched (address not allowed)"

CORE_SUBMIT = "core_submit"
CORE_FEEDBACK = "core_feedback"
CORE_REDISPOSE = "core_redispose"
CORE_PROGRESS = "core_progress"
CORE_ANSWER = "core_answer"
CORE_CLOSE = "core_close"
# The regency admin's SOP actions on a report that started in LAPOR! (gateway/core/intake.py).
CORE_VERIFY = "core_verify"
CORE_DISPOSE = "core_dispose"
CORE_RETURN = "core_return"
CORE_ARCHIVE = "core_archive"
CORE_ASK = "core_ask"
# The agency's side of a filed report, and the admin's SOP actions on a LAPOR! report, by
# outbox kind: each sent with `CoreClient.follow_up`.
FOLLOWUPS: dict[str, FollowupKind] = {
    CORE_PROGRESS: FollowupKind.PROGRESS,
    CORE_ANSWER: FollowupKind.ANSWER,
    CORE_CLOSE: FollowupKind.CLOSE,
    CORE_VERIFY: FollowupKind.VERIFY,
    CORE_DISPOSE: FollowupKind.DISPOSE,
    CORE_RETURN: FollowupKind.RETURN,
    CORE_ARCHIVE: FollowupKind.ARCHIVE,
    CORE_ASK: FollowupKind.ASK,
}
# The channel of complaints filed in SP4N-LAPOR! itself.
LAPOR_CHANNEL = "lapor"
# A follow-up waits for the rows of these kinds queued before it for the same report.
ORDERED_KINDS = (CORE_SUBMIT, CORE_REDISPOSE, *FOLLOWUPS)
# Every outbox kind that talks to the core (the complaint page shows them).
CORE_KINDS = (CORE_SUBMIT, CORE_REDISPOSE, CORE_FEEDBACK, *FOLLOWUPS)
# An outbox row of the manual backend waits for an admin (`delivery_state`), then is pasted.
MANUAL = "manual"
PASTED = "pasted"
NOT_FILED = "not yet filed in the core"
WAITING = "waiting for"  # a row queued before it for the same report has not gone yet
# Why the gateway closes a report (`close_message`).
CLOSED_BY_REPORTER = "satisfied"
CLOSED_SILENT = "silent"
# The window passed after a reporter of the case responded (words, or PUAS from some of them).
CLOSED_AFTER_FEEDBACK = "after_feedback"
# SP4N-LAPOR! is Indonesian: what the gateway writes into it is too.
CORE_LANGUAGE = "id"
CURSOR_KEY = "core.cursor"
# A core that is down must not turn a complaint into a dead letter within the hour: with the
# backoff capped at OUTBOX_BACKOFF_MAX_SECONDS this keeps trying for well over a day.
SUBMIT_MAX_ATTEMPTS = 50

# Forward-only: the core may report a state we already passed (our disposition comes first).
_RANK = {
    Status.RECEIVED: 0,
    Status.PENDING: 0,
    Status.VERIFIED: 1,
    Status.DISPOSED: 2,
    Status.IN_PROGRESS: 3,
    Status.ANSWERED: 4,
    Status.CLOSED: 5,
}


def submit_message(complaint: Complaint) -> OutboxMessage:
    """The outbox row that files this complaint in the core (queue it on disposition)."""
    return OutboxMessage(
        kind=CORE_SUBMIT,
        key=f"{complaint.tracking_code}:{CORE_SUBMIT}",
        complaint_id=complaint.id,
    )


def enqueue_submit(session: Session, complaint: Complaint) -> None:
    outbox.enqueue(session, submit_message(complaint), max_attempts=SUBMIT_MAX_ATTEMPTS)


def build_report(gateway: CaseParts, session: Session, complaint: Complaint) -> CoreReport:
    """The complaint as the core receives it: built by `gateway.complaints.disclosure` (masked text,
    the reporter only in the reporter fields and not at all when `anonim`)."""
    return disclosure.core_report(gateway, session, complaint)


class CoreHandlers:
    """Outbox handlers for the core; one short-lived client per delivery (no shared loop)."""

    def __init__(self, gateway: CaseParts) -> None:
        self.gateway = gateway

    @asynccontextmanager
    async def client(self) -> AsyncIterator[CoreClient]:
        client = build_core_client(self.gateway.settings)
        try:
            yield client
        finally:
            await client.aclose()


class CoreSubmitHandler(CoreHandlers, outbox.BaseHandler):
    def _report(self, complaint_id: int) -> CoreReport | None:
        with self.gateway.db.read_session() as session:
            complaint = session.get(Complaint, complaint_id)
            if complaint is None:
                return None
            return build_report(self.gateway, session, complaint)

    async def deliver(self, item) -> Delivered:
        report = await asyncio.to_thread(self._report, item.complaint_id)
        if report is None:
            return Delivered(ok=False, error="the complaint no longer exists")
        key = report.tracking_code
        try:
            async with self.client() as core:
                if item.attempts > 1:
                    # A core that ignores Idempotency-Key must still not get it twice.
                    found = await core.find(key)
                    if found is not None:
                        return Delivered(
                            ok=True,
                            provider_message_id=found.core_id,
                            details={"status": found.status},
                        )
                ref = await core.submit(report, key)
        except ManualSubmissionRequired as manual:
            return Delivered(ok=True, details={"manual": manual.task.text})
        except CoreUnavailable as exc:
            return Delivered(ok=False, retryable=True, error=f"core unavailable: {exc}")
        except CoreRejected as exc:
            return Delivered(ok=False, retryable=False, error=f"core rejected: {exc}")
        return Delivered(ok=True, provider_message_id=ref.core_id, details={"status": ref.status})

    async def reconcile(self, item) -> Delivered | None:
        # Unlike a chat message, a report can be looked up: submit only if the core lacks it.
        return await self.deliver(item)

    def on_sent(self, session: Session, item, result: Delivered) -> None:
        complaint = session.get(Complaint, item.complaint_id)
        if complaint is None:
            return
        if result.details.get("manual"):
            item.delivery_state = MANUAL
            workflow.record(session, complaint, actor="system", action="core_manual_needed")
            return
        workflow.bookkeep(
            session,
            complaint,
            {"core_ref": result.provider_message_id, "core_status": result.details.get("status")},
            action="core_submitted",
            note=result.provider_message_id,
            public=True,
        )
        release_after_filing(session, complaint)

    def on_dead(self, session: Session, item, error: str) -> None:
        complaint = session.get(Complaint, item.complaint_id)
        if complaint is not None:
            workflow.record(
                session, complaint, actor="system", action="core_submit_failed", note=error[:2000]
            )


class CoreFeedbackHandler(CoreHandlers, outbox.BaseHandler):
    async def deliver(self, item) -> Delivered:
        payload = CorePayload.from_json(item.payload)
        try:
            async with self.client() as core:
                await core.send_feedback(payload.core_id or "", payload.text, payload.rating)
        except CoreUnavailable as exc:
            return Delivered(ok=False, retryable=True, error=str(exc))
        except CoreRejected as exc:
            return Delivered(ok=False, error=str(exc))
        return Delivered(ok=True)

    async def reconcile(self, item) -> Delivered | None:
        return await self.deliver(item)  # feedback twice is harmless, lost feedback is not


def redispose_message(complaint: Complaint, event_id: int) -> OutboxMessage:
    """Tell the core the complaint moved to another agency (sent once per re-disposition)."""
    return OutboxMessage(
        kind=CORE_REDISPOSE,
        key=f"{complaint.tracking_code}:{CORE_REDISPOSE}:{event_id}",
        complaint_id=complaint.id,
    )


class CoreRedisposeHandler(CoreHandlers, outbox.BaseHandler):
    def _target(self, complaint_id: int) -> tuple[str | None, str | None, str]:
        with self.gateway.db.read_session() as session:
            complaint = session.get(Complaint, complaint_id)
            if complaint is None:
                return None, None, ""
            agency = session.get(Agency, complaint.agency_id) if complaint.agency_id else None
            return complaint.core_ref, agency.code if agency else None, complaint.tracking_code

    async def deliver(self, item) -> Delivered:
        if self.gateway.settings.core_backend == "manual":
            return Delivered(ok=True, details={"manual": True})  # the admin re-disposes in LAPOR!
        core_ref, agency_code, _code = await asyncio.to_thread(self._target, item.complaint_id)
        if agency_code is None:
            return Delivered(ok=False, error="the complaint has no agency")
        if core_ref is None:
            # Not filed yet: the submission will carry the new agency; retry until it is filed.
            return Delivered(ok=False, retryable=True, error="not yet filed in the core")
        try:
            async with self.client() as core:
                await core.redispose(
                    core_ref, agency_code, CorePayload.from_json(item.payload).reason
                )
        except CoreUnavailable as exc:
            return Delivered(ok=False, retryable=True, error=str(exc))
        except CoreRejected as exc:
            return Delivered(ok=False, error=str(exc))
        return Delivered(ok=True)

    async def reconcile(self, item) -> Delivered | None:
        return await self.deliver(item)  # moving to the agency it already has changes nothing

    def on_sent(self, session: Session, item, result: Delivered) -> None:
        if result.details.get("manual"):
            item.delivery_state = MANUAL  # waits for the admin, like every manual task
        release_next(session, item)

    def on_dead(self, session: Session, item, error: str) -> None:
        complaint = session.get(Complaint, item.complaint_id)
        if complaint is not None:
            workflow.record(
                session,
                complaint,
                actor="system",
                action="core_submit_failed",
                note=f"re-disposition: {error}"[:2000],
            )


# --- the agency's follow-ups: in process, answer, close ----------------------------------------


def enqueue(session: Session, message: OutboxMessage | None) -> bool:
    """Queue a row for the core inside the caller's transaction, patient enough to outlast a
    core that is down for a day (None: nothing to send). False if the key was queued before."""
    if message is None:
        return False
    return outbox.enqueue(session, message, max_attempts=SUBMIT_MAX_ATTEMPTS)


def _in_core(session: Session, complaint: Complaint) -> bool:
    """Filed in the core, or queued to be (its `core_submit` row exists)."""
    if complaint.core_ref:
        return True
    query = (
        select(col(OutboxItem.id))
        .where(col(OutboxItem.kind) == CORE_SUBMIT)
        .where(col(OutboxItem.complaint_id) == complaint.id)
        .limit(1)
    )
    return session.scalar(query) is not None


def in_core(session: Session, complaint: Complaint) -> bool:
    """Filed in the core, or queued to be."""
    return _in_core(session, complaint)


def core_owner(session: Session, complaint: Complaint) -> Complaint:
    """The complaint whose report stands for this case in the core: the complaint itself when
    it is filed (or queued to be), else the complaint it was merged into or the primary of its
    cluster — only the primary of a cluster has a `core_ref`."""
    if _in_core(session, complaint):
        return complaint
    seen = {complaint.id}
    queue = [complaint.merged_into_id, complaint.cluster_id]
    while queue:
        other_id = queue.pop(0)
        if other_id is None or other_id in seen:
            continue
        seen.add(other_id)
        other = session.get(Complaint, other_id)
        if other is None:
            continue
        if _in_core(session, other):
            return other
        queue += [other.merged_into_id, other.cluster_id]
    # A report filed in LAPOR! that joined the case (it follows the case's primary, or an admin
    # merged it in): its record is the case's one record in the core, so the case is never
    # filed a second time.
    member = session.scalar(
        select(Complaint)
        .where(col(Complaint.cluster_id).in_(seen))
        .where(col(Complaint.core_ref).is_not(None))
        .where(
            or_(
                col(Complaint.status) != Status.MERGED.value,
                col(Complaint.origin_channel) == LAPOR_CHANNEL,
            )
        )
        .order_by(col(Complaint.id))
        .limit(1)
    )
    return member if member is not None else complaint


def lapor_record(session: Session, complaint: Complaint) -> Complaint | None:
    """The complaint filed in SP4N-LAPOR! itself whose record stands for this case in the core
    (the case started in LAPOR!, or a LAPOR! report joined it), else None: the admin's SOP
    actions then go to LAPOR! as follow-ups instead of a submission."""
    owner = core_owner(session, complaint)
    if owner.origin_channel == LAPOR_CHANNEL and owner.core_ref:
        return owner
    return None


def sop_message(
    session: Session,
    complaint: Complaint,
    kind: str,
    event_id: int,
    payload: CorePayload,
) -> OutboxMessage | None:
    """An admin's SOP action (`core_verify`, `core_dispose`, `core_return`, `core_archive`,
    `core_ask`) for the LAPOR! record of the case, once per event; None when the case has no
    LAPOR! record (the gateway's own reports are verified and disposed before filing)."""
    if kind not in FOLLOWUPS or FOLLOWUPS[kind] in (
        FollowupKind.PROGRESS,
        FollowupKind.ANSWER,
        FollowupKind.CLOSE,
    ):
        raise ValueError(f"not an SOP action: {kind!r}")
    owner = lapor_record(session, complaint)
    if owner is None:
        return None
    return OutboxMessage(
        kind=kind,
        key=f"{owner.tracking_code}:{kind}:{event_id}",
        complaint_id=owner.id,
        payload=payload,
    )


def _followup_message(
    session: Session, complaint: Complaint, kind: str, key: str, payload: CorePayload
) -> OutboxMessage | None:
    owner = core_owner(session, complaint)
    if not _in_core(session, owner):
        return None  # never filed (nor queued): there is no report to follow up in the core
    return OutboxMessage(
        kind=kind,
        key=f"{owner.tracking_code}:{kind}:{key}",
        complaint_id=owner.id,
        payload=payload,
    )


def progress_message(session: Session, complaint: Complaint, event_id: int) -> OutboxMessage | None:
    """ "Sedang diproses" for the core, once per event (a liaison officer acknowledged)."""
    agency = session.get(Agency, complaint.agency_id) if complaint.agency_id else None
    text = t(CORE_LANGUAGE, "core_followup.progress", agency=agency.name if agency else "instansi")
    return _followup_message(session, complaint, CORE_PROGRESS, str(event_id), CorePayload(text))


def answer_message(
    session: Session,
    complaint: Complaint,
    event_id: int,
    text: str,
    attachments: Sequence[Attachment] = (),
) -> OutboxMessage | None:
    """The agency's answer for the core with its proof photos (stored attachments, sent as
    signed links built at delivery), once per event."""
    payload = CorePayload(text, attachment_ids=tuple(a.id for a in attachments if a.id is not None))
    return _followup_message(session, complaint, CORE_ANSWER, str(event_id), payload)


def close_message(
    gateway: CaseParts, session: Session, complaint: Complaint, reason: str
) -> OutboxMessage | None:
    """Closing the report in the core: `CLOSED_BY_REPORTER`, `CLOSED_AFTER_FEEDBACK` or
    `CLOSED_SILENT`. A case closes once, so the key is the case's (whichever reporter of a
    cluster closed it)."""
    if reason not in (CLOSED_BY_REPORTER, CLOSED_AFTER_FEEDBACK, CLOSED_SILENT):
        raise ValueError(f"unknown reason to close: {reason!r}")
    text = t(
        CORE_LANGUAGE,
        f"core_followup.closed_{reason}",
        days=gateway.sla_policy.feedback_working_days,
    )
    return _followup_message(
        session, complaint, CORE_CLOSE, "case", CorePayload(text, reason=reason)
    )


def followup_attachments(
    gateway: CaseParts, session: Session, item: OutboxItem
) -> tuple[disclosure.CoreAttachment, ...]:
    """The row's photos as the core fetches them: signed, expiring links, fresh each time."""
    ids = list(CorePayload.from_json(item.payload).attachment_ids)
    if not ids:
        return ()
    rows = session.scalars(
        select(Attachment)
        .where(col(Attachment.id).in_(ids))
        .where(col(Attachment.status) == AttachmentStatus.STORED)
        .order_by(col(Attachment.id))
    ).all()
    return disclosure.core_attachments(gateway, rows)


def waiting_for(session: Session, item: OutboxItem) -> OutboxItem | None:
    """The first row for the same report queued before this one and not delivered yet."""
    return session.scalar(
        select(OutboxItem)
        .where(col(OutboxItem.complaint_id) == item.complaint_id)
        .where(col(OutboxItem.kind).in_(ORDERED_KINDS))
        .where(col(OutboxItem.id) < item.id)
        .where(col(OutboxItem.status).in_((OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT)))
        .order_by(col(OutboxItem.id))
        .limit(1)
    )


def release_next(session: Session, item: OutboxItem) -> None:
    """A row for the core went out: the follow-up waiting behind it may go now rather than at
    the end of its backoff."""
    following = session.scalar(
        select(OutboxItem)
        .where(col(OutboxItem.complaint_id) == item.complaint_id)
        .where(col(OutboxItem.kind).in_(ORDERED_KINDS))
        .where(col(OutboxItem.id) > item.id)
        .where(col(OutboxItem.status) == OutboxStatus.PENDING)
        .order_by(col(OutboxItem.id))
        .limit(1)
    )
    if following is not None:
        following.next_attempt_at = utcnow()
        session.add(following)


def release_after_filing(session: Session, complaint: Complaint) -> None:
    """The report is in the core now: rows that waited for it go, and those that gave up
    waiting (dead letters saying "not yet filed" or "waiting for") are queued again."""
    rows = session.scalars(
        select(OutboxItem)
        .where(col(OutboxItem.complaint_id) == complaint.id)
        .where(col(OutboxItem.kind).in_((CORE_REDISPOSE, *FOLLOWUPS)))
        .where(col(OutboxItem.status).in_((OutboxStatus.PENDING, OutboxStatus.DEAD)))
    ).all()
    now = utcnow()
    for row in rows:
        if row.status == OutboxStatus.DEAD:
            if not (row.last_error or "").startswith((NOT_FILED, WAITING)):
                continue  # it failed for a reason of its own: an admin resends it
            row.status = OutboxStatus.PENDING
            row.attempts = 0
        row.next_attempt_at = now
        row.updated_at = now
        session.add(row)


@dataclass(frozen=True)
class _Followup:
    kind: FollowupKind
    core_ref: str | None
    text: str
    attachments: tuple[disclosure.CoreAttachment, ...]
    blocker: str | None  # what it waits for ("core_submit #12"), None when free to go
    blocker_in_flight: bool  # being delivered right now (by a live dispatcher)
    agency_code: str | None = None  # a disposition's agency


class CoreFollowupHandler(CoreHandlers, outbox.BaseHandler):
    """`core_progress`, `core_answer`, `core_close`: once per key, in the order queued."""

    # How often to look whether a row being delivered at this moment has finished.
    IN_FLIGHT_POLL_SECONDS = 0.05

    def _load(self, item: OutboxItem) -> _Followup | None:
        with self.gateway.db.read_session() as session:
            complaint = session.get(Complaint, item.complaint_id)
            if complaint is None:
                return None
            blocker = waiting_for(session, item)
            in_flight = (
                blocker is not None
                and blocker.status == OutboxStatus.IN_FLIGHT
                and blocker.claimed_until is not None
                and as_utc(blocker.claimed_until) >= utcnow()
            )
            return _Followup(
                kind=FOLLOWUPS[item.kind],
                core_ref=complaint.core_ref,
                text=CorePayload.from_json(item.payload).text,
                attachments=followup_attachments(self.gateway, session, item),
                blocker=f"{blocker.kind} #{blocker.id}" if blocker is not None else None,
                blocker_in_flight=in_flight,
                agency_code=CorePayload.from_json(item.payload).agency_code,
            )

    async def _ready(self, item: OutboxItem) -> _Followup | Delivered:
        """The follow-up once nothing queued before it for the report is on its way; a row
        delivered by this very batch is waited for (briefly), anything else means later."""
        patience = self.gateway.settings.core_timeout_seconds * 2 + 1
        waited = 0.0
        while True:
            loaded = await asyncio.to_thread(self._load, item)
            if loaded is None:
                return Delivered(ok=False, error="the complaint no longer exists")
            if loaded.blocker is None:
                return loaded
            if not loaded.blocker_in_flight or waited >= patience:
                return Delivered(
                    ok=False, retryable=True, error=f"{WAITING} {loaded.blocker} to go first"
                )
            await asyncio.sleep(self.IN_FLIGHT_POLL_SECONDS)
            waited += self.IN_FLIGHT_POLL_SECONDS

    async def deliver(self, item) -> Delivered:
        ready = await self._ready(item)
        if isinstance(ready, Delivered):
            return ready
        manual = self.gateway.settings.core_backend == "manual"
        if ready.core_ref is None and not manual:
            return Delivered(ok=False, retryable=True, error=NOT_FILED)
        core_id = ready.core_ref or ""
        key = item.idempotency_key
        try:
            async with self.client() as core:
                if item.attempts > 1 and ready.core_ref:
                    # It may have reached the core before a crash or a timeout: ask first.
                    found = await core.find_followup(core_id, key)
                    if found is not None:
                        return _receipt_delivered(found)
                receipt = await core.follow_up(
                    Followup(
                        kind=ready.kind,
                        core_id=core_id,
                        idempotency_key=key,
                        text=ready.text,
                        agency_code=ready.agency_code,
                        attachments=ready.attachments,
                    )
                )
        except ManualSubmissionRequired as exc:
            return Delivered(ok=True, details={"manual": exc.task.text})
        except CoreUnavailable as exc:
            return Delivered(ok=False, retryable=True, error=f"core unavailable: {exc}")
        except CoreRejected as exc:
            return Delivered(ok=False, retryable=False, error=f"core rejected: {exc}")
        return _receipt_delivered(receipt)

    async def reconcile(self, item) -> Delivered | None:
        # The dispatcher died mid-send: the core is asked for the key before anything is sent.
        return await self.deliver(item)

    def on_sent(self, session: Session, item, result: Delivered) -> None:
        complaint = session.get(Complaint, item.complaint_id)
        if complaint is None:
            return
        if result.details.get("manual"):
            item.delivery_state = MANUAL
            workflow.note(session, complaint, actor="system", action=f"{item.kind}_manual")
        else:
            status = result.details.get("status")
            workflow.bookkeep(
                session,
                complaint,
                {"core_status": str(status)[:60]} if status else {},
                action=f"{item.kind}_sent",
                note=result.provider_message_id,
            )
        release_next(session, item)

    def on_dead(self, session: Session, item, error: str) -> None:
        complaint = session.get(Complaint, item.complaint_id)
        if complaint is not None:
            workflow.note(
                session,
                complaint,
                actor="system",
                action="core_followup_failed",
                note=f"{item.kind}: {error}"[:2000],
            )


def _receipt_delivered(receipt: CoreReceipt) -> Delivered:
    return Delivered(
        ok=True, provider_message_id=receipt.receipt_id, details={"status": receipt.status}
    )


def own_followup(session: Session, complaint: Complaint, event: CoreEvent) -> OutboxItem | None:
    """The gateway's follow-up that this core event is about, if it is one (our own words
    coming back, not news). A core that names the request (`origin_key`) is believed; for one
    that does not, the event id the core answered with, then the content decide."""
    rows = session.scalars(
        select(OutboxItem)
        .where(col(OutboxItem.complaint_id) == complaint.id)
        .where(col(OutboxItem.kind).in_(tuple(FOLLOWUPS)))
        .order_by(col(OutboxItem.id))
    ).all()
    if event.origin_key:
        return next((r for r in rows if r.idempotency_key == event.origin_key), None)
    for row in rows:
        if row.provider_message_id and row.provider_message_id == event.event_id:
            return row
    kinds = {
        CoreEventKind.ANSWER: CORE_ANSWER,
        CoreEventKind.CLOSED: CORE_CLOSE,
        CoreEventKind.STATUS: CORE_PROGRESS,
        CoreEventKind.DISPOSITION: CORE_DISPOSE,
    }
    kind = kinds.get(event.kind)
    if event.kind is CoreEventKind.STATUS:
        # The admin's SOP actions show as status events: the status says which one it was.
        kind = _SOP_BY_STATUS.get(_mapped(event.status), kind)  # type: ignore[arg-type]
    for row in rows:
        if row.kind != kind:
            continue
        if kind == CORE_DISPOSE and event.agency_code not in (
            None,
            CorePayload.from_json(row.payload).agency_code,
        ):
            continue
        if kind == CORE_ANSWER and _words(CorePayload.from_json(row.payload).text) != _words(
            event.text
        ):
            continue
        if kind == CORE_PROGRESS and (
            _mapped(event.status) is not Status.IN_PROGRESS
            or _RANK.get(Status(complaint.status), -1) < _RANK[Status.IN_PROGRESS]
        ):
            continue
        return row
    return None


# A status event the core wrote for one of the admin's SOP actions, by the status it reached.
_SOP_BY_STATUS = {
    Status.VERIFIED: CORE_VERIFY,
    Status.PENDING: CORE_ASK,
    Status.RETURNED: CORE_RETURN,
    Status.ARCHIVED: CORE_ARCHIVE,
}


def _words(text: object) -> str:
    return " ".join(str(text or "").split())


def feedback_message(
    complaint: Complaint, text: str, rating: int | None, key: str
) -> OutboxMessage | None:
    if not complaint.core_ref:
        return None
    return OutboxMessage(
        kind=CORE_FEEDBACK,
        key=f"{complaint.tracking_code}:feedback:{key}",
        complaint_id=complaint.id,
        payload=CorePayload(
            disclosure.feedback_text(text), core_id=complaint.core_ref, rating=rating
        ),
    )


# --- events from the core ---------------------------------------------------------------------


def apply_event(gateway: Filing, event: CoreEvent, source: str, now: datetime | None = None) -> str:
    """Apply one core event in its own transaction; returns what happened (for the log)."""
    with gateway.db.session() as session:
        outcome = apply_event_in(gateway, session, event, source, now)
        if outcome == "duplicate":
            session.rollback()
            return outcome
        try:
            workflow.commit(session)
        except IntegrityError:
            return "duplicate"  # the same event arrived by push and poll at once
    return outcome


def apply_event_in(
    gateway: Filing, session: Session, event: CoreEvent, source: str, now: datetime | None = None
) -> str:
    """Apply one core event inside the caller's transaction (polled, pushed, or typed in by an
    admin with the manual backend), recording it in the event log."""
    now = now or utcnow()
    if session.scalar(
        select(col(CoreEventLog.id)).where(col(CoreEventLog.event_id) == event.event_id)
    ):
        return "duplicate"
    incoming = None
    if event.kind is CoreEventKind.INCOMING:
        incoming = _incoming(gateway, session, event, source, now)
    complaint = session.scalar(
        select(Complaint)
        .where(col(Complaint.core_ref) == event.core_id)
        .order_by(col(Complaint.id))
    )
    own = own_followup(session, complaint, event) if complaint is not None else None
    if incoming is not None:
        outcome = incoming
    elif complaint is None:
        outcome = "unknown report"
    elif own is not None:
        # Our own follow-up as the core recorded it: note the core's status, tell nobody.
        if event.status:
            workflow.bookkeep(session, complaint, {"core_status": event.status[:60]})
        outcome = f"own {own.kind} {own.idempotency_key}"[:200]
    else:
        outcome = _apply(gateway, session, complaint, event, now)
    session.add(
        CoreEventLog(
            event_id=event.event_id,
            core_id=event.core_id,
            kind=event.kind.value,
            status=event.status,
            source=source,
            complaint_id=complaint.id if complaint else None,
            outcome=outcome,
            occurred_at=event.occurred_at,
            received_at=now,
        )
    )
    return outcome


def _incoming(
    gateway: Filing, session: Session, event: CoreEvent, source: str, now: datetime
) -> str:
    """A report filed in LAPOR! reached the regency: it joins the inbox (or, unreadable, is kept
    raw); without the report in the event the poll of the intake brings it."""
    from gateway.core import intake

    report = event.report
    if isinstance(report, IncomingReport):
        return f"lapor {intake.take_lapor_report(gateway, session, report, source, now).outcome}"
    if isinstance(report, UnreadableReport):
        return f"lapor {intake.keep_unreadable(session, report, now).outcome}"
    return "incoming without report: the intake poll brings it"


def _apply(
    gateway: CaseParts, session: Session, complaint: Complaint, event: CoreEvent, now: datetime
) -> str:
    status = {"core_status": event.status[:60]} if event.status else {}
    workflow.bookkeep(session, complaint, status)
    if lifecycle.is_follower(complaint) and core_owner(session, complaint) is complaint:
        # A report filed in LAPOR! that joined another complaint's case: its record is the
        # case's record in the core, so what LAPOR! says about it is about the case.
        case = lifecycle.case_of(session, complaint)
        workflow.bookkeep(session, case, {"core_status": complaint.core_status})
        complaint = case
    if event.kind is CoreEventKind.REPORTER_REPLY:
        return _reporter_reply(gateway, session, complaint, event, now)
    if lifecycle.is_follower(complaint):
        # Only a case's primary is filed; a follower with a report of its own predates the
        # one-case rule. Keep what the core said; the case moves at its primary.
        workflow.bookkeep(
            session, complaint, {}, action="core_status", note=event.text or event.status
        )
        return "kept: follows a case"
    current = Status(complaint.status)
    if event.kind is CoreEventKind.ANSWER:
        return _answer(gateway, session, complaint, event, now)
    target = Status.CLOSED if event.kind is CoreEventKind.CLOSED else _mapped(event.status)
    if (
        target is Status.RECEIVED
        and current is Status.RETURNED
        and event.kind is CoreEventKind.DISPOSITION
    ):
        # LAPOR!'s national admin sent a returned report back to the regency: it is open again.
        lifecycle.step(
            gateway,
            session,
            complaint,
            Status.RECEIVED,
            actor="core",
            action="reopened_by_lapor",
            note=event.text,
            public=True,
            now=now,
        )
        return "returned -> received"
    if target is None:
        workflow.bookkeep(session, complaint, {}, action="core_status", note=event.status)
        return f"recorded status {event.status!r}"
    forward = _RANK.get(target, -1) > _RANK.get(current, 99) or (
        target in (Status.RETURNED, Status.ARCHIVED) and current not in (Status.CLOSED,)
    )
    if not forward or not workflow.can_transition(current, target):
        workflow.bookkeep(session, complaint, {}, action="core_status", note=event.status)
        return f"kept {current.value} (core says {target.value})"
    lifecycle.step(
        gateway,
        session,
        complaint,
        target,
        actor="core",
        action=target.value,
        note=event.text,
        public=True,
        notice=lifecycle.Notice(target, key=f"core:{event.event_id}", reason=event.text or ""),
        now=now,
    )
    return f"{current.value} -> {target.value}"


def _reporter_reply(
    gateway: CaseParts, session: Session, complaint: Complaint, event: CoreEvent, now: datetime
) -> str:
    """The reporter answered, through LAPOR!, the question the admin asked there: their words
    (and photos, fetched like any) join the complaint, and a pending case goes back to where it
    was — the same path as a reporter answering on their own channel."""
    for attachment in event.attachments:
        session.add(
            Attachment(
                complaint_id=complaint.id,
                source="reporter",
                kind="photo" if attachment.content_type.startswith("image/") else "document",
                content_type=attachment.content_type or None,
                original_url=attachment.url[:2000],
                original_name=(attachment.filename or "")[:255] or None,
                status=AttachmentStatus.PENDING,
            )
        )
    text = (event.text or "").strip()
    if Status(complaint.status) is Status.PENDING:
        # As `actions.resume_from_pending` for a reporter: back to where it was pended from.
        back = Status(complaint.status_before_pending or Status.RECEIVED.value)
        lifecycle.step(
            gateway,
            session,
            complaint,
            back,
            actor="reporter",
            action="resumed",
            changes={"status_before_pending": None},
            note=text or None,
            public=True,
            now=now,
        )
        return "pending -> " + complaint.status
    workflow.record(
        session, complaint, actor="reporter", action="reporter_reply", note=text, now=now
    )
    return f"reply recorded in {complaint.status}"


def _mapped(status: str | None) -> Status | None:
    internal = to_internal(status)
    return Status(internal) if internal else None


def _answer(
    gateway: CaseParts, session: Session, complaint: Complaint, event: CoreEvent, now: datetime
) -> str:
    """An answer from the agency in the core: to `answered`, and to every reporter of the
    cluster on their own channel."""
    media: list[Media] = []
    policy = media_policy(gateway.settings, "core")
    for attachment in event.attachments:
        # A URL outside the core's own hosts is kept for the admin to see, failed for good
        # with a generic reason, and neither fetched nor passed on to the reporters.
        allowed = allowed_media_url(attachment.url, policy)
        session.add(
            Attachment(
                complaint_id=complaint.id,
                source="core",
                kind="photo" if attachment.content_type.startswith("image/") else "document",
                content_type=attachment.content_type,
                original_url=attachment.url,
                original_name=attachment.filename,
                status=AttachmentStatus.PENDING if allowed else AttachmentStatus.FAILED,
                attempts=0 if allowed else attachments_intake.MAX_ATTEMPTS,
                error=None if allowed else REFUSED_CORE_MEDIA,
            )
        )
        if not allowed:
            log.warning("core attachment outside the core's media hosts refused")
            continue
        media.append(
            Media(
                url=attachment.url,
                content_type=attachment.content_type,
                filename=attachment.filename,
            )
        )
    text = event.text or ""
    notice = lifecycle.Notice(
        Status.ANSWERED, key=f"core:{event.event_id}", media=tuple(media), answer=text
    )
    current = Status(complaint.status)
    if workflow.can_transition(current, Status.ANSWERED):
        lifecycle.step(
            gateway,
            session,
            complaint,
            Status.ANSWERED,
            actor="core",
            action="answered",
            note=text,
            public=True,
            notice=notice,
            now=now,
        )
        return f"{current.value} -> answered"
    # Answered again (a second answer) or in an unexpected state: keep it and pass it on.
    lifecycle.step(
        gateway,
        session,
        complaint,
        None,
        actor="core",
        action="answered",
        note=text,
        public=True,
        notice=notice,
        now=now,
    )
    return f"answer recorded in {current.value}"


def _cursor(gateway: CaseParts) -> str | None:
    with gateway.db.read_session() as session:
        row = session.get(GatewayState, CURSOR_KEY)
        return row.value if row else None


def _save_cursor(gateway: CaseParts, old: str | None, cursor: str | None) -> bool:
    """Move the stored cursor from `old` to `cursor`; False (nothing written) when it is no
    longer `old`: another instance polled meanwhile (while leadership changed hands), and this
    poll must not move the cursor back over what that one applied."""
    if cursor is None:
        return True
    with gateway.db.session() as session:
        row = session.get(GatewayState, CURSOR_KEY, with_for_update=True)
        current = row.value if row else None
        if current != old:
            session.rollback()
            return False
        row = row or GatewayState(key=CURSOR_KEY)
        row.value = cursor
        row.updated_at = utcnow()
        session.add(row)
        try:
            session.commit()
        except IntegrityError:  # two first polls inserted the row at once: the other won
            return False
    return True


async def poll(gateway: Filing, max_pages: int = 20) -> int:
    """Take the core's events since the stored cursor; the cursor moves only after a page is
    applied, so a crash mid-page replays it (harmless: events are idempotent).

    Only the leader polls (`gateway/jobs/scheduler.py`); should two instances overlap while the
    leadership moves, each event is still applied once (the event log's unique id) and the
    cursor only moves forward from the value a poll read (`_save_cursor`)."""
    if gateway.settings.core_backend == "manual":
        return 0
    applied = 0
    async with CoreHandlers(gateway).client() as core:
        cursor = await asyncio.to_thread(_cursor, gateway)
        for _ in range(max_pages):
            page = await core.updates(cursor)
            for event in page.events:
                outcome = await asyncio.to_thread(apply_event, gateway, event, "poll")
                applied += outcome != "duplicate"
            if page.cursor != cursor:
                moved = await asyncio.to_thread(_save_cursor, gateway, cursor, page.cursor)
                if not moved:
                    log.warning("core cursor moved by another instance; this poll stops")
                    break
                cursor = page.cursor
            if not page.more:
                break
    return applied
