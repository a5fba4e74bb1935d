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
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

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


def _text(value: object) -> str:
    """A field as text without U+0000 and lone surrogates (`channels.sanitize.clean_text`):
    no database stores them and nobody typed them."""
    return clean_text(str(value)).strip() if value is not None else ""


def _flag(value: object) -> bool:
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


def _invalid(key: str, **values: object) -> PydanticCustomError:
    """A failed rule, named by its message key in config/messages (`errors.<key>`)."""
    return PydanticCustomError(key, key, values)


def _coordinate(value: object, low: float, high: float) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(str(value))
    except ValueError:
        raise _invalid("coordinates_invalid") from None
    if not low <= number <= high:
        raise _invalid("coordinates_invalid")
    return number


class PhotoIn(BaseModel):
    """A photo in the JSON API: the file's bytes in base64 (the HTML form uploads files)."""

    filename: str = Field(default="foto", max_length=255)
    content_base64: str = Field(
        description="The image bytes, base64-encoded (JPEG, PNG, WebP, HEIC)."
    )


class ComplaintIn(BaseModel):
    """A submission, as the web form posts it and as the JSON API takes it: this model is the
    validator of both (`validate_form`) and the JSON API's OpenAPI schema. Text arrives as the
    citizen typed it (HTML form fields are strings, checkboxes "on"); every rule that fails
    gives one readable message for its field, in the reporter's language, from
    `config/messages` (the error's type is the message key). Length limits come from the
    deployment (`Limits`, passed as validation context)."""

    model_config = ConfigDict(extra="ignore")

    description: str = Field(default="", description="What happened, where, since when (required).")
    name: str | None = None
    phone: str | None = Field(default=None, description="Any Indonesian format; stored as E.164.")
    email: str | None = None
    location_text: str | None = None
    latitude: float | None = None
    longitude: float | None = Field(default=None, validate_default=True)
    anonim: bool = Field(default=False, description="Hide the reporter's identity from the agency.")
    rahasia: bool = Field(default=False, description="Never publish this report.")
    consent: bool = Field(
        default=False,
        validate_default=True,  # a missing consent is a refusal, said like any other field
        description="Consent to the processing of personal data (must be true).",
    )
    language: str = Field(default="id", description="id or en: the language of replies and errors.")
    photos: list[PhotoIn] = Field(default_factory=list)

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, value: object, info: ValidationInfo) -> str:
        limits = _limits(info)
        text = _text(value)
        if not text:
            raise _invalid("description_required")
        if len(text) < limits.min_chars:
            raise _invalid("description_too_short", min=limits.min_chars)
        if len(text) > limits.max_chars:
            raise _invalid("description_too_long", max=limits.max_chars)
        return text

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: object) -> str | None:
        text = _text(value) or None
        if text and len(text) > 200:
            raise _invalid("name_too_long")
        return text

    @field_validator("phone", mode="before")
    @classmethod
    def _phone(cls, value: object) -> str | None:
        raw = _text(value)
        if not raw:
            return None
        phone = normalize_phone(raw)
        if phone is None:
            raise _invalid("phone_invalid")
        return phone

    @field_validator("email", mode="before")
    @classmethod
    def _email(cls, value: object) -> str | None:
        email = _text(value).lower() or None
        if email and (len(email) > 254 or not EMAIL.match(email)):
            raise _invalid("email_invalid")
        return email

    @field_validator("location_text", mode="before")
    @classmethod
    def _location(cls, value: object) -> str | None:
        text = _text(value) or None
        if text and len(text) > 500:
            raise _invalid("location_too_long")
        return text

    @field_validator("latitude", mode="before")
    @classmethod
    def _latitude(cls, value: object) -> float | None:
        return _coordinate(value, -90, 90)

    @field_validator("longitude", mode="before")
    @classmethod
    def _longitude(cls, value: object, info: ValidationInfo) -> float | None:
        longitude = _coordinate(value, -180, 180)
        # Both or neither (a latitude that failed is already reported).
        if "latitude" in info.data and (info.data["latitude"] is None) != (longitude is None):
            raise _invalid("coordinates_invalid")
        return longitude

    @field_validator("anonim", "rahasia", mode="before")
    @classmethod
    def _flags(cls, value: object) -> bool:
        return _flag(value)

    @field_validator("consent", mode="before")
    @classmethod
    def _consent(cls, value: object) -> bool:
        if not _flag(value):
            raise _invalid("consent_required")
        return True

    @field_validator("language", mode="before")
    @classmethod
    def _language(cls, value: object) -> str:
        return "en" if _text(value).lower() == "en" else "id"

    @field_validator("photos", mode="before")
    @classmethod
    def _photos(cls, value: object) -> object:
        # The HTML form's files are checked as files (`validate_photos`); the JSON API's base64
        # photos are decoded by its route. Here only their shape counts.
        return [] if value in (None, "") else value


def _limits(info: ValidationInfo) -> Limits:
    context = info.context or {}
    limits = context.get("limits")
    return limits if isinstance(limits, Limits) else Limits()


def _errors_of(failure: ValidationError, lang: str) -> FormErrors:
    errors = FormErrors()
    for error in failure.errors():
        where = str(error["loc"][0]) if error["loc"] else ""
        key = error["type"]
        values = error.get("ctx") or {}
        where = where or "form"
        if key not in _KNOWN_KEYS:
            # pydantic's own checks (a list where a text was expected, ...): one plain message
            key, values = (
                ("coordinates_invalid", {})
                if where in ("latitude", "longitude")
                else (
                    "invalid_value",
                    {},
                )
            )
        errors.add(
            "latitude" if where == "longitude" else where, t(lang, f"errors.{key}", **values)
        )
    return errors


_KNOWN_KEYS = frozenset(
    {
        "description_required",
        "description_too_short",
        "description_too_long",
        "name_too_long",
        "phone_invalid",
        "email_invalid",
        "location_too_long",
        "coordinates_invalid",
        "consent_required",
    }
)


def validate_form(
    data: Mapping[str, object],
    photos: Sequence[Photo] = (),
    *,
    limits: Limits | None = None,
    lang: str = "id",
) -> tuple[ComplaintForm | None, FormErrors]:
    """Check a submission with `ComplaintIn`; return the clean form, or None and one message
    per bad field (the photos' files are checked here too)."""
    limits = limits or Limits()
    errors = FormErrors()
    model = None
    try:
        model = ComplaintIn.model_validate(dict(data), context={"limits": limits})
    except ValidationError as failure:
        errors = _errors_of(failure, lang)
    checked = validate_photos(photos, limits=limits, lang=lang, errors=errors)
    if errors or model is None:
        return None, errors
    form = ComplaintForm(
        description=model.description,
        name=model.name,
        phone=model.phone,
        email=model.email,
        location_text=model.location_text,
        latitude=model.latitude,
        longitude=model.longitude,
        anonim=model.anonim,
        rahasia=model.rahasia,
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
