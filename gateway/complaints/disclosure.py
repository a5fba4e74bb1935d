"""What leaves the gateway, built in one place per destination: the SP4N core's report (also the
manual backend's copy-ready text), the liaison officers' WhatsApp notices, and the public pages
(`/status`, `GET /api/v1/complaints/{code}`, `/publikasi`).

Every text is the complaint's **published text** — the clean text with personal data masked
(`Complaint.masked_text`, set by the normalizer, or the text an admin wrote with "Anonimkan") —
passed once more through `normalizer.pii.mask_personal_data` together with the reporter's own
name, number and e-mail. So whatever an admin typed, NIK/KK/phone/e-mail/bank numbers and the
reporter's contact never travel in a description or a title; the reporter's identity travels only
in the core report's reporter fields, and not at all when the complaint is `anonim`.

The admin complaint page shows `core_report(...)` itself as "what will be forwarded", so what
the page says is forwarded is what is forwarded, byte for byte.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlmodel import Session, col

from channels.sniff import EXTENSIONS
from forwarder.base import CoreAttachment, CoreReport
from gateway.store.models import Agency, Attachment, AttachmentStatus, Complaint, Reporter
from normalizer.pii import mask_personal_data

if TYPE_CHECKING:
    from gateway.parts import Linked

TITLE_FALLBACK_CHARS = 80


def _known(reporter: Reporter | None) -> tuple[str | None, ...]:
    if reporter is None:
        return ()
    return (reporter.display_name, reporter.phone, reporter.email)


def reporter_of(session: Session, complaint: Complaint) -> Reporter | None:
    return session.get(Reporter, complaint.reporter_id) if complaint.reporter_id else None


def description(complaint: Complaint, reporter: Reporter | None) -> str:
    """The complaint's text as it leaves the gateway, for every destination."""
    text = complaint.masked_text or complaint.clean_text or complaint.original_text or ""
    return mask_personal_data(text.strip(), known=_known(reporter))


def title(complaint: Complaint, reporter: Reporter | None) -> str:
    """The title as it leaves the gateway (an admin may have typed it at verification)."""
    text = complaint.title.strip() if complaint.title else ""
    if not text:
        return description(complaint, reporter)[:TITLE_FALLBACK_CHARS]
    return mask_personal_data(text, known=_known(reporter))


def location_text(complaint: Complaint, reporter: Reporter | None) -> str | None:
    """Where, as the reporter typed it ("depan rumah Pak Budi, hub 0812...") — masked too."""
    if not complaint.location_text:
        return None
    return mask_personal_data(complaint.location_text, known=_known(reporter))


def core_report(gateway: Linked, session: Session, complaint: Complaint) -> CoreReport:
    """The report the SP4N core receives (and the manual backend's paste text is made from).

    Reporter fields carry the reporter's name and phone (or e-mail) unless `anonim`; attachments
    are the stored reporter photos (already stripped of metadata on intake) under neutral file
    names, since a file name ("KTP_budi.jpg") can name a person.
    """
    agency = session.get(Agency, complaint.agency_id) if complaint.agency_id else None
    reporter = reporter_of(session, complaint)
    attachments = session.scalars(
        select(Attachment)
        .where(col(Attachment.complaint_id) == complaint.id)
        .where(col(Attachment.source) == "reporter")
        .where(col(Attachment.status) == AttachmentStatus.STORED)
        .order_by(Attachment.id)  # type: ignore[arg-type]
    ).all()
    anonim = complaint.anonim
    identity = None if anonim else reporter
    return CoreReport(
        tracking_code=complaint.tracking_code,
        title=title(complaint, reporter),
        description=description(complaint, reporter),
        category=complaint.category or "pengaduan",
        source_channel=complaint.source or complaint.origin_channel,
        received_at=complaint.received_at,
        agency_code=agency.code if agency else None,
        location_text=location_text(complaint, reporter),
        latitude=complaint.latitude,
        longitude=complaint.longitude,
        kecamatan=complaint.kecamatan,
        kelurahan=complaint.kelurahan,
        reporter_name=identity.display_name if identity else None,
        reporter_contact=(identity.phone or identity.email) if identity else None,
        anonim=anonim,
        rahasia=complaint.rahasia,
        attachments=core_attachments(gateway, attachments),
    )


def core_attachments(
    gateway: Linked, attachments: Sequence[Attachment]
) -> tuple[CoreAttachment, ...]:
    """Stored photos as the core fetches them: signed, expiring links under neutral names."""
    return tuple(
        CoreAttachment(
            url=gateway.media_links.url(a.id),  # type: ignore[arg-type]
            filename=attachment_name(a, index),
            content_type=a.content_type or "application/octet-stream",
        )
        for index, a in enumerate(attachments, start=1)
    )


def attachment_name(attachment: Attachment, index: int) -> str:
    """A neutral file name for an attachment that leaves the gateway (`lampiran-1.jpg`)."""
    extension = EXTENSIONS.get(attachment.content_type or "", "")
    return f"lampiran-{index}{extension}"


def liaison_values(session: Session, complaint: Complaint) -> dict[str, str]:
    """The complaint's part of a liaison officer's WhatsApp notice: its title, masked. Never
    the reporter's number: the officer reads the rest on the complaint page, where an `anonim`
    reporter stays hidden."""
    return {
        "code": complaint.tracking_code,
        "title": title(complaint, reporter_of(session, complaint)),
    }


def public_text(text: str | None) -> str | None:
    """A text meant for the reporter (an admin's question, an answer, a reply) as a public page
    shows it: anyone holding the tracking code can read it, so personal data is masked."""
    if not text:
        return None
    return mask_personal_data(text)


def feedback_text(text: str) -> str:
    """A reporter's feedback on an answer, as the core receives it."""
    return mask_personal_data(text)
