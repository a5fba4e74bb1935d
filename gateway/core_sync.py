"""The gateway's side of the SP4N-LAPOR core: submitting complaints through the outbox, taking
the core's events (polled or pushed) exactly once, and passing reporters' feedback back.

Submitting is an outbox row (`core_submit`), so a core that is down for an hour only delays it;
the tracking code is the idempotency key, and after a timeout or a crash the core is asked
whether it already has the report before anything is sent again. Events are recorded in
`core_event_log` by their id, so a repeated event changes nothing the second time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from channels.base import Media
from forwarder.base import (
    CoreAttachment,
    CoreClient,
    CoreEvent,
    CoreEventKind,
    CoreRejected,
    CoreReport,
    CoreUnavailable,
)
from forwarder.manual import ManualSubmissionRequired
from forwarder.registry import build_core_client
from forwarder.status_map import to_internal
from gateway import lifecycle, outbox, workflow
from gateway.clock import utcnow
from gateway.models import (
    Agency,
    Attachment,
    AttachmentStatus,
    Complaint,
    CoreEventLog,
    GatewayState,
    Reporter,
    Status,
)
from gateway.outbox import Delivered, OutboxMessage

if TYPE_CHECKING:
    from gateway.context import Gateway

log = logging.getLogger(__name__)

CORE_SUBMIT = "core_submit"
CORE_FEEDBACK = "core_feedback"
CORE_REDISPOSE = "core_redispose"
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


def build_report(gateway: Gateway, session: Session, complaint: Complaint) -> CoreReport:
    """The complaint as the core receives it; an `anonim` report carries no identity and its
    personal data masked."""
    agency = session.get(Agency, complaint.agency_id) if complaint.agency_id else None
    reporter = session.get(Reporter, complaint.reporter_id) if complaint.reporter_id else None
    attachments = session.scalars(
        select(Attachment)
        .where(Attachment.complaint_id == complaint.id)
        .where(Attachment.source == "reporter")
        .where(Attachment.status == AttachmentStatus.STORED)
        .order_by(Attachment.id)
    ).all()
    anonim = complaint.anonim
    text = complaint.masked_text if anonim else (complaint.clean_text or complaint.original_text)
    return CoreReport(
        tracking_code=complaint.tracking_code,
        title=complaint.title or text[:80],
        description=text or complaint.original_text,
        category=complaint.category or "pengaduan",
        source_channel=complaint.source or complaint.origin_channel,
        received_at=complaint.received_at,
        agency_code=agency.code if agency else None,
        location_text=complaint.location_text,
        latitude=complaint.latitude,
        longitude=complaint.longitude,
        kecamatan=complaint.kecamatan,
        kelurahan=complaint.kelurahan,
        reporter_name=None if anonim or reporter is None else reporter.display_name,
        reporter_contact=None if anonim or reporter is None else (reporter.phone or reporter.email),
        anonim=anonim,
        rahasia=complaint.rahasia,
        attachments=tuple(
            CoreAttachment(
                url=gateway.media_links.url(a.id),  # type: ignore[arg-type]
                filename=a.original_name or f"lampiran-{a.id}",
                content_type=a.content_type or "application/octet-stream",
            )
            for a in attachments
        ),
    )


class CoreHandlers:
    """Outbox handlers for the core; one short-lived client per delivery (no shared loop)."""

    def __init__(self, gateway: Gateway) -> None:
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

    async def deliver(self, item) -> Delivered:  # type: ignore[no-untyped-def]
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

    async def reconcile(self, item) -> Delivered | None:  # type: ignore[no-untyped-def]
        # Unlike a chat message, a report can be looked up: submit only if the core lacks it.
        return await self.deliver(item)

    def on_sent(self, session: Session, item, result: Delivered) -> None:  # type: ignore[no-untyped-def]
        complaint = session.get(Complaint, item.complaint_id)
        if complaint is None:
            return
        if result.details.get("manual"):
            workflow.record(session, complaint, actor="system", action="core_manual_needed")
            return
        workflow.record(
            session,
            complaint,
            actor="core",
            action="core_submitted",
            changes={
                "core_ref": result.provider_message_id,
                "core_status": result.details.get("status"),
            },
            note=result.provider_message_id,
            public=True,
        )

    def on_dead(self, session: Session, item, error: str) -> None:  # type: ignore[no-untyped-def]
        complaint = session.get(Complaint, item.complaint_id)
        if complaint is not None:
            workflow.record(
                session, complaint, actor="system", action="core_submit_failed", note=error[:2000]
            )


class CoreFeedbackHandler(CoreHandlers, outbox.BaseHandler):
    async def deliver(self, item) -> Delivered:  # type: ignore[no-untyped-def]
        payload = item.payload
        try:
            async with self.client() as core:
                await core.send_feedback(
                    payload["core_id"], payload.get("text", ""), payload.get("rating")
                )
        except CoreUnavailable as exc:
            return Delivered(ok=False, retryable=True, error=str(exc))
        except CoreRejected as exc:
            return Delivered(ok=False, error=str(exc))
        return Delivered(ok=True)

    async def reconcile(self, item) -> Delivered | None:  # type: ignore[no-untyped-def]
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

    async def deliver(self, item) -> Delivered:  # type: ignore[no-untyped-def]
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
                await core.redispose(core_ref, agency_code, item.payload.get("reason", ""))
        except CoreUnavailable as exc:
            return Delivered(ok=False, retryable=True, error=str(exc))
        except CoreRejected as exc:
            return Delivered(ok=False, error=str(exc))
        return Delivered(ok=True)

    async def reconcile(self, item) -> Delivered | None:  # type: ignore[no-untyped-def]
        return await self.deliver(item)  # moving to the agency it already has changes nothing

    def on_dead(self, session: Session, item, error: str) -> None:  # type: ignore[no-untyped-def]
        complaint = session.get(Complaint, item.complaint_id)
        if complaint is not None:
            workflow.record(
                session,
                complaint,
                actor="system",
                action="core_submit_failed",
                note=f"re-disposition: {error}"[:2000],
            )


def feedback_message(
    complaint: Complaint, text: str, rating: int | None, key: str
) -> OutboxMessage | None:
    if not complaint.core_ref:
        return None
    return OutboxMessage(
        kind=CORE_FEEDBACK,
        key=f"{complaint.tracking_code}:feedback:{key}",
        complaint_id=complaint.id,
        payload={"core_id": complaint.core_ref, "text": text, "rating": rating},
    )


# --- events from the core ---------------------------------------------------------------------


def apply_event(
    gateway: Gateway, event: CoreEvent, source: str, now: datetime | None = None
) -> str:
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
    gateway: Gateway, session: Session, event: CoreEvent, source: str, now: datetime | None = None
) -> str:
    """Apply one core event inside the caller's transaction (polled, pushed, or typed in by an
    admin with the manual backend), recording it in the event log."""
    now = now or utcnow()
    if session.scalar(select(CoreEventLog.id).where(CoreEventLog.event_id == event.event_id)):
        return "duplicate"
    complaint = session.scalar(select(Complaint).where(Complaint.core_ref == event.core_id))
    outcome = (
        "unknown report" if complaint is None else _apply(gateway, session, complaint, event, now)
    )
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


def _apply(
    gateway: Gateway, session: Session, complaint: Complaint, event: CoreEvent, now: datetime
) -> str:
    if event.status:
        complaint.core_status = event.status[:60]
    if lifecycle.is_follower(complaint):
        # Only a case's primary is filed; a follower with a report of its own predates the
        # one-case rule. Keep what the core said; the case moves at its primary.
        workflow.record(
            session, complaint, actor="core", action="core_status", note=event.text or event.status
        )
        return "kept: follows a case"
    current = Status(complaint.status)
    if event.kind is CoreEventKind.ANSWER:
        return _answer(gateway, session, complaint, event, now)
    target = Status.CLOSED if event.kind is CoreEventKind.CLOSED else _mapped(event.status)
    if target is None:
        workflow.record(session, complaint, actor="core", action="core_status", note=event.status)
        return f"recorded status {event.status!r}"
    forward = _RANK.get(target, -1) > _RANK.get(current, 99) or (
        target in (Status.RETURNED, Status.ARCHIVED) and current not in (Status.CLOSED,)
    )
    if not forward or not workflow.can_transition(current, target):
        workflow.record(session, complaint, actor="core", action="core_status", note=event.status)
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


def _mapped(status: str | None) -> Status | None:
    internal = to_internal(status)
    return Status(internal) if internal else None


def _answer(
    gateway: Gateway, session: Session, complaint: Complaint, event: CoreEvent, now: datetime
) -> str:
    """An answer from the agency in the core: to `answered`, and to every reporter of the
    cluster on their own channel."""
    media: list[Media] = []
    for attachment in event.attachments:
        session.add(
            Attachment(
                complaint_id=complaint.id,
                source="core",
                kind="photo" if attachment.content_type.startswith("image/") else "document",
                content_type=attachment.content_type,
                original_url=attachment.url,
                original_name=attachment.filename,
                status=AttachmentStatus.PENDING,
            )
        )
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


def _cursor(gateway: Gateway) -> str | None:
    with gateway.db.read_session() as session:
        row = session.get(GatewayState, CURSOR_KEY)
        return row.value if row else None


def _save_cursor(gateway: Gateway, cursor: str | None) -> None:
    if cursor is None:
        return
    with gateway.db.session() as session:
        row = session.get(GatewayState, CURSOR_KEY) or GatewayState(key=CURSOR_KEY)
        row.value = cursor
        row.updated_at = utcnow()
        session.add(row)
        session.commit()


async def poll(gateway: Gateway, max_pages: int = 20) -> int:
    """Take the core's events since the stored cursor; the cursor moves only after a page is
    applied, so a crash mid-page replays it (harmless: events are idempotent)."""
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
                await asyncio.to_thread(_save_cursor, gateway, page.cursor)
                cursor = page.cursor
            if not page.more:
                break
    return applied
