"""Fuzzing every channel's parsers with hostile variants of the real fixtures (issue 13).

Each example takes a genuine provider payload from `tests/fixtures/<channel>/`, applies a few
structured mutations (a key dropped, a value set to null, to the wrong type, to a huge number,
to a string with U+0000 or a lone surrogate, to a very long string, to JSON nested 1,000 levels
deep), signs the result as the provider would, and runs `verify` → `parse_statuses` → `parse`
and the GET `handshake`. Only `PayloadError` and `SignatureError` may escape (anything else is
a 500 the provider retries for ever), and every message that comes out must be storable on any
database and readable by anyone (`assert_storable`).

Bounded and deterministic: `derandomize=True` and a modest `max_examples` per channel, so the
suite runs the same examples every time (`make test`).
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.base import (
    Channel,
    DeliveryState,
    DeliveryStatus,
    InboundMessage,
    MessageKind,
    PayloadError,
    RawRequest,
    SignatureError,
    WebhookAck,
)
from channels.email import EmailChannel
from channels.meta.facebook import FacebookChannel
from channels.meta.instagram import InstagramChannel
from channels.meta.whatsapp_cloud import WhatsAppCloudChannel
from channels.sanitize import EARLIEST, FUTURE_SLACK
from channels.telegram import TelegramChannel
from channels.twilio_sms import TwilioSmsChannel
from channels.twilio_whatsapp import TwilioWhatsAppChannel
from channels.webform import WebformChannel, validate_form
from channels.x import XChannel
from channels.youtube import YouTubeChannel
from tests.channels.cases import (
    FIXED_NOW,
    FIXTURES,
    TEST_META_VERIFY_TOKEN,
    WebhookCase,
    channel_settings,
    deep_json,
    raw_request,
)

EXAMPLES = 80
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SETTINGS = channel_settings()
MAX_CHARS = SETTINGS.chat_max_chars

CHANNELS: dict[str, type[Channel]] = {
    "twilio_sms": TwilioSmsChannel,
    "twilio_whatsapp": TwilioWhatsAppChannel,
    "telegram": TelegramChannel,
    "x": XChannel,
    "whatsapp_cloud": WhatsAppCloudChannel,
    "instagram": InstagramChannel,
    "facebook": FacebookChannel,
}
FORM_CHANNELS = ("twilio_sms", "twilio_whatsapp")
# Keys a hostile form sets besides the fixture's own (media, location, receipts, buttons).
FORM_KEYS = (
    "NumMedia",
    "MediaUrl0",
    "MediaUrl3",
    "MediaContentType0",
    "Latitude",
    "Longitude",
    "Label",
    "MessageStatus",
    "ErrorCode",
    "ButtonPayload",
    "ProfileName",
    "MessageType",
    "OriginalRepliedMessageSid",
)
DEEP = "\x01deep\x01"  # replaced by JSON nested 1,000 levels once serialised


def _channel(name: str) -> Channel:
    return CHANNELS[name](SETTINGS, now=lambda: FIXED_NOW)  # type: ignore[call-arg]


def _fixtures(name: str) -> list[Path]:
    found = sorted((FIXTURES / name).iterdir())
    if name == "x":  # the Account Activity deliveries; the others are the pollers' pages
        found = [p for p in found if p.name.startswith("aaa_")]
    return found


# --- hostile values -------------------------------------------------------------------------------

HOSTILE_STRINGS = st.sampled_from(
    [
        "",
        " ",
        "\ud800",
        "a\udfffb\ud800",
        "Jalan\x00 rusak",
        "\x00",
        "x" * 100_000,
        "9" * 300,
        "99999999999999999999",
        "-1",
        "11",
        "1e999",
        "NaN",
        "-Infinity",
        "abc",
        "kemarin",
        "whatsapp:",
        "text/vcard",
        "http://10.0.0.5:6379/",
        "<script>alert(1)</script>",
        "😡" * 50,
    ]
)
HOSTILE_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, -1, 2**63, 10**20, 10**300, 253402300800]),
    st.floats(allow_nan=True, allow_infinity=True),
    HOSTILE_STRINGS,
    st.text(max_size=20),
    st.sampled_from([[], {}, [1, "2", None], {"a": None}]),
    st.just(DEEP),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON document a mutation can touch."""
    if prefix:
        yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        document = document[part]
    return document


def _serialise(document: Any) -> bytes:
    body = json.dumps(document, allow_nan=True).encode()  # escapes \u0000 and \ud800
    return body.replace(json.dumps(DEEP).encode(), deep_json(1000))


HUGE_NUMBERS = st.sampled_from(
    [10**20, 10**13, -(10**15), 2**63, 10**300, 253402300800, 1e308, float("inf"), float("nan")]
)
# What a mutation does to the value at a path: most keep a string's content and spoil it.
# Hypothesis leans towards the first choices of a list: spoiling a value comes first, breaking
# the envelope (which only ever makes the whole payload unreadable) last.
OPERATIONS = (
    "nul_in_text",
    "huge_number",
    "surrogate_in_text",
    "wrong_type",
    "long_text",
    "null",
    "hostile",
    "deep_nesting",
    "drop",
)


def _spoiled(value: Any, operation: str, draw: st.DrawFn) -> Any:
    text = value if isinstance(value, str) else str(value)
    at = draw(st.integers(min_value=0, max_value=len(text)))
    if operation == "null":
        return None
    if operation == "wrong_type":
        return draw(st.sampled_from([[], {}, True, 7, 1.5, "7", [text], {"v": text}]))
    if operation == "huge_number":
        return draw(HUGE_NUMBERS)
    if operation == "nul_in_text":
        return text[:at] + "\x00" + text[at:]
    if operation == "surrogate_in_text":
        return text[:at] + draw(st.sampled_from(["\ud800", "\udfff", "\ud83d"])) + text[at:]
    if operation == "long_text":
        return text + "x" * draw(st.sampled_from([5000, 100_000]))
    if operation == "deep_nesting":
        return DEEP
    return draw(HOSTILE_VALUES)


@st.composite
def hostile_json(draw: st.DrawFn, name: str) -> tuple[bytes, str]:
    fixture = draw(st.sampled_from(_fixtures(name)))
    document = json.loads(fixture.read_bytes())
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        # Deepest first: the message's own values (text, time, coordinates) before the envelope.
        paths = sorted(_paths(document), key=len, reverse=True)
        leaves = [p for p in paths if not isinstance(_at(document, p), dict | list)]
        if not paths:
            break
        # Mostly a value (a text, a number, an id), sometimes a whole object or list.
        path = draw(st.sampled_from(leaves if leaves and draw(st.integers(0, 3)) else paths))
        operation = draw(st.sampled_from(OPERATIONS))
        target = document
        for part in path[:-1]:
            target = target[part]
        if operation == "drop":
            del target[path[-1]]
        else:
            target[path[-1]] = _spoiled(target[path[-1]], operation, draw)
    return _serialise(document), draw(st.sampled_from(["", "", "status"]))


def _form_value(text: str) -> str:
    # A lone surrogate cannot be UTF-8: percent-encode its bytes as a hostile sender would.
    return quote_from_bytes(text.encode("utf-8", "surrogatepass"), safe="")


@st.composite
def hostile_form(draw: st.DrawFn, name: str) -> tuple[bytes, str]:
    fixture = draw(st.sampled_from(_fixtures(name)))
    fields = dict(parse_qsl(fixture.read_text(), keep_blank_values=True))
    for _ in range(draw(st.integers(min_value=1, max_value=5))):
        key = draw(st.sampled_from(sorted(set(fields) | set(FORM_KEYS))))
        operation = draw(st.sampled_from(OPERATIONS))
        if operation == "drop":
            fields.pop(key, None)
            continue
        value = _spoiled(fields.get(key, ""), operation, draw)
        fields[key] = "" if value is None else (value if isinstance(value, str) else str(value))
    body = "&".join(f"{_form_value(k)}={_form_value(v)}" for k, v in fields.items())
    return body.encode(), draw(st.sampled_from(["", "", "status"]))


# --- what must hold of everything that comes out --------------------------------------------------

_SURROGATE = re.compile("[\ud800-\udfff]")


def _clean(value: str, what: str, limit: int | None = None) -> None:
    assert isinstance(value, str), what
    assert "\x00" not in value and not _SURROGATE.search(value), what
    value.encode("utf-8")  # any database's encoder takes it
    if limit is not None:
        assert len(value) <= limit, f"{what}: {len(value)} > {limit}"


def _optional(value: str | None, what: str, limit: int) -> None:
    if value is not None:
        _clean(value, what, limit)


def assert_storable(message: InboundMessage, channel: str, max_chars: int = MAX_CHARS) -> None:
    assert message.channel == channel
    _clean(message.external_id, "external_id", 200)
    assert message.external_id.strip()
    _clean(message.sender, "sender", 200)
    _clean(message.text, "text", max_chars)
    _optional(message.sender_name, "sender_name", 200)
    for name in ("reply_to", "edits", "thread_ref"):
        _optional(getattr(message, name), name, 200)
    _optional(message.button_payload, "button_payload", 500)
    _optional(message.contact_phone, "contact_phone", 32)
    _optional(message.language, "language", 10)
    _optional(message.permalink, "permalink", 2000)
    assert isinstance(message.kind, MessageKind)
    when = message.received_at
    assert isinstance(when, datetime) and when.tzinfo is not None and when.utcoffset() is not None
    assert EARLIEST <= when <= FIXED_NOW + FUTURE_SLACK
    where = message.location
    if where is not None:
        _optional(where.label, "location label", 500)
        for value, limit in ((where.latitude, 90), (where.longitude, 180)):
            if value is not None:
                assert isinstance(value, float) and math.isfinite(value) and abs(value) <= limit
    for item in message.media:
        assert item.url or item.ref
        _optional(item.url, "media url", 2000)
        _optional(item.ref, "media ref", 300)
        _optional(item.content_type, "content type", 100)
        _optional(item.filename, "file name", 255)
        assert item.size is None or (type(item.size) is int and item.size >= 0)
    for key, value in message.extra.items():
        _clean(key, "extra key")
        _clean(value, f"extra[{key}]", 2000)
    json.dumps(dict(message.extra), ensure_ascii=False).encode("utf-8")


def assert_receipt(status: DeliveryStatus, channel: str) -> None:
    assert status.channel == channel and isinstance(status.state, DeliveryState)
    _clean(status.provider_message_id, "provider_message_id", 200)
    assert status.provider_message_id.strip()
    _optional(status.error, "error", 2000)


def run_webhook(channel: Channel, body: bytes, subpath: str) -> None:
    """The gateway's order: verify, then receipts and messages; only the two errors escape."""
    raw = raw_request(WebhookCase("fuzz", channel.name, body=body, subpath=subpath))
    channel.verify(raw)  # signed correctly: must pass
    try:
        statuses = channel.parse_statuses(raw)
        messages = channel.parse(raw)
    except PayloadError as exc:
        _clean(str(exc), "PayloadError reason")  # stored beside the raw payload
        return
    for status in statuses:
        assert_receipt(status, channel.name)
    for message in messages:
        assert_storable(message, channel.name)
    assert channel.parse(raw) == messages  # a provider's retry reads the same


# --- the tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in CHANNELS if n not in FORM_CHANNELS])
def test_json_webhooks(name: str) -> None:
    channel = _channel(name)

    @FUZZ
    @given(hostile_json(name))
    def run(example: tuple[bytes, str]) -> None:
        run_webhook(channel, *example)

    run()


@pytest.mark.parametrize("name", FORM_CHANNELS)
def test_form_webhooks(name: str) -> None:
    channel = _channel(name)

    @FUZZ
    @given(hostile_form(name))
    def run(example: tuple[bytes, str]) -> None:
        run_webhook(channel, *example)

    run()


@pytest.mark.parametrize("name", list(CHANNELS))
def test_garbage_bodies(name: str) -> None:
    channel = _channel(name)

    @FUZZ
    @given(st.binary(max_size=300), st.sampled_from(["", "status"]))
    def run(body: bytes, subpath: str) -> None:
        run_webhook(channel, body, subpath)

    run()


HEADERS = (
    "x-twilio-signature",
    "x-telegram-bot-api-secret-token",
    "x-hub-signature-256",
    "x-twitter-webhooks-signature",
)


@pytest.mark.parametrize("name", list(CHANNELS))
def test_verify_refuses_forged_headers_with_signature_error_only(name: str) -> None:
    channel = _channel(name)

    @FUZZ
    @given(st.one_of(HOSTILE_STRINGS, st.text(max_size=80)), st.binary(max_size=100))
    def run(header: str, body: bytes) -> None:
        raw = RawRequest(body, {h: header for h in HEADERS}, "https://lapor.example.go.id/w")
        with pytest.raises(SignatureError):
            channel.verify(raw)

    run()


@pytest.mark.parametrize("name", list(CHANNELS))
def test_handshake(name: str) -> None:
    channel = _channel(name)
    keys = ("hub.mode", "hub.verify_token", "hub.challenge", "crc_token")
    values = st.one_of(
        HOSTILE_STRINGS,
        st.text(max_size=40),
        st.sampled_from(["subscribe", TEST_META_VERIFY_TOKEN, "1158201444"]),
    )

    @FUZZ
    @given(st.dictionaries(st.sampled_from(keys), values))
    def run(query: dict[str, str]) -> None:
        raw = RawRequest(b"", {}, "https://lapor.example.go.id/webhooks/x", query)
        try:
            ack = channel.handshake(raw)
        except (PayloadError, SignatureError):
            return
        assert ack is None or isinstance(ack, WebhookAck)
        if ack is not None:
            _clean(ack.body, "handshake answer", 1000)

    run()


@pytest.mark.parametrize(
    "channel", [YouTubeChannel(SETTINGS), EmailChannel(SETTINGS), WebformChannel()]
)
def test_channels_without_webhooks_refuse_everything_cleanly(channel: Channel) -> None:
    """YouTube and e-mail are polled, the web form has its own routes: whatever reaches their
    webhook is a 403 (`SignatureError`) or unreadable (`PayloadError`), never a 500."""

    @FUZZ
    @given(
        st.binary(max_size=300),
        st.dictionaries(st.sampled_from(HEADERS), st.text(max_size=20)),
        st.dictionaries(st.sampled_from(("crc_token", "hub.challenge")), HOSTILE_STRINGS),
    )
    def run(body: bytes, headers: dict[str, str], query: dict[str, str]) -> None:
        raw = RawRequest(body, headers, "https://lapor.example.go.id/webhooks/x", query)
        with contextlib.suppress(SignatureError):
            channel.verify(raw)
        with pytest.raises(PayloadError):
            channel.parse(raw)
        assert channel.parse_statuses(raw) == []
        assert channel.handshake(raw) is None

    run()


# --- e-mail: the mail parser ----------------------------------------------------------------------

MAIL_HEADERS = (
    "From",
    "Date",
    "Message-ID",
    "Subject",
    "Content-Type",
    "Content-Transfer-Encoding",
    "In-Reply-To",
    "References",
    "Auto-Submitted",
)


@st.composite
def hostile_mail(draw: st.DrawFn) -> bytes:
    raw = draw(st.sampled_from(_fixtures("email"))).read_bytes()
    head, _, body = raw.partition(b"\n\n")
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        choice = draw(st.integers(min_value=0, max_value=3))
        if choice == 0:  # a header replaced by a hostile value
            name = draw(st.sampled_from(MAIL_HEADERS)).encode()
            value = draw(st.one_of(HOSTILE_STRINGS, st.text(max_size=40)))
            pattern = re.compile(rb"(?im)^" + re.escape(name) + rb":.*$")
            line = name + b": " + value.encode("utf-8", "surrogatepass").replace(b"\n", b" ")
            head = (
                pattern.sub(lambda _m, line=line: line, head)
                if pattern.search(head)
                else (head + b"\n" + line)
            )
        elif choice == 1:  # NUL bytes and junk in the body
            body = body + draw(st.binary(max_size=200)) + b"\x00"
        elif choice == 2:  # cut anywhere
            cut = draw(st.integers(min_value=0, max_value=len(head) + len(body)))
            head, body = (head + b"\n\n" + body)[:cut], b""
        else:  # a very long body
            body = body + b"parah " * 10_000
    return head + b"\n\n" + body


def test_mail_reader(tmp_path: Path) -> None:
    """The mailbox poller's reading of one mail: the parser, then the attachments spooled."""
    mailbox = EmailChannel(
        channel_settings(data_dir=tmp_path, email_max_chars=5000), now=lambda: FIXED_NOW
    )

    @FUZZ
    @given(hostile_mail())
    def run(mail: bytes) -> None:
        try:
            message = mailbox.read(mail, uidvalidity=1, uid=1)
        except PayloadError:
            return
        assert_storable(message, "email", max_chars=5000)

    run()


# --- the web form and its JSON twin ---------------------------------------------------------------

FORM_FIELDS = (
    "description",
    "name",
    "phone",
    "email",
    "location_text",
    "latitude",
    "longitude",
    "consent",
    "anonim",
)


@FUZZ
@given(st.dictionaries(st.sampled_from(FORM_FIELDS), HOSTILE_VALUES))
def test_web_form(data: dict[str, Any]) -> None:
    data.setdefault("description", "Jalan rusak parah di depan SD Negeri 2 Rembang")
    data.setdefault("consent", "1")
    form, errors = validate_form(data)
    assert (form is None) == bool(errors)
    if form is not None:
        for value in (form.description, form.name, form.location_text, form.email, form.phone):
            if value is not None:
                _clean(value, "form field")
        for value in (form.latitude, form.longitude):
            assert value is None or math.isfinite(value)
