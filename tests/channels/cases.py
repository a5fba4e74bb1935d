"""The webhook case tables for the chat channels, and helpers to sign and send them.

One table per channel (`twilio_sms_cases()`, `twilio_whatsapp_cases()`, `telegram_cases()`, and
the Meta channels' in `tests/channels/meta_cases.py`):
each row names a fixture under `tests/fixtures/<channel>/` (or an inline body for garbled
input), how to sign it, and what must come out: an exception, or the messages and delivery
statuses. The channel tests run every row through `verify` → `parse` → `parse_statuses`
(`check_case`); route-level tests can reuse the same rows with `route_request`:

    for case in all_cases():
        path, body, headers = route_request(case, received_base="http://testserver")
        response = client.post(path, content=body, headers=headers)
        if case.http_status:
            assert response.status_code == case.http_status
        else:
            assert 200 <= response.status_code < 300

with settings from `channel_settings()`; a row whose parser raises `PayloadError` is `unreadable`:
the route keeps it raw and answers 2xx. TWILIO_PUBLIC_BASE_URL is `PUBLIC_BASE`, so the URL the
route receives (`http://testserver/...`) is mapped to the public URL the signature covers.

Secrets here are obviously fake test values; signatures are computed, never stored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from twilio.request_validator import RequestValidator

from channels.base import (
    Channel,
    DeliveryState,
    InboundMessage,
    MessageKind,
    PayloadError,
    RawRequest,
    SignatureError,
)
from channels.fakes.server import closed_port_url
from channels.meta.webhook import sign as meta_sign
from channels.telegram import SECRET_HEADER
from channels.twilio_common import form_params
from channels.x import SIGNATURE_HEADER as X_SIGNATURE_HEADER
from channels.x import webhook_signature as x_signature
from config.settings import Settings, load_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CHANNELS = (
    "twilio_sms",
    "twilio_whatsapp",
    "telegram",
    "x",
    "whatsapp_cloud",
    "instagram",
    "facebook",
)
META_CHANNELS = ("whatsapp_cloud", "instagram", "facebook")

TEST_TWILIO_ACCOUNT_SID = "AC" + "0" * 30 + "01"
TEST_TWILIO_TOKEN = "test-twilio-auth-token-not-real"
TEST_TELEGRAM_TOKEN = "900000001:test-telegram-token-not-real"
TEST_TELEGRAM_SECRET = "test-telegram-webhook-secret-not-real"
TEST_X_USER_ID = "1500000000000000001"
TEST_X_BEARER = "test-x-bearer-not-real"
TEST_X_CONSUMER_KEY = "test-x-consumer-key"
TEST_X_CONSUMER_SECRET = "test-x-consumer-secret-not-real"
TEST_X_ACCESS_TOKEN = "1500000000000000001-test-x-access-token"
TEST_X_ACCESS_SECRET = "test-x-access-secret-not-real"
TEST_META_APP_SECRET = "test-meta-app-secret-not-real"
TEST_META_VERIFY_TOKEN = "test-meta-verify-token-not-real"
TEST_WHATSAPP_CLOUD_TOKEN = "test-whatsapp-cloud-token-not-real"
TEST_INSTAGRAM_TOKEN = "test-instagram-token-not-real"
TEST_FACEBOOK_TOKEN = "test-facebook-page-token-not-real"
WABA_ID = "102290129340398"
PHONE_NUMBER_ID = "106540352242922"
INSTAGRAM_ID = "17841400000001708"
PAGE_ID = "108000000001708"
SMS_NUMBER = "+15005550006"
WHATSAPP_NUMBER = "+14155238886"
# Twilio signs the public URL; the gateway behind the proxy sees the internal one.
PUBLIC_BASE = "https://lapor.example.go.id"
INTERNAL_BASE = "http://10.0.0.7:8000"
FIXED_NOW = datetime(2024, 11, 20, 9, 0, tzinfo=UTC)
WEBHOOK_MAX_BYTES_DEFAULT = 1024 * 1024  # config/settings.py's default


NO_GRAPH_API = closed_port_url()


def channel_settings(**overrides: Any) -> Settings:
    """Settings for channel tests: fake credentials, no .env file, overridable."""
    values: dict[str, Any] = {
        "_env_file": None,
        "public_base_url": PUBLIC_BASE,
        "twilio_account_sid": TEST_TWILIO_ACCOUNT_SID,
        "twilio_auth_token": TEST_TWILIO_TOKEN,
        "twilio_sms_number": SMS_NUMBER,
        "twilio_whatsapp_number": WHATSAPP_NUMBER,
        "twilio_public_base_url": PUBLIC_BASE,
        "telegram_bot_token": TEST_TELEGRAM_TOKEN,
        "telegram_webhook_secret": TEST_TELEGRAM_SECRET,
        "x_user_id": TEST_X_USER_ID,
        "x_bearer_token": TEST_X_BEARER,
        "x_consumer_key": TEST_X_CONSUMER_KEY,
        "x_consumer_secret": TEST_X_CONSUMER_SECRET,
        "x_access_token": TEST_X_ACCESS_TOKEN,
        "x_access_token_secret": TEST_X_ACCESS_SECRET,
        # No test may reach the real Graph API: the gateway asks it for an Instagram post's
        # link after a comment is acknowledged; tests that need it point this at the fake.
        "meta_graph_base_url": NO_GRAPH_API,
        "meta_app_secret": TEST_META_APP_SECRET,
        "meta_verify_token": TEST_META_VERIFY_TOKEN,
        "whatsapp_cloud_phone_number_id": PHONE_NUMBER_ID,
        "whatsapp_cloud_waba_id": WABA_ID,
        "whatsapp_cloud_access_token": TEST_WHATSAPP_CLOUD_TOKEN,
        "instagram_account_id": INSTAGRAM_ID,
        "instagram_access_token": TEST_INSTAGRAM_TOKEN,
        "facebook_page_id": PAGE_ID,
        "facebook_page_access_token": TEST_FACEBOOK_TOKEN,
    }
    values.update(overrides)
    return load_settings(**values)


class Sign(StrEnum):
    VALID = "valid"
    MISSING = "missing"
    INVALID = "invalid"  # signed with another secret
    WRONG_URL = "wrong_url"  # Twilio: signed for the internal URL, not the public one
    TAMPERED = "tampered"  # signature of the fixture, body changed afterwards


@dataclass(frozen=True)
class Expect:
    """One message the case must produce; `also` checks further attributes by dotted path."""

    sender: str
    external_id: str
    text: str = ""
    kind: MessageKind = MessageKind.MESSAGE
    media: int = 0
    location: tuple[float, float] | None = None
    also: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class ExpectStatus:
    provider_message_id: str
    state: DeliveryState
    error_mentions: str | None = None


@dataclass(frozen=True)
class WebhookCase:
    label: str
    channel: str
    fixture: str | None = None  # file name under tests/fixtures/<channel>/
    body: bytes | None = None  # inline body (garbled input); overrides the fixture
    sign: Sign = Sign.VALID
    subpath: str = ""
    error: type[Exception] | None = None
    messages: tuple[Expect, ...] = ()
    statuses: tuple[ExpectStatus, ...] = ()

    @property
    def http_status(self) -> int | None:
        """What the webhook route must answer: 403 for a bad signature, 413 for a body over
        WEBHOOK_MAX_BYTES (refused before it is read whole), else None for "a 2xx" (a signed
        payload the parser cannot read is kept raw and acknowledged)."""
        if self.error is SignatureError:
            return 403
        if self.body is not None and len(self.body) > WEBHOOK_MAX_BYTES_DEFAULT:
            return 413
        return None

    @property
    def unreadable(self) -> bool:
        """Signed by the provider, but the parser cannot read it: the route keeps it raw (status
        `unreadable`, shown to admins) and acknowledges it, so the provider does not retry it
        into oblivion."""
        return self.error is PayloadError


def fixture_bytes(channel: str, name: str) -> bytes:
    return (FIXTURES / channel / name).read_bytes()


DROP = object()  # in `mutated`: remove the key


def mutated(channel: str, fixture: str, changes: Mapping[str, object]) -> bytes:
    """A JSON fixture with values set at dotted paths (`message.photo.0.width`), `DROP`
    removing the key: a poison payload built from a genuine one. JSON escapes keep U+0000 and
    lone surrogates as `\\u0000` and `\\ud800`, as a hostile sender would write them."""
    data = json.loads(fixture_bytes(channel, fixture))
    for path, value in changes.items():
        *parents, last = path.split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        key: Any = int(last) if isinstance(target, list) else last
        if value is DROP:
            del target[key]
        else:
            target[key] = value
    return json.dumps(data).encode()


def deep_json(levels: int, inner: bytes = b"1") -> bytes:
    return b'{"a": ' * levels + inner + b"}" * levels


def webhook_path(case: WebhookCase) -> str:
    path = f"/webhooks/{case.channel}"
    return f"{path}/{case.subpath}" if case.subpath else path


def _tamper(body: bytes) -> bytes:
    if body.lstrip().startswith(b"{"):  # JSON: one changed byte is enough
        return body.replace(b'"', b' "', 1)
    pairs = [
        (k, "Tolong transfer pulsa ke nomor ini" if k == "Body" else v)
        for k, v in parse_qsl(body.decode(), keep_blank_values=True)
    ]
    return urlencode(pairs).encode()


def _original_body(case: WebhookCase) -> bytes:
    if case.body is not None:
        return case.body
    assert case.fixture, f"{case.label}: a case needs a fixture or a body"
    return fixture_bytes(case.channel, case.fixture)


def meta_signature(body: bytes, secret: str = TEST_META_APP_SECRET) -> str:
    return meta_sign(body, secret)


def request_body(case: WebhookCase) -> bytes:
    """The body the provider sends (changed after signing, for a TAMPERED case)."""
    body = _original_body(case)
    return _tamper(body) if case.sign is Sign.TAMPERED else body


def twilio_signature(url: str, body: bytes, token: str = TEST_TWILIO_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, form_params(body))


def signed_headers(
    case: WebhookCase, signed_url: str, received_url: str | None = None
) -> dict[str, str]:
    """Headers as the provider sends them; `signed_url` is the public URL it called."""
    if case.channel == "x":
        headers = {"content-type": "application/json"}
        body = request_body(case)
        if case.sign is Sign.VALID:
            headers[X_SIGNATURE_HEADER] = x_signature(TEST_X_CONSUMER_SECRET, body)
        elif case.sign is Sign.INVALID:
            headers[X_SIGNATURE_HEADER] = x_signature("another-consumer-secret", body)
        return headers
    if case.channel == "telegram":
        headers = {"content-type": "application/json"}
        if case.sign is Sign.VALID:
            headers[SECRET_HEADER.lower()] = TEST_TELEGRAM_SECRET
        elif case.sign is Sign.INVALID:
            headers[SECRET_HEADER.lower()] = "some-other-secret"
        return headers
    if case.channel in META_CHANNELS:
        headers = {"content-type": "application/json"}
        body = _original_body(case)
        if case.sign in (Sign.VALID, Sign.TAMPERED):
            headers["x-hub-signature-256"] = meta_signature(body)
        elif case.sign is Sign.INVALID:
            headers["x-hub-signature-256"] = meta_signature(body, "another-app-secret")
        return headers
    headers = {"content-type": "application/x-www-form-urlencoded"}
    body = _original_body(case)  # what the signature was computed over
    if case.sign in (Sign.VALID, Sign.TAMPERED):
        headers["x-twilio-signature"] = twilio_signature(signed_url, body)
    elif case.sign is Sign.INVALID:
        headers["x-twilio-signature"] = twilio_signature(signed_url, body, "another-token")
    elif case.sign is Sign.WRONG_URL:
        headers["x-twilio-signature"] = twilio_signature(received_url or signed_url, body)
    return headers


def route_request(
    case: WebhookCase, received_base: str = "http://testserver"
) -> tuple[str, bytes, dict[str, str]]:
    """(path, body, headers) to POST for a route-level test of the case."""
    path = webhook_path(case)
    headers = signed_headers(case, PUBLIC_BASE + path, received_base + path)
    return path, request_body(case), headers


def raw_request(case: WebhookCase) -> RawRequest:
    """The case as the gateway receives it behind the proxy (internal URL, public signature)."""
    path = webhook_path(case)
    received = INTERNAL_BASE + path
    return RawRequest(
        body=request_body(case),
        headers=signed_headers(case, PUBLIC_BASE + path, received),
        url=received,
        subpath=case.subpath,
    )


def _resolve(message: InboundMessage, path: str) -> object:
    value: Any = message
    for part in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, tuple) and part.isdigit():
            value = value[int(part)]
        else:
            value = getattr(value, part)
    return value


def check_case(channel: Channel, case: WebhookCase) -> list[InboundMessage]:
    """Run one row through verify → parse → parse_statuses and compare with the expectation."""
    raw = raw_request(case)
    if case.error is SignatureError:
        with pytest.raises(SignatureError):
            channel.verify(raw)
        return []
    channel.verify(raw)
    if case.error is not None:
        with pytest.raises(case.error):  # the route calls both; either raising is a 400
            channel.parse(raw)
            channel.parse_statuses(raw)
        return []
    messages = channel.parse(raw)
    statuses = channel.parse_statuses(raw)
    assert len(messages) == len(case.messages), [m.external_id for m in messages]
    for message, expected in zip(messages, case.messages, strict=True):
        assert message.channel == channel.name
        assert (message.sender, message.external_id) == (expected.sender, expected.external_id)
        assert message.kind is expected.kind
        assert message.text == expected.text
        assert len(message.media) == expected.media
        where = message.location
        # A location with only a label (its coordinates dropped) counts as no coordinates.
        got = (where.latitude, where.longitude) if where and where.latitude is not None else None
        assert got == expected.location
        for path, value in expected.also.items():
            assert _resolve(message, path) == value, path
    assert [(s.provider_message_id, s.state) for s in statuses] == [
        (s.provider_message_id, s.state) for s in case.statuses
    ]
    for status, expected_status in zip(statuses, case.statuses, strict=True):
        assert status.channel == channel.name
        if expected_status.error_mentions is None:
            assert status.error is None
        else:
            assert expected_status.error_mentions in (status.error or "")
    return messages


def _sid(prefix: str, n: int) -> str:
    return f"{prefix}{n:032x}"


# --- SMS 1708 ------------------------------------------------------------------------------------


def twilio_sms_cases() -> list[WebhookCase]:
    c = "twilio_sms"
    return [
        WebhookCase(
            "text",
            c,
            "text.form",
            messages=(
                Expect(
                    "+6281234560001",
                    _sid("SM", 0xA001),
                    "Jalan rusak di depan SDN 2 Rembang, banyak lubang. Mohon segera diperbaiki.",
                    also={"received_at": FIXED_NOW, "sender_name": None, "extra.to": SMS_NUMBER},
                ),
            ),
        ),
        WebhookCase(
            "long text arrives as one message",
            c,
            "long_text.form",
            messages=(
                Expect(
                    "+6281234560002",
                    _sid("SM", 0xA002),
                    "Lapor, sudah tiga bulan lampu penerangan jalan di Jl. Pemuda dekat pasar kota "
                    "mati semua. Malam hari sangat gelap dan sudah dua kali terjadi penjambretan "
                    "di sana. Warga sudah melapor ke kelurahan tetapi belum ada tindakan. Mohon "
                    "dinas terkait segera memperbaiki lampu tersebut sebelum ada korban lagi. "
                    "Terima kasih.",
                ),
            ),
        ),
        WebhookCase(
            "unicode text",
            c,
            "unicode.form",
            messages=(
                Expect(
                    "+6285712340003",
                    _sid("SM", 0xA003),
                    "Sampah menumpuk di Pasar Sarang 😡 baunya sampai ke rumah warga — tolong "
                    "diangkut",
                ),
            ),
        ),
        WebhookCase(
            "status delivered",
            c,
            "status_delivered.form",
            subpath="status",
            statuses=(ExpectStatus(_sid("SM", 0xB001), DeliveryState.DELIVERED),),
        ),
        WebhookCase(
            "status failed",
            c,
            "status_failed.form",
            subpath="status",
            statuses=(ExpectStatus(_sid("SM", 0xB002), DeliveryState.FAILED, "30008"),),
        ),
        WebhookCase(
            "status undelivered sent to the message URL",
            c,
            "status_undelivered.form",
            statuses=(
                ExpectStatus(_sid("SM", 0xB003), DeliveryState.FAILED, "handset is unreachable"),
            ),
        ),
        WebhookCase("empty SMS is ignored", c, "empty_body.form"),
        WebhookCase("invalid signature", c, "text.form", sign=Sign.INVALID, error=SignatureError),
        WebhookCase("missing signature", c, "text.form", sign=Sign.MISSING, error=SignatureError),
        WebhookCase(
            "signed for the internal URL",
            c,
            "text.form",
            sign=Sign.WRONG_URL,
            error=SignatureError,
        ),
        WebhookCase(
            "body changed after signing", c, "text.form", sign=Sign.TAMPERED, error=SignatureError
        ),
        WebhookCase(
            "JSON instead of a form",
            c,
            body=b'{"MessageSid": "SM1", "Body": "halo"}',
            error=PayloadError,
        ),
        WebhookCase(
            "JSON instead of a form, badly signed: refused, not kept",
            c,
            body=b'{"MessageSid": "SM1", "Body": "halo"}',
            sign=Sign.INVALID,
            error=SignatureError,
        ),
        WebhookCase(
            "form without MessageSid",
            c,
            body=b"From=%2B6281234560001&To=%2B15005550006&Body=halo",
            error=PayloadError,
        ),
        WebhookCase(
            "body not UTF-8",
            c,
            body=b"MessageSid=SM1&From=%2B6281234560001&Body=\xff\xfe",
            error=PayloadError,
        ),
        WebhookCase(
            "status callback without MessageStatus",
            c,
            body=b"MessageSid=SM1&To=%2B6281234560001",
            subpath="status",
            error=PayloadError,
        ),
        # --- hostile input (issue 13): cut or unreadable, never a 500
        WebhookCase(
            "an SMS of 5,000 characters: cut to CHAT_MAX_CHARS, and the message says so",
            c,
            body=_sms_form("a" * 5000),
            messages=(
                Expect(
                    "+6281234560001",
                    "SM9001",
                    "a" * 4096,
                    also={"extra.text_truncated": "4096", "extra.text_chars": "5000"},
                ),
            ),
        ),
        WebhookCase(
            "a signed SMS over WEBHOOK_MAX_BYTES (the 10 MB SMS): unreadable",
            c,
            body=_sms_form("a" * (1024 * 1024)),
            error=PayloadError,
        ),
        WebhookCase(
            "U+0000 in an SMS: removed",
            c,
            body=_sms_form("Jalan\x00 rusak"),
            messages=(Expect("+6281234560001", "SM9001", "Jalan rusak"),),
        ),
        WebhookCase(
            "a MessageSid of 300 characters: unreadable",
            c,
            body=_sms_form("halo", sid="SM" + "9" * 298),
            error=PayloadError,
        ),
        WebhookCase(
            "NumMedia that is no number",
            c,
            body=_sms_form("halo", NumMedia="dua"),
            error=PayloadError,
        ),
        WebhookCase(
            "NumMedia over ten",
            c,
            body=_sms_form("halo", NumMedia="11"),
            error=PayloadError,
        ),
        WebhookCase(
            "a status callback with an ErrorCode of 5,000 digits",
            c,
            body=b"MessageSid=SM1&MessageStatus=failed&ErrorCode=" + b"3" * 5000,
            subpath="status",
            error=PayloadError,
        ),
    ]


def _sms_form(body: str, *, sid: str = "SM9001", **more: str) -> bytes:
    """An incoming SMS form as Twilio posts it, with `body` (and any other fields)."""
    fields = {
        "MessageSid": sid,
        "AccountSid": TEST_TWILIO_ACCOUNT_SID,
        "From": "+6281234560001",
        "To": SMS_NUMBER,
        "Body": body,
        "NumMedia": "0",
        **more,
    }
    return urlencode(fields).encode()


# --- WhatsApp ------------------------------------------------------------------------------------


def _media_url(message: int, media: int) -> str:
    return (
        f"https://api.twilio.com/2010-04-01/Accounts/{TEST_TWILIO_ACCOUNT_SID}/Messages/"
        f"{_sid('MM', 0xC000 + message)}/Media/{_sid('ME', media)}"
    )


def twilio_whatsapp_cases() -> list[WebhookCase]:
    c = "twilio_whatsapp"
    return [
        WebhookCase(
            "text",
            c,
            "text.form",
            messages=(
                Expect(
                    "+6281234560011",
                    _sid("SM", 0xC001),
                    "Selamat pagi, saya mau melapor saluran air tersumbat di Desa Tireman",
                    also={"sender_name": None, "extra.wa_id": "6281234560011"},
                ),
            ),
        ),
        WebhookCase(
            "image with caption",
            c,
            "image_caption.form",
            messages=(
                Expect(
                    "+6281234560011",
                    _sid("MM", 0xC002),
                    "Ini foto jembatan yang retak",
                    media=1,
                    also={
                        "sender_name": "Budi Santoso",
                        "media.0.url": _media_url(2, 1),
                        "media.0.content_type": "image/jpeg",
                    },
                ),
            ),
        ),
        WebhookCase(
            "two media without text",
            c,
            "two_media.form",
            messages=(
                Expect(
                    "+6281234560011",
                    _sid("MM", 0xC003),
                    media=2,
                    also={
                        "media.1.content_type": "application/pdf",
                        "media.1.url": _media_url(3, 3),
                    },
                ),
            ),
        ),
        WebhookCase(
            "location pin",
            c,
            "location.form",
            messages=(
                Expect(
                    "+6281234560011",
                    _sid("SM", 0xC004),
                    location=(-6.7081, 111.3418),
                    also={"location.label": "Pasar Kota Rembang, Jl. Pemuda No. 12, Rembang"},
                ),
            ),
        ),
        WebhookCase(
            "button reply",
            c,
            "button_reply.form",
            messages=(
                Expect(
                    "+6281234560011",
                    _sid("SM", 0xC005),
                    "Ya, kirim laporan",
                    kind=MessageKind.BUTTON,
                    also={"button_payload": "confirm_submit", "reply_to": _sid("SM", 0xD001)},
                ),
            ),
        ),
        WebhookCase(
            "profile name",
            c,
            "profile_name.form",
            messages=(
                Expect(
                    "+6285712340012",
                    _sid("SM", 0xC006),
                    "Halo LAPOR!",
                    also={"sender_name": "Ni Luh Putu Ayu 🌸"},
                ),
            ),
        ),
        WebhookCase("sticker is ignored", c, "sticker.form"),
        WebhookCase(
            "read receipt sent to the message URL",
            c,
            "status_read.form",
            statuses=(ExpectStatus(_sid("SM", 0xD002), DeliveryState.READ),),
        ),
        WebhookCase(
            "status failed outside the window",
            c,
            "status_failed.form",
            subpath="status",
            statuses=(ExpectStatus(_sid("SM", 0xD003), DeliveryState.FAILED, "63016"),),
        ),
        WebhookCase(
            "invalid signature", c, "image_caption.form", sign=Sign.INVALID, error=SignatureError
        ),
        WebhookCase(
            "missing signature", c, "location.form", sign=Sign.MISSING, error=SignatureError
        ),
        WebhookCase(
            "NumMedia larger than the media sent",
            c,
            body=b"MessageSid=MM1&From=whatsapp%3A%2B6281234560011&NumMedia=2"
            b"&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2Fm%2F1&Body=",
            error=PayloadError,
        ),
        WebhookCase(
            "latitude that is no number, and nothing else: unreadable",
            c,
            body=b"MessageSid=SM1&From=whatsapp%3A%2B6281234560011&Latitude=selatan"
            b"&Longitude=111.3&Body=",
            error=PayloadError,
        ),
        WebhookCase(
            "latitude that is no number beside text: the location dropped, the text kept",
            c,
            body=b"MessageSid=SM1&From=whatsapp%3A%2B6281234560011&Latitude=abc"
            b"&Longitude=111.3&Body=Di+depan+pasar",
            messages=(
                Expect(
                    "+6281234560011",
                    "SM1",
                    "Di depan pasar",
                    also={"location": None, "extra.location_dropped": "true"},
                ),
            ),
        ),
        WebhookCase(
            "latitude out of range, and nothing else: unreadable",
            c,
            body=b"MessageSid=SM1&From=whatsapp%3A%2B6281234560011&Latitude=91"
            b"&Longitude=111.3&Body=",
            error=PayloadError,
        ),
        WebhookCase(
            "a contact card: Twilio's vCard set apart to be read, not stored as media",
            c,
            "contact_card.form",
            messages=(
                Expect(
                    "+6281234560011",
                    _sid("MM", 0xC008),
                    media=0,
                    also={
                        "extra.contact_card_url": _media_url(8, 8),
                        "extra.message_type": "contacts",
                        "contact_phone": None,  # read from the card by resolve_contact
                    },
                ),
            ),
        ),
    ]


# --- Telegram ------------------------------------------------------------------------------------

BUDI = "111222333"


def telegram_cases() -> list[WebhookCase]:
    c = "telegram"
    return [
        WebhookCase(
            "text",
            c,
            "text.json",
            messages=(
                Expect(
                    BUDI,
                    "810000001",
                    "Jalan di Desa Sumberjo rusak parah, banyak lubang besar",
                    also={
                        "sender_name": "Budi Santoso",
                        "language": "id",
                        "received_at": datetime(2024, 11, 20, 8, 30, tzinfo=UTC),
                        "extra.message_ref": f"{BUDI}:101",
                        "extra.username": "budi_santoso",
                    },
                ),
            ),
        ),
        WebhookCase(
            "start command",
            c,
            "start_command.json",
            messages=(Expect("444555666", "810000002", "/start", also={"language": "en"}),),
        ),
        WebhookCase(
            "photo with caption: the largest size",
            c,
            "photo_caption.json",
            messages=(
                Expect(
                    BUDI,
                    "810000003",
                    "Ini fotonya, lubangnya dalam sekali",
                    media=1,
                    also={
                        "media.0.ref": "AgACAgUAAxkBAAIBZ2-1280",
                        "media.0.size": 154321,
                        "media.0.content_type": "image/jpeg",
                    },
                ),
            ),
        ),
        WebhookCase(
            "document",
            c,
            "document.json",
            messages=(
                Expect(
                    BUDI,
                    "810000004",
                    "Surat pengantar dari RT",
                    media=1,
                    also={
                        "media.0.ref": "BQACAgUAAxkBAAIBaG",
                        "media.0.content_type": "application/pdf",
                        "media.0.filename": "surat_pengantar_rt.pdf",
                    },
                ),
            ),
        ),
        WebhookCase(
            "location",
            c,
            "location.json",
            messages=(
                Expect(
                    BUDI, "810000005", location=(-6.70811, 111.34183), also={"location.label": None}
                ),
            ),
        ),
        WebhookCase(
            "venue",
            c,
            "venue.json",
            messages=(
                Expect(
                    BUDI,
                    "810000006",
                    location=(-6.70402, 111.33897),
                    also={"location.label": "Pasar Kota Rembang, Jl. Pemuda No. 12, Rembang"},
                ),
            ),
        ),
        WebhookCase(
            "own contact card",
            c,
            "contact.json",
            messages=(
                Expect(
                    BUDI,
                    "810000007",
                    also={"contact_phone": "+6281234567001", "extra.contact_is_sender": "true"},
                ),
            ),
        ),
        WebhookCase(
            "edited message names the original by chat and message id",
            c,
            "edited_message.json",
            messages=(
                Expect(
                    BUDI,
                    "810000008",
                    "Jalan di Desa Sumberjo RT 03 rusak parah, banyak lubang besar",
                    kind=MessageKind.EDITED,
                    also={
                        "edits": f"{BUDI}:101",
                        "received_at": datetime(2024, 11, 20, 8, 33, 20, tzinfo=UTC),
                    },
                ),
            ),
        ),
        WebhookCase(
            "inline button pressed",
            c,
            "callback_query.json",
            messages=(
                Expect(
                    BUDI,
                    "810000009",
                    "Ya, kirim",
                    kind=MessageKind.BUTTON,
                    also={
                        "button_payload": "confirm_submit",
                        "reply_to": f"{BUDI}:5010",
                        "extra.callback_query_id": "4382bfdwdsb323b2d9",
                    },
                ),
            ),
        ),
        WebhookCase(
            "inline-message button: a callback query without message",
            c,
            "callback_query_inline_message.json",
            messages=(
                Expect(
                    BUDI,
                    "810000014",
                    kind=MessageKind.BUTTON,
                    also={
                        "button_payload": "cmd:yes",
                        "reply_to": None,
                        "extra.chat_id": BUDI,
                        "extra.callback_query_id": "4382bfdwdsb323b2e1",
                    },
                ),
            ),
        ),
        WebhookCase("sticker alone is ignored", c, "sticker.json"),
        WebhookCase(
            "old sticker without is_animated is ignored, not refused",
            c,
            "sticker_old_shape.json",
        ),
        WebhookCase(
            "old sticker with a caption-less reply keeps the reply's text",
            c,
            "reply_to_old_sticker.json",
            messages=(
                Expect(
                    BUDI,
                    "810000016",
                    "Yang ini maksud saya, jembatan di Desa Leteh",
                    also={"reply_to": f"{BUDI}:110"},
                ),
            ),
        ),
        WebhookCase(
            "photo sizes without width or height: still a photo",
            c,
            "photo_without_sizes.json",
            messages=(
                Expect(
                    BUDI,
                    "810000017",
                    "Foto talud yang longsor",
                    media=1,
                    also={"media.0.ref": "AgACAgUAAxkBAAIBc1-90", "media.0.size": 1234},
                ),
            ),
        ),
        # --- poison updates (issue 13): read what can be read, else unreadable, never a 500
        WebhookCase(
            "a photo size with a null width: still a photo, the next size taken",
            c,
            body=mutated(c, "photo_caption.json", {"message.photo.1.width": None}),
            messages=(
                Expect(
                    BUDI,
                    "810000003",
                    "Ini fotonya, lubangnya dalam sekali",
                    media=1,
                    also={"media.0.ref": "AgACAgUAAxkBAAIBZ2-320"},
                ),
            ),
        ),
        WebhookCase(
            "photo sizes that are no objects or have a size in words: the good ones read",
            c,
            body=mutated(
                c,
                "photo_caption.json",
                {"message.photo.0": "kecil", "message.photo.1.file_size": "besar"},
            ),
            messages=(
                Expect(
                    BUDI,
                    "810000003",
                    "Ini fotonya, lubangnya dalam sekali",
                    media=1,
                    also={"media.0.ref": "AgACAgUAAxkBAAIBZ2-1280", "media.0.size": None},
                ),
            ),
        ),
        WebhookCase(
            "a date past the year 9999: received now, Telegram's date kept",
            c,
            body=mutated(c, "text.json", {"message.date": 10**20}),
            messages=(
                Expect(
                    BUDI,
                    "810000001",
                    "Jalan di Desa Sumberjo rusak parah, banyak lubang besar",
                    also={
                        "received_at": FIXED_NOW,
                        "extra.provider_time": "100000000000000000000",
                    },
                ),
            ),
        ),
        WebhookCase(
            "a date in the year 5138: received now, Telegram's date kept",
            c,
            body=mutated(c, "text.json", {"message.date": 10**11}),
            messages=(
                Expect(
                    BUDI,
                    "810000001",
                    "Jalan di Desa Sumberjo rusak parah, banyak lubang besar",
                    also={
                        "received_at": FIXED_NOW,
                        "extra.provider_time": "5138-11-16T09:46:40+00:00",
                    },
                ),
            ),
        ),
        WebhookCase(
            "a date that is text: received now",
            c,
            body=mutated(c, "text.json", {"message.date": "kemarin"}),
            messages=(
                Expect(
                    BUDI,
                    "810000001",
                    "Jalan di Desa Sumberjo rusak parah, banyak lubang besar",
                    also={"received_at": FIXED_NOW, "extra.provider_time": "kemarin"},
                ),
            ),
        ),
        WebhookCase(
            "a location that is no number beside a photo: dropped, the photo and caption kept",
            c,
            body=mutated(
                c,
                "photo_caption.json",
                {"message.location": {"latitude": "abc", "longitude": 111.3}},
            ),
            messages=(
                Expect(
                    BUDI,
                    "810000003",
                    "Ini fotonya, lubangnya dalam sekali",
                    media=1,
                    also={"location": None, "extra.location_dropped": "true"},
                ),
            ),
        ),
        WebhookCase(
            "a location alone that is no number: unreadable, kept raw",
            c,
            "location_not_numbers.json",
            error=PayloadError,
        ),
        WebhookCase(
            "a location out of range: unreadable",
            c,
            body=mutated(c, "location.json", {"message.location.latitude": 1e308 * 10}),
            error=PayloadError,
        ),
        WebhookCase(
            "a venue whose location is no object: the message's own location kept",
            c,
            body=mutated(c, "venue.json", {"message.venue.location": [1, 2]}),
            messages=(
                Expect(
                    BUDI,
                    "810000006",
                    location=(-6.70402, 111.33897),
                    also={"location.label": None, "extra.location_dropped": "true"},
                ),
            ),
        ),
        WebhookCase(
            "a venue and a location that are no numbers: unreadable",
            c,
            body=mutated(
                c,
                "venue.json",
                {"message.venue.location.latitude": "x", "message.location.longitude": None},
            ),
            error=PayloadError,
        ),
        WebhookCase(
            "text with U+0000 and a lone surrogate: NUL removed, surrogate replaced",
            c,
            body=mutated(c, "text.json", {"message.text": "Jalan\x00 rusak \ud800 parah"}),
            messages=(Expect(BUDI, "810000001", "Jalan rusak \ufffd parah"),),
        ),
        WebhookCase(
            "text that is a number: unreadable",
            c,
            body=mutated(c, "text.json", {"message.text": 12345}),
            error=PayloadError,
        ),
        WebhookCase(
            "text longer than CHAT_MAX_CHARS: cut, and the message says so",
            c,
            body=mutated(c, "text.json", {"message.text": "lubang " * 1000}),
            messages=(
                Expect(
                    BUDI,
                    "810000001",
                    ("lubang " * 1000)[:4096],
                    also={"extra.text_truncated": "4096", "extra.text_chars": "7000"},
                ),
            ),
        ),
        WebhookCase(
            "a sender and a chat of the wrong types",
            c,
            body=mutated(c, "text.json", {"message.from": "Budi", "message.chat.id": "x"}),
            error=PayloadError,
        ),
        WebhookCase(
            "an update id of 300 digits: unreadable",
            c,
            body=mutated(c, "text.json", {"update_id": 10**299}),
            error=PayloadError,
        ),
        WebhookCase(
            "a number of 5,000 digits: unreadable",
            c,
            body=b'{"update_id": ' + b"7" * 5000 + b"}",
            error=PayloadError,
        ),
        WebhookCase(
            "JSON nested 1,000 levels deep: unreadable",
            c,
            body=b'{"update_id": 9, "message": ' + deep_json(1000) + b"}",
            error=PayloadError,
        ),
        WebhookCase("bot blocked (my_chat_member) is ignored", c, "my_chat_member.json"),
        WebhookCase("reaction is ignored", c, "message_reaction.json"),
        WebhookCase("group chat is ignored", c, "group_message.json"),
        WebhookCase("wrong secret token", c, "text.json", sign=Sign.INVALID, error=SignatureError),
        WebhookCase(
            "missing secret token", c, "text.json", sign=Sign.MISSING, error=SignatureError
        ),
        WebhookCase("not JSON", c, body=b"update_id=1&message=halo", error=PayloadError),
        WebhookCase(
            "not JSON and a wrong secret: refused, not kept",
            c,
            body=b"update_id=1&message=halo",
            sign=Sign.INVALID,
            error=SignatureError,
        ),
        WebhookCase("JSON but not an object", c, body=b"[1, 2, 3]", error=PayloadError),
        WebhookCase("no update_id", c, body=b'{"message": {"text": "halo"}}', error=PayloadError),
        WebhookCase(
            "message without chat and date",
            c,
            body=json.dumps({"update_id": 5, "message": {"message_id": 1, "text": "x"}}).encode(),
            error=PayloadError,
        ),
    ]


# --- X (Account Activity deliveries; the polled API pages are in feed_cases.py) ---------------

BUDI_X = "1500000000000000201"


def x_cases() -> list[WebhookCase]:
    c = "x"
    return [
        WebhookCase(
            "mention with photo and place: full text, public, under the tweet",
            c,
            "aaa_mention.json",
            messages=(
                Expect(
                    BUDI_X,
                    "tweet:1860000000000000105",
                    "Jalan di Desa Pasarbanggi berlubang besar, bahaya untuk pengendara motor. "
                    "Mohon segera diperbaiki https://t.co/fakePhoto1",
                    media=1,
                    location=(-6.7081, 111.3418),
                    also={
                        "public": True,
                        "thread_ref": "1860000000000000105",
                        "reply_to": "1859999999999999900",
                        "permalink": "https://x.com/budi_santoso_fake/status/1860000000000000105",
                        "sender_name": "Budi Santoso",
                        "location.label": "Rembang, Jawa Tengah",
                        "media.0.url": "https://pbs.twimg.com/media/FakeJalanRusak1.jpg",
                        "received_at": datetime(2024, 11, 20, 8, 35, tzinfo=UTC),
                    },
                ),
            ),
        ),
        WebhookCase("a retweet and our own reply are ignored", c, "aaa_retweet_and_own.json"),
        WebhookCase(
            "direct message in, ours out ignored",
            c,
            "aaa_dm.json",
            messages=(
                Expect(
                    BUDI_X,
                    "dm:1860000000000000307",
                    "Selamat pagi, saya yang lapor jalan rusak di Pasarbanggi. Lubangnya di depan "
                    "balai desa.",
                    also={
                        "public": False,
                        "thread_ref": "1500000000000000001-1500000000000000201",
                        "extra.username": "budi_santoso_fake",
                        "received_at": datetime(2024, 11, 20, 9, 0, tzinfo=UTC),
                    },
                ),
            ),
        ),
        WebhookCase("a like is ignored", c, "aaa_favorite.json"),
        WebhookCase(
            "signed with another secret",
            c,
            "aaa_mention.json",
            sign=Sign.INVALID,
            error=SignatureError,
        ),
        WebhookCase("unsigned", c, "aaa_dm.json", sign=Sign.MISSING, error=SignatureError),
        WebhookCase("not JSON", c, body=b"for_user_id=1", error=PayloadError),
        WebhookCase("no for_user_id", c, body=b'{"tweet_create_events": []}', error=PayloadError),
        WebhookCase(
            "tweet without a user",
            c,
            body=b'{"for_user_id": "1", "tweet_create_events": [{"id_str": "5", "text": "x"}]}',
            error=PayloadError,
        ),
        # --- hostile input (issue 13)
        WebhookCase(
            "a DM created past the year 9999: received now, X's time kept",
            c,
            body=mutated(c, "aaa_dm.json", {"direct_message_events.0.created_timestamp": "9" * 25}),
            messages=(
                Expect(
                    BUDI_X,
                    "dm:1860000000000000307",
                    "Selamat pagi, saya yang lapor jalan rusak di Pasarbanggi. Lubangnya di depan "
                    "balai desa.",
                    also={"received_at": FIXED_NOW, "extra.provider_time": "9" * 25},
                ),
            ),
        ),
        WebhookCase(
            "a mention's point out of range: dropped, the place's name kept",
            c,
            body=mutated(
                c, "aaa_mention.json", {"tweet_create_events.0.coordinates.coordinates": [500, 91]}
            ),
            messages=(
                Expect(
                    BUDI_X,
                    "tweet:1860000000000000105",
                    "Jalan di Desa Pasarbanggi berlubang besar, bahaya untuk pengendara motor. "
                    "Mohon segera diperbaiki https://t.co/fakePhoto1",
                    media=1,
                    also={
                        "location.label": "Rembang, Jawa Tengah",
                        "extra.location_dropped": "true",
                    },
                ),
            ),
        ),
        WebhookCase(
            "JSON nested 1,000 levels deep",
            c,
            body=b'{"for_user_id": "1", "x": ' + deep_json(1000) + b"}",
            error=PayloadError,
        ),
        WebhookCase(
            "users that are a list",
            c,
            body=mutated(c, "aaa_dm.json", {"users": []}),
            messages=(
                Expect(
                    BUDI_X,
                    "dm:1860000000000000307",
                    "Selamat pagi, saya yang lapor jalan rusak di Pasarbanggi. Lubangnya di depan "
                    "balai desa.",
                    also={"sender_name": None},
                ),
            ),
        ),
    ]


def all_cases() -> list[WebhookCase]:
    from tests.channels.meta_cases import meta_cases  # it builds on this module

    return (
        twilio_sms_cases() + twilio_whatsapp_cases() + telegram_cases() + x_cases() + meta_cases()
    )
