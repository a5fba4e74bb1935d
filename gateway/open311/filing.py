"""`POST requests`: a GeoReport service request filed as a complaint through the normal intake —
stored as an inbound message of channel `open311` (once per key and idempotency key), then
processed like the web form's submission (normalizer, duplicates, deadlines, the inbox)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from sqlmodel import Session

from channels import webform
from config.messages import t
from gateway.clock import utcnow
from gateway.complaints import create as complaints
from gateway.intake import inbound as intake
from gateway.open311 import keys
from gateway.open311.georeport import MAX_DESCRIPTION, GeoReportError
from gateway.store.models import Category, Complaint, InboundMessage

if TYPE_CHECKING:
    from gateway.parts import Filing, Intake

# GeoReport's field names → the web form's.
_FIELDS = {"description": "description", "email": "email", "phone": "phone"}


@dataclass(frozen=True)
class Filed:
    tracking_code: str
    duplicate: bool


def validate(
    data: Mapping[str, str], lang: str, limits: webform.Limits
) -> tuple[webform.ComplaintForm, str, str | None]:
    """The checked form, its service code and media URL; `GeoReportError` lists what is wrong
    (400: missing or invalid fields, 404: an unknown service_code, as the spec says)."""
    errors: list[str] = []
    code = (data.get("service_code") or "").strip()
    if not code:
        raise GeoReportError(400, t(lang, "open311.errors.service_required"))
    if code not in {c.value for c in Category}:
        raise GeoReportError(404, t(lang, "open311.errors.service_unknown", code=code[:60]))
    lat, lon = (data.get("lat") or "").strip(), (data.get("long") or "").strip()
    address = (data.get("address_string") or "").strip() or (data.get("address_id") or "").strip()
    if not (lat and lon) and not address:
        errors.append(t(lang, "open311.errors.location_required"))
    name = " ".join(
        filter(None, [(data.get(k) or "").strip() for k in ("first_name", "last_name")])
    )
    form_data: dict[str, object] = {mine: data.get(theirs, "") for theirs, mine in _FIELDS.items()}
    form_data.update(name=name, location_text=address, latitude=lat, longitude=lon, consent="1")
    if len(str(form_data.get("description") or "")) > MAX_DESCRIPTION:
        errors.append(t(lang, "open311.errors.description_too_long", max=MAX_DESCRIPTION))
    form, form_errors = webform.validate_form(form_data, (), limits=limits, lang=lang)
    theirs = {"latitude": "lat/long", "location_text": "address_string", "name": "first_name"}
    errors += [f"{theirs.get(k, k)}: {v}" for k, v in form_errors.fields.items()]
    media_url = (data.get("media_url") or "").strip() or None
    if media_url:
        parsed = urlparse(media_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or len(media_url) > 1000:
            errors.append(t(lang, "open311.errors.media_url_invalid"))
    if errors or form is None:
        raise GeoReportErrors(errors)
    return form, code, media_url


class GeoReportErrors(GeoReportError):
    """Several fields are wrong at once: each is an entry of the spec's error list."""

    def __init__(self, descriptions: list[str]) -> None:
        super().__init__(400, "; ".join(descriptions))
        self.descriptions = descriptions


def file(
    gateway: Intake,
    key_id: int,
    form: webform.ComplaintForm,
    service_code: str,
    media_url: str | None,
    idempotency_key: str | None,
) -> Filed:
    submission = (idempotency_key or uuid.uuid4().hex)[:120]
    external_id = f"{keys.sender_prefix(key_id)}{submission}"
    message = webform.to_inbound(form, submission_id=external_id, received_at=utcnow())
    extra = {**message.extra, "service_code": service_code, "open311_key": str(key_id)}
    if media_url:
        # Kept as a link for the admin, never fetched: the gateway does not download from
        # addresses a client names (a photo arrives through a channel or the web form).
        extra["media_url"] = media_url
    message = replace(
        message, channel=keys.CHANNEL, external_id=external_id, sender=external_id, extra=extra
    )
    accepted = intake.accept(
        gateway.db,
        message,
        raw_payload=json.dumps(
            {**extra, "description": form.description, "location": form.location_text},
            ensure_ascii=False,
        ),
        raw_content_type="application/json",
        assign_code=True,
    )
    if not accepted.duplicate:
        intake.process(gateway, accepted.inbound_id)
    return Filed(accepted.tracking_code or "", accepted.duplicate)


def create_from_open311(gateway: Filing, session: Session, row: InboundMessage) -> None:
    """The `open311` channel's processor: a web-form complaint with the client's service code
    as its class (the admin verifies it) and no channel to answer on."""
    complaints.create_from_form(gateway, session, row)
    complaint = session.get(Complaint, row.complaint_id)
    assert complaint is not None
    extra = row.extra or {}
    complaint.reply_channel = None
    complaint.reply_address = None
    complaint.source = keys.CHANNEL
    complaint.source_url = extra.get("media_url")
    complaint.category = complaint.category or extra.get("service_code")
    session.add(complaint)
