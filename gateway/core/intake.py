"""Reports citizens filed directly in SP4N-LAPOR! (the website, the app, SMS 1708) and that
LAPOR!'s national admin disposed to this regency: they join the one inbox as complaints of
channel `lapor` (docs/core-api.md, "In the gateway: what to call for the intake").

They come three ways — polled by cursor (`poll_incoming`, the leader only), pushed as `incoming`
events (`gateway.core.sync.apply_event_in`), pasted by an admin (`take_pasted`) — and every way
ends in `take_lapor_report`, idempotent on the LAPOR! tracking id: the inbound row
`(lapor, lapor:<id>)` is the lock, and a complaint that already carries the id as `core_ref`
is never doubled. The complaint is filed with `core_ref` set at once, so no `core_submit` is
ever queued for it; everything else (normalizer, duplicates, deadlines, reminders, liaison
notices, reports) is the path of every complaint. The reporter is LAPOR!'s citizen: at most a
name, never a channel address, so nothing is ever sent to them on a channel — what the gateway
says to them goes back into LAPOR! as follow-ups (`gateway.core.sync`).

A report the backend could not map is kept raw (`keep_unreadable`, an inbound row marked
`unreadable`, shown at /admin/unreadable), never a complaint and never dropped; a later
readable listing of the same id takes its place.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from forwarder.base import CoreAttachment, IncomingReport, UnreadableReport
from forwarder.manual import InvalidPastedReport, ManualCoreClient
from forwarder.registry import build_core_client
from gateway.clock import as_utc, utcnow
from gateway.complaints import lifecycle, workflow
from gateway.complaints.create import file_complaint
from gateway.intake.inbound import _free_code
from gateway.sla import deadlines
from gateway.store.models import (
    Agency,
    Attachment,
    AttachmentStatus,
    Category,
    Complaint,
    GatewayState,
    InboundMessage,
    InboundStatus,
    Reporter,
)

if TYPE_CHECKING:
    from gateway.parts import Filing, Stored

log = logging.getLogger(__name__)

CHANNEL = "lapor"
CURSOR_KEY = "core.incoming_cursor"
# The audit action of a complaint that arrived from LAPOR! (its origin on the timeline).
TAKEN = "lapor_received"
# What the inbox says a complaint came through (LAPOR!'s own channels, `source`).
SOURCES = ("web", "app", "sms1708")


@dataclass(frozen=True)
class Taken:
    """What happened to one incoming report."""

    outcome: str  # new | known | replaced unreadable | unreadable | ...
    complaint_id: int | None = None
    tracking_code: str | None = None


def _raw_text(raw: Any) -> tuple[str, str]:
    if isinstance(raw, str):
        return raw, "text/plain"
    return json.dumps(raw, ensure_ascii=False, default=str), "application/json"


def _row(session: Session, key: str) -> InboundMessage | None:
    return session.scalar(
        select(InboundMessage)
        .where(col(InboundMessage.channel) == CHANNEL)
        .where(col(InboundMessage.external_id) == key)
    )


def _extra(report: IncomingReport, source: str) -> dict[str, Any]:
    return {
        "core_id": report.core_id,
        "title": report.title,
        "category": report.category,
        "topic": report.topic,
        "source_channel": report.source_channel,
        "agency_code": report.agency_code,
        "status": report.status,
        "kecamatan": report.kecamatan,
        "kelurahan": report.kelurahan,
        "anonim": report.anonim,
        "rahasia": report.rahasia,
        "disposed_at": report.disposed_at.isoformat() if report.disposed_at else None,
        "taken_by": source,  # poll | push | manual
    }


def _fill_row(row: InboundMessage, report: IncomingReport, source: str, now: datetime) -> None:
    raw, content_type = _raw_text(report.raw)
    row.sender = ""  # LAPOR! keeps the citizen's contact: the gateway has no address for them
    row.sender_name = None if report.anonim else (report.reporter_name or None)
    row.kind = "message"
    row.text = report.description
    row.media = [
        {"url": a.url, "content_type": a.content_type, "filename": a.filename}
        for a in report.attachments
    ]
    row.latitude, row.longitude = report.latitude, report.longitude
    row.location_label = (report.location_text or "")[:500] or None
    row.language = "id"
    row.extra = _extra(report, source)
    row.raw_payload = raw
    row.raw_content_type = content_type
    row.received_at = report.received_at
    row.status = InboundStatus.PROCESSED.value
    row.processed_at = now
    row.last_error = None


def take_lapor_report(
    gateway: Filing,
    session: Session,
    report: IncomingReport,
    source: str,
    now: datetime | None = None,
) -> Taken:
    """The report as a complaint of channel `lapor`, inside the caller's transaction; the same
    LAPOR! id again changes nothing but the core's status word on the complaint."""
    now = now or utcnow()
    row = _row(session, report.key)
    known = session.scalar(
        select(Complaint)
        .where(col(Complaint.core_ref) == report.core_id)
        .order_by(col(Complaint.id))
    )
    if row is not None and row.status != InboundStatus.UNREADABLE.value:
        complaint = known or (
            session.get(Complaint, row.complaint_id) if row.complaint_id else None
        )
        if complaint is not None and report.status:
            workflow.bookkeep(session, complaint, {"core_status": report.status[:60]})
        return Taken("known", complaint.id if complaint else None)
    replaced = row is not None
    if row is None:
        row = InboundMessage(channel=CHANNEL, external_id=report.key, sender="", received_at=now)
    _fill_row(row, report, source, now)
    if known is not None:
        # A complaint already stands for this LAPOR! record (the gateway's own report, pasted
        # by an admin, say): the row points at it and nothing is doubled.
        row.complaint_id = known.id
        session.add(row)
        return Taken("known", known.id, known.tracking_code)
    row.assigned_code = row.assigned_code or _free_code(session)
    session.add(row)
    session.flush()
    complaint = _file(gateway, session, row, report, source, now)
    return Taken(
        "replaced unreadable" if replaced else "new", complaint.id, complaint.tracking_code
    )


def _file(
    gateway: Filing,
    session: Session,
    row: InboundMessage,
    report: IncomingReport,
    source: str,
    now: datetime,
) -> Complaint:
    reporter_id = None
    if row.sender_name:
        # LAPOR!'s citizen, as far as LAPOR! tells: a name, no channel identity.
        reporter = Reporter(display_name=row.sender_name[:200], language="id", created_at=now)
        session.add(reporter)
        session.flush()
        reporter_id = reporter.id
    category = report.category if report.category in {c.value for c in Category} else None
    assert row.assigned_code is not None  # LAPOR! reports get their code when stored
    complaint = Complaint(
        tracking_code=row.assigned_code,
        reporter_id=reporter_id,
        origin_channel=CHANNEL,
        reply_channel=None,  # answers go back through LAPOR!, never to a phone
        reply_address=None,
        source=(report.source_channel or "")[:40] or None,
        language="id",
        original_text=report.description,
        location_text=row.location_label,
        latitude=report.latitude,
        longitude=report.longitude,
        kecamatan=(report.kecamatan or "")[:100] or None,
        kelurahan=(report.kelurahan or "")[:100] or None,
        category=category,
        anonim=report.anonim,
        rahasia=report.rahasia,
        received_at=as_utc(report.received_at),
        core_ref=report.core_id,
        core_status=(report.status or "")[:60] or None,
    )
    file_complaint(gateway, session, complaint, now=now, actor="core")
    if report.title.strip():
        complaint.title = report.title.strip()[:200]
    _suggest_agency(session, complaint, report.agency_code)
    row.complaint_id = complaint.id
    row.reporter_id = reporter_id
    session.add(row)
    # The regency's clock starts when LAPOR! disposed the report to it (read from this row).
    if not lifecycle.is_follower(complaint):
        deadlines.refresh(gateway, session, complaint, now)
    for attachment in report.attachments:
        session.add(_attachment(complaint, row, attachment))
    workflow.record(
        session,
        complaint,
        actor="core",
        action=TAKEN,
        note=" · ".join(
            filter(None, [report.core_id, report.source_channel, report.topic, source])
        ),
        now=now,
    )
    log.info(
        "lapor report taken",
        extra={"core_id": report.core_id, "complaint_id": complaint.id, "source": source},
    )
    return complaint


def _attachment(complaint: Complaint, row: InboundMessage, a: CoreAttachment) -> Attachment:
    """Fetched later by the attachment downloader, through the media policy (allowed types,
    size, photos cleaned), like a chat channel's."""
    return Attachment(
        complaint_id=complaint.id,
        inbound_message_id=row.id,
        source="core",
        kind="photo" if a.content_type.startswith("image/") else "document",
        content_type=a.content_type or None,
        original_url=a.url[:2000],
        original_name=(a.filename or "")[:255] or None,
        status=AttachmentStatus.PENDING,
    )


def _suggest_agency(session: Session, complaint: Complaint, code: str | None) -> None:
    """LAPOR!'s national admin named an agency: first among the suggestions when the directory
    knows it (the admin still disposes)."""
    if not code:
        return
    agency = session.scalar(select(Agency).where(col(Agency.code) == code))
    if agency is None or not agency.active:
        return
    others = [s for s in complaint.agency_suggestions if s.get("code") != agency.code]
    complaint.agency_suggestions = [
        {
            "code": agency.code,
            "agency_id": agency.id,
            "name": agency.name,
            "score": 1.0,
            "reason": "Disposisi LAPOR!",
        },
        *others,
    ]
    session.add(complaint)


def keep_unreadable(session: Session, bad: UnreadableReport, now: datetime | None = None) -> Taken:
    """Keep a report the backend could not map, once per key, for an admin to read."""
    now = now or utcnow()
    if _row(session, bad.key) is not None:
        return Taken("known")
    raw, content_type = _raw_text(bad.raw)
    session.add(
        InboundMessage(
            channel=CHANNEL,
            external_id=bad.key,
            sender="",
            received_at=now,
            extra={"core_id": bad.core_id} if bad.core_id else {},
            raw_payload=raw,
            raw_content_type=content_type,
            status=InboundStatus.UNREADABLE.value,
            last_error=f"LAPOR!: {bad.error}"[:2000],
        )
    )
    log.warning("lapor report unreadable", extra={"key": bad.key, "error": bad.error[:200]})
    return Taken("unreadable")


def take(gateway: Filing, report: IncomingReport | UnreadableReport, source: str) -> Taken:
    """One report in its own transaction (the same id arriving by push and poll at once: one
    of them wins, the other finds it)."""
    for _ in range(2):
        with gateway.db.session() as session:
            try:
                if isinstance(report, UnreadableReport):
                    taken = keep_unreadable(session, report)
                else:
                    taken = take_lapor_report(gateway, session, report, source)
                workflow.commit(session)
                return taken
            except IntegrityError:
                session.rollback()
    return Taken("known")


# --- polling ------------------------------------------------------------------------------------


def _cursor(gateway: Stored) -> str | None:
    with gateway.db.read_session() as session:
        row = session.get(GatewayState, CURSOR_KEY)
        return row.value if row else None


def _save_cursor(gateway: Stored, cursor: str | None) -> None:
    if cursor is None:
        return
    with gateway.db.session() as session:
        row = session.get(GatewayState, CURSOR_KEY) or GatewayState(key=CURSOR_KEY)
        row.value = cursor
        row.updated_at = utcnow()
        session.add(row)
        session.commit()


async def poll_incoming(gateway: Filing, max_pages: int = 20) -> int:
    """Take the reports disposed to the regency since the stored cursor. The cursor moves only
    after a page is taken, so a crash replays the page (harmless: idempotent on the id). Not
    for the manual backend, whose `incoming()` is always empty. Returns the new complaints."""
    if gateway.settings.core_backend == "manual":
        return 0
    created = 0
    core = build_core_client(gateway.settings)
    try:
        cursor = await asyncio.to_thread(_cursor, gateway)
        for _ in range(max_pages):
            page = await core.incoming(cursor)  # CoreUnavailable: the next round tries again
            items: list[IncomingReport | UnreadableReport] = [*page.reports, *page.unreadable]
            for item in items:
                taken = await asyncio.to_thread(take, gateway, item, "poll")
                created += taken.outcome in ("new", "replaced unreadable")
            if page.cursor != cursor:
                await asyncio.to_thread(_save_cursor, gateway, page.cursor)
                cursor = page.cursor
            if not page.more:
                break
    finally:
        await core.aclose()
    return created


# --- pasted by an admin -------------------------------------------------------------------------


def take_pasted(gateway: Filing, text: str, *, actor: str, language: str) -> Taken:
    """An admin pasted a LAPOR! report (works with every backend: a report the poll has not
    brought yet gets the same key, so it stays one complaint). `InvalidPastedReport` carries the
    message to show."""
    report = ManualCoreClient.from_settings(gateway.settings, language).read_pasted(text)
    taken = take(gateway, report, "manual")
    if taken.outcome == "new" and taken.complaint_id is not None:
        with gateway.db.session() as session:
            complaint = session.get(Complaint, taken.complaint_id)
            if complaint is not None:
                workflow.record(session, complaint, actor=actor, action="lapor_pasted")
                workflow.commit(session)
    if taken.complaint_id is not None and taken.tracking_code is None:
        with gateway.db.read_session() as session:
            complaint = session.get(Complaint, taken.complaint_id)
            code = complaint.tracking_code if complaint else None
        taken = Taken(taken.outcome, taken.complaint_id, code)
    return taken


__all__ = [
    "CHANNEL",
    "InvalidPastedReport",
    "Taken",
    "keep_unreadable",
    "poll_incoming",
    "take",
    "take_lapor_report",
    "take_pasted",
]


# --- an unreadable report read again ------------------------------------------------------------


class StillUnreadable(ValueError):
    """The kept report is still not readable with today's mapping (the reason is the message)."""


def read_again(gateway: Filing, inbound_id: int) -> Taken:
    """An admin asks for a kept-raw LAPOR! report to be read again (after the mapping file was
    fixed): readable now, it becomes the complaint in the row's place; still not, the row stays
    with the new reason (`StillUnreadable`). `LookupError` when there is no such kept row."""
    from forwarder.rest import RestMapping, parse_incoming

    with gateway.db.read_session() as session:
        row = session.get(InboundMessage, inbound_id)
        if row is None or row.channel != CHANNEL or row.status != InboundStatus.UNREADABLE:
            raise LookupError(inbound_id)
        raw_text = row.raw_payload
    try:
        raw: Any = json.loads(raw_text)
    except ValueError:
        raw = raw_text
    parsed = parse_incoming(raw, RestMapping.for_settings(gateway.settings))
    if isinstance(parsed, UnreadableReport):
        with gateway.db.session() as session:
            kept = session.get(InboundMessage, inbound_id)
            if kept is not None:
                kept.last_error = f"LAPOR!: {parsed.error}"[:2000]
                session.add(kept)
                session.commit()
        raise StillUnreadable(parsed.error)
    if parsed.key != _key_of(gateway, inbound_id):
        # Read now, it names another id than it was kept under: it is taken under its own id,
        # and the raw row is closed as read.
        taken = take(gateway, parsed, "manual")
        _close(gateway, inbound_id, taken)
        return taken
    return take(gateway, parsed, "manual")


def _key_of(gateway: Stored, inbound_id: int) -> str | None:
    with gateway.db.read_session() as session:
        row = session.get(InboundMessage, inbound_id)
        return row.external_id if row is not None else None


def _close(gateway: Stored, inbound_id: int, taken: Taken) -> None:
    with gateway.db.session() as session:
        row = session.get(InboundMessage, inbound_id)
        if row is not None and row.status == InboundStatus.UNREADABLE:
            row.status = InboundStatus.IGNORED.value
            row.processed_at = utcnow()
            row.last_error = f"read again: {taken.tracking_code or taken.outcome}"[:2000]
            session.add(row)
            session.commit()
