"""Manual entry (Rembang SOP step 2): an admin records a complaint that came by phone, at the
desk, or on a platform the gateway does not read (TikTok, YouTube, Instagram, X, Facebook,
LaporGub...), with the source and a link to it.

It takes the same path as every other complaint: the entry is stored as an inbound message on
the `manual` channel, intake processes it into a complaint (`received`, enriched, in the inbox),
and from there it is verified and disposed like any other. Such a reporter has no channel the
gateway can answer on: the answer is given back at the source (SOP step 5), which the complaint
page links to.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from sqlmodel import Session

from channels import webform
from config.messages import t
from gateway.clock import utcnow
from gateway.complaints import create as complaints
from gateway.complaints import workflow
from gateway.intake import inbound as intake
from gateway.intake.web_form import store_photos
from gateway.store.models import Complaint, InboundMessage

if TYPE_CHECKING:
    from gateway.parts import Intake

CHANNEL = "manual"
SOURCES = (
    "phone",
    "walk_in",
    "instagram",
    "tiktok",
    "youtube",
    "twitter",
    "facebook",
    "laporgub",
    "other",
)
MAX_AGE = timedelta(days=366)  # older than a year is a typo, not a complaint to record now


def when_received(
    raw: str | None, *, lang: str, timezone: str, now: datetime
) -> tuple[datetime, str | None]:
    """When the admin says it came in (local time in the form; empty: now), and the message
    to show when that cannot be right (unreadable, in the future, more than a year ago)."""
    if not (raw := (raw or "").strip()):
        return now, None
    try:
        local = datetime.fromisoformat(raw)
    except ValueError:
        return now, t(lang, "admin.errors.date_invalid")
    if local.tzinfo is None:
        local = local.replace(tzinfo=ZoneInfo(timezone))
    if local > now + timedelta(minutes=5) or local < now - MAX_AGE:
        return local, t(lang, "admin.errors.date_out_of_range")
    return local, None


@dataclass(frozen=True)
class ManualEntry:
    form: webform.ComplaintForm
    source: str
    source_url: str | None
    received_at: datetime


def validate_entry(
    data: Mapping[str, str],
    photos: Sequence[webform.Photo],
    *,
    limits: webform.Limits,
    lang: str,
    timezone: str,
    now: datetime | None = None,
) -> tuple[ManualEntry | None, dict[str, str]]:
    """Check what the admin typed: the complaint fields as on the web form (the admin records
    it on the reporter's behalf, so no consent box), plus source, link and when it came in."""
    now = now or utcnow()
    form, form_errors = webform.validate_form(
        {**data, "consent": "1"}, photos, limits=limits, lang=lang
    )
    errors = dict(form_errors.fields)
    source = (data.get("source") or "").strip()
    if source not in SOURCES:
        errors["source"] = t(lang, "admin.errors.source_required")
    source_url = (data.get("source_url") or "").strip() or None
    if source_url:
        parsed = urlparse(source_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or len(source_url) > 1000:
            errors["source_url"] = t(lang, "admin.errors.url_invalid")
    received_at, error = when_received(
        data.get("received_at"), lang=lang, timezone=timezone, now=now
    )
    if error:
        errors["received_at"] = error
    if errors or form is None:
        return None, errors
    # The reporter's language is not known: Indonesian, whatever the admin's screen says.
    form = replace(form, language="id")
    return ManualEntry(form, source, source_url, received_at), {}


def record(gateway: Intake, entry: ManualEntry, *, actor: str) -> str | None:
    """Store the entry and turn it into a complaint now; its tracking code (None when the
    processing failed: the stored entry is then retried by the resume sweep)."""
    stored = store_photos(gateway, entry.form.photos)
    entry_id = uuid.uuid4().hex
    message = webform.to_inbound(
        entry.form,
        submission_id=entry_id,
        received_at=entry.received_at,
        stored_photos=tuple(stored),
    )
    extra = {**message.extra, "source": entry.source, "entered_by": actor}
    if entry.source_url:
        extra["source_url"] = entry.source_url
    contact = entry.form.email or entry.form.phone
    message = replace(
        message,
        channel=CHANNEL,
        external_id=f"manual:{entry_id}",
        sender=contact or f"manual:{entry_id}",
        extra=extra,
    )
    fields = asdict(entry.form)
    fields["photos"] = [m.ref for m in stored]
    fields.update(source=entry.source, source_url=entry.source_url, entered_by=actor)
    accepted = intake.accept(
        gateway.db,
        message,
        raw_payload=json.dumps(fields, ensure_ascii=False, default=str),
        raw_content_type="application/json",
        assign_code=True,
    )
    if not intake.process(gateway, accepted.inbound_id):
        return None
    return accepted.tracking_code


def create_from_manual(gateway: Intake, session: Session, row: InboundMessage) -> None:
    """The `manual` channel's processor: a web-form complaint, with its source and no channel
    to answer on."""
    complaints.create_from_form(gateway, session, row)
    complaint = session.get(Complaint, row.complaint_id)
    assert complaint is not None
    extra = row.extra or {}
    complaint.reply_channel = None
    complaint.reply_address = None
    complaint.source = extra.get("source")
    complaint.source_url = extra.get("source_url")
    workflow.record(
        session,
        complaint,
        actor=extra.get("entered_by") or "system",
        action="manual_entry",
        note=" ".join(filter(None, [complaint.source, complaint.source_url])),
    )
