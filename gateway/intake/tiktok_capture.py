"""TikTok capture (`/admin/tiktok`): a comment under one of the regency's videos, recorded by an
admin because TikTok gives a regency no API to read or answer them (channels/tiktok.py).

The admin pastes the video or comment link (a tiktok.com address, cleaned of share-tracking
parameters), the commenter's handle, the words and optional screenshots (through the web form's
photo checks: decoded, metadata stripped, shrunk). It is stored as an inbound message on the
`tiktok` channel, idempotent on (link, handle, words) so a double click records it once, and
becomes a complaint like any other: `received`, enriched, in the inbox with its link. The
commenter is a reporter identified by their handle; nothing can be sent to them (no reply
channel): the answer goes back as a public reply the admin copies from the complaint page and
posts under the comment (gateway/admin/tiktok.py), and the admin records that it is posted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

from channels import tiktok, webform
from config.messages import t
from gateway.clock import utcnow
from gateway.complaints import create as complaints
from gateway.complaints import workflow
from gateway.intake import inbound as intake
from gateway.intake.manual_entry import when_received
from gateway.intake.web_form import store_photos
from gateway.store.models import Complaint, InboundMessage

if TYPE_CHECKING:
    from gateway.parts import Intake

CHANNEL = tiktok.CHANNEL
MIN_CHARS = 3


@dataclass(frozen=True)
class Capture:
    form: webform.ComplaintForm
    link: tiktok.TikTokLink
    handle: str
    received_at: datetime


def validate_capture(
    data: Mapping[str, str],
    screenshots: Sequence[webform.Photo],
    *,
    limits: webform.Limits,
    lang: str,
    timezone: str,
    now: datetime | None = None,
) -> tuple[Capture | None, dict[str, str]]:
    """The link, the handle, the words (checked as the web form checks a description), the
    screenshots, and when it was written (default now)."""
    now = now or utcnow()
    # A comment is often shorter than the web form's minimum: its words are kept as written.
    limits = replace(limits, min_chars=min(limits.min_chars, MIN_CHARS))
    form, form_errors = webform.validate_form(
        {**data, "consent": "1"}, screenshots, limits=limits, lang=lang
    )
    errors = dict(form_errors.fields)
    link = handle = None
    try:
        link = tiktok.parse_link(data.get("link") or "")
    except tiktok.CaptureError as exc:
        errors["link"] = t(lang, f"tiktok.errors.{exc.key}")
    try:
        handle = tiktok.parse_handle(data.get("handle") or "")
    except tiktok.CaptureError as exc:
        errors["handle"] = t(lang, f"tiktok.errors.{exc.key}")
    received_at, error = when_received(
        data.get("received_at"), lang=lang, timezone=timezone, now=now
    )
    if error:
        errors["received_at"] = error
    if errors or form is None or link is None or handle is None:
        return None, errors
    # The commenter's language is not known: Indonesian, whatever the admin's screen says.
    form = replace(form, language="id", name=None, phone=None, email=None)
    return Capture(form, link, handle, received_at), {}


def capture_id(capture: Capture) -> str:
    """The same comment recorded twice (a double click, a second admin) is one message."""
    key = "\n".join([capture.link.url, capture.handle, capture.form.description.strip()])
    return "tiktok:" + hashlib.sha256(key.encode()).hexdigest()[:40]


def record(gateway: Intake, capture: Capture, *, actor: str) -> str | None:
    """Store the capture and turn it into a complaint now; its tracking code (None when the
    processing failed: the stored capture is retried by the resume sweep)."""
    stored = store_photos(gateway, capture.form.photos)
    external_id = capture_id(capture)
    message = webform.to_inbound(
        capture.form,
        submission_id=external_id,
        received_at=capture.received_at,
        stored_photos=tuple(stored),
    )
    extra = {
        **message.extra,
        "source_url": capture.link.url,
        "handle": capture.handle,
        "entered_by": actor,
    }
    message = replace(
        message,
        channel=CHANNEL,
        external_id=external_id,
        sender=capture.handle,
        sender_name=capture.handle,
        extra=extra,
        permalink=capture.link.url,
    )
    fields = asdict(capture.form)
    fields["photos"] = [m.ref for m in stored]
    fields.update(link=capture.link.url, handle=capture.handle, entered_by=actor)
    accepted = intake.accept(
        gateway.db,
        message,
        raw_payload=json.dumps(fields, ensure_ascii=False, default=str),
        raw_content_type="application/json",
        assign_code=True,
    )
    if not accepted.duplicate and not intake.process(gateway, accepted.inbound_id):
        return None
    return accepted.tracking_code


def create_from_capture(gateway: Intake, session: Session, row: InboundMessage) -> None:
    """The `tiktok` channel's processor: a complaint with its link and no channel to answer on
    (the public reply is posted by hand)."""
    complaints.create_from_form(gateway, session, row)
    complaint = session.get(Complaint, row.complaint_id)
    assert complaint is not None
    extra = row.extra or {}
    complaint.reply_channel = None
    complaint.reply_address = None
    complaint.source = CHANNEL
    complaint.source_url = extra.get("source_url")
    workflow.record(
        session,
        complaint,
        actor=extra.get("entered_by") or "system",
        action="tiktok_capture",
        note=" ".join(filter(None, [extra.get("handle"), complaint.source_url])),
    )
