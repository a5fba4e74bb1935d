"""What every channel does to what it hands over, and how a parser fails on hostile input.

A provider's payload is input from outside: signed, but a fuzzer with the secret, a provider's
bug or an old shape can put anything in it. The gateway stores what a channel returns as it is,
so each channel passes its messages through `finish()` and they can be stored on any database
and read by any person:

- Text (every string, in fact): U+0000 is removed (PostgreSQL refuses it in text and in JSON,
  and no person typed it) and a lone surrogate (`"\\ud800"` in JSON) becomes U+FFFD (no UTF-8
  encoder accepts one). The message text is cut to `max_chars` (CHAT_MAX_CHARS, EMAIL_MAX_CHARS);
  `extra["text_truncated"]` then says how many characters were kept and `extra["text_chars"]`
  how many there were, so the bot can tell the reporter (`bot.text_truncated`).
- Identifiers (external id, sender, reply_to, edits, thread_ref) longer than `ID_MAX` (the
  columns hold 200) are refused with `PayloadError`: cut, an id could name another message.
- Display fields are clipped to their columns (name 200, location label 500, button payload
  500, file name 255); a content type, language or contact number that does not fit is dropped.
- `received_at` is aware (a naive time is UTC) and between `EARLIEST` and now + `FUTURE_SLACK`;
  otherwise it is now and `extra["provider_time"]` keeps what the provider said.
- A location's coordinates are finite numbers within ±90/±180, else they are dropped (the label
  stays) and `extra["location_dropped"]` says so; a media item without a usable URL or file id
  is dropped and counted in `extra["media_dropped"]`; a media size is a non-negative int or None.
  A message left with nothing at all once they are dropped is `PayloadError` (kept raw).
- A value of the wrong type where the contract wants a string is `PayloadError`.

A parser raises only `PayloadError` (and `verify` only `SignatureError`): `reading()` turns the
exceptions a library raises on a surprising shape into `PayloadError` with the reason, so a
poison update is kept raw and acknowledged instead of answered 500 and retried for ever;
`load_json()` refuses what is not JSON, is nested deeper than `JSON_MAX_DEPTH` or holds a
number Python will not read; `check_body_size()` refuses a body over WEBHOOK_MAX_BYTES.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from channels.base import (
    DeliveryStatus,
    InboundMessage,
    Location,
    Media,
    MessageKind,
    PayloadError,
    RawRequest,
)

logger = logging.getLogger(__name__)

# The gateway's column lengths (gateway/store/models.py), which a message must fit.
ID_MAX = 200
NAME_MAX = 200
LABEL_MAX = 500
PAYLOAD_MAX = 500
PHONE_MAX = 32
LANGUAGE_MAX = 10
URL_MAX = 2000
REF_MAX = 300
FILENAME_MAX = 255
CONTENT_TYPE_MAX = 100
EXTRA_VALUE_MAX = 2000
REASON_MAX = 500

# A provider's time outside this window is a provider's bug, not when the citizen wrote.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)

# Genuine provider payloads nest a dozen levels at most; anything deeper is not theirs.
JSON_MAX_DEPTH = 64

# `extra` keys the channels add (the gateway reads them).
TEXT_TRUNCATED = "text_truncated"  # characters kept
TEXT_CHARS = "text_chars"  # characters the provider sent
PROVIDER_TIME = "provider_time"  # the provider's time when it was not usable
LOCATION_DROPPED = "location_dropped"
MEDIA_DROPPED = "media_dropped"  # how many media items could not be used
CONTACT_CARD_URL = "contact_card_url"  # a contact card still to be read (channels/vcard.py)

_SURROGATES = re.compile("[\ud800-\udfff]")

# What libraries raise when a payload has a shape they did not expect (pydantic's
# ValidationError and UnicodeError are ValueErrors; KeyError and IndexError LookupErrors).
READ_ERRORS: tuple[type[BaseException], ...] = (
    LookupError,
    TypeError,
    ValueError,
    AttributeError,
    ArithmeticError,  # OverflowError: a timestamp past the year 9999
    OSError,  # datetime.fromtimestamp on some platforms
    RecursionError,
)


# --- text ----------------------------------------------------------------------------------------


def clean_text(value: str) -> str:
    """`value` without U+0000 and with each lone surrogate replaced by U+FFFD."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    return _SURROGATES.sub("\ufffd", value)


def _string(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise PayloadError(f"{what} is not text ({type(value).__name__})")
    return clean_text(value)


def _optional(value: object, what: str) -> str | None:
    return None if value is None else _string(value, what)


def _clip(value: str | None, limit: int) -> str | None:
    return value[:limit] if value is not None else None


def _fits(value: str | None, limit: int) -> str | None:
    """The value when it fits its column, else None (a part of it would mean nothing)."""
    return value if value is not None and len(value) <= limit else None


def _required_identifier(value: object, what: str) -> str:
    text = _identifier(value, what, required=True)
    assert text is not None  # required=True raised PayloadError instead
    return text


def _identifier(value: object, what: str, *, required: bool = False) -> str | None:
    """An id as the provider gave it; None for an empty optional one, `PayloadError` for a
    missing required one or one longer than its column (cut, it could name another)."""
    text = _optional(value, what)
    if not text or not text.strip():
        if required:
            raise PayloadError(f"no {what}")
        return None
    if len(text) > ID_MAX:
        raise PayloadError(f"{what} longer than {ID_MAX} characters ({len(text)})")
    return text


def _address(value: object) -> str:
    """The sender's address (may be empty: a mail without From), at most `ID_MAX` long."""
    text = _string(value, "sender")
    if len(text) > ID_MAX:
        raise PayloadError(f"sender longer than {ID_MAX} characters ({len(text)})")
    return text


def truncate(text: str, max_chars: int, extra: dict[str, str]) -> str:
    """`text` cut to `max_chars`, noting in `extra` what was kept of how much."""
    if len(text) <= max_chars:
        return text
    extra[TEXT_TRUNCATED] = str(max_chars)
    extra[TEXT_CHARS] = str(len(text))
    return text[:max_chars]


# --- time ----------------------------------------------------------------------------------------


def sane_time(value: datetime, now: datetime) -> bool:
    try:
        return EARLIEST <= value <= now + FUTURE_SLACK
    except (OverflowError, TypeError):
        return False


def provider_time(value: object, now: datetime) -> tuple[datetime, str | None]:
    """A provider's epoch timestamp (seconds, or milliseconds from 10^12 on; an int or its
    digits) as an aware UTC time, and None; when it is not a usable time: `now` and the value
    as the provider sent it, for `extra[PROVIDER_TIME]`."""
    original = str(value)[:64]
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        return now, (None if value in (None, "") else original)
    try:
        number = int(value)
        seconds = number / 1000 if number >= 1_000_000_000_000 else number
        when = datetime.fromtimestamp(seconds, tz=UTC)
    except READ_ERRORS:
        return now, original
    return (when, None) if sane_time(when, now) else (now, original)


def _received_at(value: object, now: datetime, extra: dict[str, str]) -> datetime:
    if not isinstance(value, datetime):
        raise PayloadError(f"received_at is not a time ({type(value).__name__})")
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=UTC)  # providers that leave the zone out mean UTC
    if sane_time(value, now):
        return value
    extra.setdefault(PROVIDER_TIME, value.isoformat())
    return now


# --- location and media --------------------------------------------------------------------------


def coordinate(value: object, limit: float) -> float | None:
    """A latitude (limit 90) or longitude (180) as a finite float, or None when it is not one.
    Numbers as text are read too (Twilio's form)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) and -limit <= number <= limit else None


def _location(location: object, extra: dict[str, str]) -> Location | None:
    if location is None:
        return None
    if not isinstance(location, Location):
        raise PayloadError("location is not a Location")
    label = _clip(_optional(location.label, "location label"), LABEL_MAX) or None
    if location.latitude is None and location.longitude is None:
        return Location(label=label) if label else None
    latitude = coordinate(location.latitude, 90)
    longitude = coordinate(location.longitude, 180)
    if latitude is None or longitude is None:
        extra[LOCATION_DROPPED] = "true"
        return Location(label=label) if label else None
    return Location(latitude, longitude, label)


def _media(items: Iterable[object], extra: dict[str, str]) -> tuple[Media, ...]:
    kept: list[Media] = []
    dropped = 0
    for item in items:
        if not isinstance(item, Media):
            raise PayloadError("media item is not a Media")
        url = _fits(_optional(item.url, "media url"), URL_MAX) or None
        ref = _fits(_optional(item.ref, "media ref"), REF_MAX) or None
        if url is None and ref is None:
            dropped += 1
            continue
        size = item.size
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            size = None
        kept.append(
            Media(
                url=url,
                ref=ref,
                content_type=_fits(_optional(item.content_type, "content type"), CONTENT_TYPE_MAX)
                or None,
                size=size,
                filename=_clip(_optional(item.filename, "file name"), FILENAME_MAX) or None,
            )
        )
    if dropped:
        extra[MEDIA_DROPPED] = str(dropped)
    return tuple(kept)


# --- the whole message ---------------------------------------------------------------------------


def finish(
    messages: Iterable[InboundMessage], *, max_chars: int, now: datetime
) -> list[InboundMessage]:
    """Each message as the gateway may store it (see the module's docstring); `PayloadError`
    for one it cannot."""
    return [finish_message(message, max_chars=max_chars, now=now) for message in messages]


def finish_message(message: InboundMessage, *, max_chars: int, now: datetime) -> InboundMessage:
    extra: dict[str, str] = {}
    for key, value in dict(message.extra).items():
        name = _string(key, "an extra key")
        extra[name] = _string(value, f"extra[{name!r}]")[:EXTRA_VALUE_MAX]
    if not isinstance(message.kind, MessageKind):
        raise PayloadError("kind is not a MessageKind")
    text = truncate(_string(message.text, "text"), max_chars, extra)
    media = _media(message.media, extra)
    location = _location(message.location, extra)
    if (LOCATION_DROPPED in extra or MEDIA_DROPPED in extra) and not (
        text.strip()
        or media
        or location
        or message.button_payload
        or message.contact_phone
        or extra.get(CONTACT_CARD_URL)
    ):
        raise PayloadError("nothing readable left: the location or media were unusable")
    return replace(
        message,
        external_id=_required_identifier(message.external_id, "external id"),
        sender=_address(message.sender),
        received_at=_received_at(message.received_at, now, extra),
        text=text,
        sender_name=_clip(_optional(message.sender_name, "sender name"), NAME_MAX) or None,
        media=media,
        location=location,
        reply_to=_identifier(message.reply_to, "reply_to"),
        edits=_identifier(message.edits, "edits"),
        button_payload=_clip(_optional(message.button_payload, "button payload"), PAYLOAD_MAX),
        contact_phone=_fits(_optional(message.contact_phone, "contact phone"), PHONE_MAX),
        language=_fits(_optional(message.language, "language"), LANGUAGE_MAX),
        thread_ref=_identifier(message.thread_ref, "thread_ref"),
        permalink=_fits(_optional(message.permalink, "permalink"), URL_MAX),
        extra=extra,
    )


def finish_statuses(statuses: Iterable[DeliveryStatus]) -> list[DeliveryStatus]:
    """Receipts that can name something we sent: a receipt whose id cannot be one of ours
    (empty, too long, not text) is dropped, and the error text is cleaned and clipped."""
    kept: list[DeliveryStatus] = []
    for status in statuses:
        sid = status.provider_message_id
        if not isinstance(sid, str) or not sid.strip() or len(sid) > ID_MAX:
            logger.info("%s receipt without a usable message id dropped", status.channel)
            continue
        error = status.error
        if error is not None:
            error = clean_text(str(error))[:EXTRA_VALUE_MAX]
        kept.append(replace(status, provider_message_id=clean_text(sid), error=error))
    return kept


# --- reading hostile input -----------------------------------------------------------------------


def reason(what: str, exc: BaseException) -> str:
    """A `PayloadError` reason for an exception met while reading: no NUL, no surrogate, short
    (it is stored beside the raw payload and shown to admins)."""
    detail = clean_text(str(exc))[:REASON_MAX]
    return f"{what}: {type(exc).__name__}: {detail}" if detail else f"{what}: {type(exc).__name__}"


@contextmanager
def reading(what: str) -> Iterator[None]:
    """Turn what a library raises on a surprising payload into `PayloadError(what: ...)`.

    Why a net and not only careful code: the SDKs (python-telegram-bot, pydantic models,
    the e-mail package) have their own ideas of a payload, and a poison update that escapes as
    a 500 is retried by the provider for ever. Known poison shapes are read field by field
    where they can be (see the channels); this catches the rest.
    """
    try:
        yield
    except PayloadError:
        raise
    except READ_ERRORS as exc:
        raise PayloadError(reason(what, exc)) from None


def check_body_size(raw: RawRequest, max_bytes: int) -> None:
    """`PayloadError` for a body larger than any genuine provider request (WEBHOOK_MAX_BYTES)."""
    if len(raw.body) > max_bytes:
        raise PayloadError(f"body of {len(raw.body)} bytes is over the {max_bytes}-byte limit")


def _depth(value: object) -> int:
    """How deeply lists and objects nest in `value` (iteratively: no recursion to exhaust)."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[object] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > JSON_MAX_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def load_json(body: bytes, what: str) -> object:
    """The JSON in `body`; `PayloadError` when it is not JSON, nests deeper than
    `JSON_MAX_DEPTH`, or holds a number Python refuses to read (over 4300 digits)."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"{what}: not JSON: {exc}") from None
    except RecursionError:
        raise PayloadError(f"{what}: nested too deeply") from None
    except ValueError as exc:  # "Exceeds the limit (4300 digits) for integer string conversion"
        raise PayloadError(reason(f"{what}: unreadable number", exc)) from None
    if _depth(data) > JSON_MAX_DEPTH:
        raise PayloadError(f"{what}: nested deeper than {JSON_MAX_DEPTH} levels")
    return data


def secrets_match(given: str, expected: str) -> bool:
    """Constant-time comparison of a header or query value with a secret. Any text compares
    (a lone surrogate in a header is simply not the secret), never raises."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )
