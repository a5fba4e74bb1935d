"""Creating canonical complaints from what arrived: the web form (here) and, through the
conversation, the chat channels. The text is kept verbatim; enrichment fills the rest."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

from gateway.bot.reporters import identify
from gateway.clock import utcnow
from gateway.complaints import dedup, enrich, workflow
from gateway.sla import deadlines
from gateway.store.models import Attachment, AttachmentStatus, Complaint, InboundMessage

if TYPE_CHECKING:
    from gateway.parts import Filing


def attachments_from(
    row: InboundMessage, complaint_id: int, *, stored: bool = False
) -> list[Attachment]:
    """Attachments named by an inbound row. Chat channels name them by provider URL or file id,
    downloaded later (gateway/intake/attachments.py); forms (the web form, the API, manual entry)
    stored them before intake (`stored`): their `ref` is the storage key."""
    result = []
    for media in row.media:
        content_type = media.get("content_type") or ""
        ref = media.get("ref")
        result.append(
            Attachment(
                complaint_id=complaint_id,
                inbound_message_id=row.id,
                source="reporter",
                kind="photo" if content_type.startswith("image/") else "document",
                content_type=content_type or None,
                size=media.get("size"),
                storage_key=ref if stored else None,
                sha256=ref.split("/")[-1].split(".")[0] if stored and ref else None,
                original_url=media.get("url"),
                provider_ref=None if stored else ref,
                original_name=media.get("filename"),
                status=AttachmentStatus.STORED if stored else AttachmentStatus.PENDING,
            )
        )
    return result


def file_complaint(
    gateway: Filing,
    session: Session,
    complaint: Complaint,
    *,
    now: datetime,
    actor: str = "reporter",
) -> dedup.Match | None:
    """Every new complaint, whatever its channel: enriched by the normalizer, opened as
    `received` with its deadlines, then folded with its duplicates (returned when found)."""
    enrich.enrich(gateway, session, complaint)
    workflow.open_complaint(session, complaint, actor=actor, now=now)
    deadlines.refresh(gateway, session, complaint, now)
    return dedup.fold(gateway, session, complaint, now)


def create_from_form(gateway: Filing, session: Session, row: InboundMessage) -> None:
    """The web form's processor: one submission is one complete complaint."""
    now = utcnow()
    extra = row.extra or {}
    reporter, _identity = identify(
        session,
        row.channel,
        row.sender,
        now=now,
        display_name=row.sender_name,
        phone=extra.get("phone"),
        email=extra.get("email"),
        language=row.language,
    )
    reporter.consent_at = reporter.consent_at or row.received_at
    # Web-form rows get their code at intake, before the ack (the citizen sees it at once).
    assert row.assigned_code is not None
    complaint = Complaint(
        tracking_code=row.assigned_code,
        reporter_id=reporter.id,
        origin_channel=row.channel,
        reply_channel=row.channel,
        reply_address=row.sender,
        language=row.language or "id",
        original_text=row.text,
        location_text=row.location_label,
        latitude=row.latitude,
        longitude=row.longitude,
        anonim=bool(extra.get("anonim")),
        rahasia=bool(extra.get("rahasia")),
        received_at=row.received_at,
    )
    file_complaint(gateway, session, complaint, now=now)
    # Every form (web form, API, manual entry) stores its photos before intake.
    for attachment in attachments_from(row, complaint.id, stored=True):  # type: ignore[arg-type]
        session.add(attachment)
    row.complaint_id = complaint.id
    row.reporter_id = reporter.id
    session.add(row)
