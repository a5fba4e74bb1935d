"""Creating canonical complaints from what arrived: the web form (here) and, through the
conversation, the chat channels. The text is kept verbatim; enrichment fills the rest."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session

from gateway import deadlines, enrich, workflow
from gateway.clock import utcnow
from gateway.models import Attachment, AttachmentStatus, Complaint, InboundMessage
from gateway.reporters import identify

if TYPE_CHECKING:
    from gateway.context import Gateway


def attachments_from(row: InboundMessage, complaint_id: int) -> list[Attachment]:
    """Attachments named by an inbound row: stored already (web form) or still to download."""
    result = []
    for media in row.media:
        stored = media.get("ref") and not media.get("url")
        result.append(
            Attachment(
                complaint_id=complaint_id,
                inbound_message_id=row.id,
                source="reporter",
                kind="photo"
                if (media.get("content_type") or "").startswith("image/")
                else "document",
                content_type=media.get("content_type"),
                size=media.get("size"),
                storage_key=media.get("ref") if stored else None,
                sha256=(media.get("ref") or "").split("/")[-1].split(".")[0] if stored else None,
                original_url=media.get("url"),
                original_name=media.get("filename"),
                status=AttachmentStatus.STORED if stored else AttachmentStatus.PENDING,
            )
        )
    return result


def create_from_form(gateway: Gateway, session: Session, row: InboundMessage) -> None:
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
    enrich.enrich(gateway, complaint)
    workflow.open_complaint(session, complaint, actor="reporter", now=now)
    deadlines.refresh(gateway, session, complaint, now)
    for attachment in attachments_from(row, complaint.id):  # type: ignore[arg-type]
        session.add(attachment)
    row.complaint_id = complaint.id
    row.reporter_id = reporter.id
    session.add(row)
