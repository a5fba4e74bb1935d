"""The public web form and its JSON twin (`/lapor`, `POST /api/v1/complaints`).

Provider: ourselves. Credentials: none. Webhook: none; the gateway's own routes call
`validate_form()` and `to_inbound()`. A reply to a web-form reporter is shown on the status page
(`send()` only confirms it), and goes out by SMS/e-mail when the reporter left a number.

Validation is a pure function returning one readable message per field, Indonesian by default,
so the HTML form and the JSON API answer in the same words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import phonenumbers

from channels.base import (
    Channel,
    InboundMessage,
    Location,
    Media,
    OutboundMessage,
    PayloadError,
    RawRequest,
    SendResult,
)
from channels.images import DEFAULT_MAX_SIDE, ImageRejected, clean_image
from channels.sanitize import clean_text
from channels.sniff import sniff_image
from config.messages import t

NAME = "webform"
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
TRUE_WORDS = {"1", "true", "on", "yes", "ya", "y"}


@dataclass(frozen=True)
class Limits:
    min_chars: int = 15
    max_chars: int = 5000
    max_files: int = 3
    max_bytes: int = 5 * 1024 * 1024
    max_side: int = DEFAULT_MAX_SIDE  # photos are shrunk to this many pixels (IMAGE_MAX_SIDE)


@dataclass(frozen=True)
class Photo:
    """An uploaded file: as received (`data` at most `Limits.max_bytes + 1` bytes long) before
    validation; in a validated `ComplaintForm`, the cleaned photo (`channels.images`)."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class ComplaintForm:
    description: str
    name: str | None = None
    phone: str | None = None  # E.164
    email: str | None = None
    location_text: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    anonim: bool = False
    rahasia: bool = False
    language: str = "id"
    # (cleaned photo, its content type): decoded, without metadata, shrunk (channels/images.py)
    photos: tuple[tuple[Photo, str], ...] = ()


@dataclass
class FormErrors:
    fields: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, message)

    def __bool__(self) -> bool:
        return bool(self.fields)


def _text(data: Mapping[str, object], key: str) -> str:
    """A field as text without U+0000 and lone surrogates (`channels.sanitize.clean_text`):
    no database stores them and nobody typed them."""
    value = data.get(key)
    return clean_text(str(value)).strip() if value is not None else ""


def _flag(data: Mapping[str, object], key: str) -> bool:
    value = data.get(key)
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in TRUE_WORDS


def normalize_phone(raw: str, region: str = "ID") -> str | None:
    """E.164 for an Indonesian or international number, None when it is not a valid number."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _coordinate(value: object, low: float, high: float) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(str(value))
    except ValueError:
        raise ValueError from None
    if not low <= number <= high:
        raise ValueError
    return number


def validate_form(
    data: Mapping[str, object],
    photos: Sequence[Photo] = (),
    *,
    limits: Limits | None = None,
    lang: str = "id",
) -> tuple[ComplaintForm | None, FormErrors]:
    """Check a submission; return the clean form, or None and one message per bad field."""
    limits = limits or Limits()
    errors = FormErrors()
    description = _text(data, "description")
    if not description:
        errors.add("description", t(lang, "errors.description_required"))
    elif len(description) < limits.min_chars:
        errors.add("description", t(lang, "errors.description_too_short", min=limits.min_chars))
    elif len(description) > limits.max_chars:
        errors.add("description", t(lang, "errors.description_too_long", max=limits.max_chars))

    name = _text(data, "name") or None
    if name and len(name) > 200:
        errors.add("name", t(lang, "errors.name_too_long"))

    phone = None
    if raw_phone := _text(data, "phone"):
        phone = normalize_phone(raw_phone)
        if phone is None:
            errors.add("phone", t(lang, "errors.phone_invalid"))

    email = _text(data, "email").lower() or None
    if email and (len(email) > 254 or not EMAIL.match(email)):
        errors.add("email", t(lang, "errors.email_invalid"))

    location_text = _text(data, "location_text") or None
    if location_text and len(location_text) > 500:
        errors.add("location_text", t(lang, "errors.location_too_long"))
    latitude = longitude = None
    try:
        latitude = _coordinate(data.get("latitude"), -90, 90)
        longitude = _coordinate(data.get("longitude"), -180, 180)
        if (latitude is None) != (longitude is None):
            raise ValueError
    except ValueError:
        errors.add("latitude", t(lang, "errors.coordinates_invalid"))

    if not _flag(data, "consent"):
        errors.add("consent", t(lang, "errors.consent_required"))

    checked = validate_photos(photos, limits=limits, lang=lang, errors=errors)

    if errors:
        return None, errors
    form = ComplaintForm(
        description=description,
        name=name,
        phone=phone,
        email=email,
        location_text=location_text,
        latitude=latitude,
        longitude=longitude,
        anonim=_flag(data, "anonim"),
        rahasia=_flag(data, "rahasia"),
        language="en" if lang == "en" else "id",
        photos=tuple(checked),
    )
    return form, errors


def validate_photos(
    photos: Sequence[Photo], *, limits: Limits, lang: str, errors: FormErrors
) -> list[tuple[Photo, str]]:
    """The photos that are real images within the limits, cleaned (decoded, metadata dropped,
    shrunk: `channels.images.clean_image`) with their content type — the bytes as received
    go no further; a message under `photos` in `errors` for the first problem."""
    checked: list[tuple[Photo, str]] = []
    real_photos = [p for p in photos if p.data or p.filename]
    size_mb = limits.max_bytes // (1024 * 1024)
    if len(real_photos) > limits.max_files:
        errors.add("photos", t(lang, "errors.too_many_photos", count=limits.max_files))
    for photo in real_photos[: limits.max_files]:
        label = photo.filename or "foto"
        if len(photo.data) > limits.max_bytes:
            errors.add("photos", t(lang, "errors.photo_too_large", name=label, size_mb=size_mb))
            continue
        if sniff_image(photo.data) is None:
            errors.add("photos", t(lang, "errors.photo_not_image", name=label))
            continue
        try:
            clean = clean_image(photo.data, max_side=limits.max_side)
        except ImageRejected as rejected:
            key = (
                "photo_too_many_pixels"
                if rejected.reason == "too_many_pixels"
                else "photo_not_image"
            )
            errors.add("photos", t(lang, f"errors.{key}", name=label))
            continue
        checked.append((Photo(filename=photo.filename, data=clean.data), clean.content_type))
    return checked


def sender_address(form: ComplaintForm, submission_id: str) -> str:
    """Who wrote: their e-mail or phone when given (links them to other channels), else the
    submission itself."""
    return form.email or form.phone or f"web:{submission_id}"


def to_inbound(
    form: ComplaintForm,
    *,
    submission_id: str,
    received_at: datetime,
    stored_photos: Sequence[Media] = (),
) -> InboundMessage:
    location = None
    if form.location_text or form.latitude is not None:
        location = Location(form.latitude, form.longitude, form.location_text)
    extra = {
        key: value
        for key, value in {
            "phone": form.phone,
            "email": form.email,
            "anonim": "1" if form.anonim else "",
            "rahasia": "1" if form.rahasia else "",
            "consent": "1",
        }.items()
        if value
    }
    return InboundMessage(
        channel=NAME,
        external_id=submission_id,
        sender=sender_address(form, submission_id),
        sender_name=form.name,
        received_at=received_at,
        text=form.description,
        media=tuple(stored_photos),
        location=location,
        language=form.language,
        extra=extra,
    )


class WebformChannel(Channel):
    name = NAME

    def verify(self, raw: RawRequest) -> None:
        """The form is public; abuse is limited by validation, not by a signature."""

    def parse(self, raw: RawRequest) -> list[InboundMessage]:
        raise PayloadError("the web form is submitted to /lapor, not to a webhook")

    async def send(self, message: OutboundMessage) -> SendResult:
        # The reporter reads it on their status page, which lists the sent replies.
        return SendResult.sent(f"status-page:{message.idempotency_key}")
