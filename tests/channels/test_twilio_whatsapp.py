"""WhatsApp through Twilio: the webhook table, the 24-hour window, templates, media downloads."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from channels.base import Media, MediaError, OutboundMessage
from channels.fakes.server import closed_port_url
from channels.twilio_whatsapp import TwilioWhatsAppChannel
from config.settings import Settings
from tests.channels.cases import (
    FIXED_NOW,
    PUBLIC_BASE,
    TEST_TWILIO_ACCOUNT_SID,
    WHATSAPP_NUMBER,
    WebhookCase,
    channel_settings,
    check_case,
    twilio_whatsapp_cases,
)
from tests.conftest import RunningTwilio

CITIZEN = "+6281234560011"
TEMPLATES = {"answer": "HX" + "a" * 32, "reminder": "HX" + "b" * 32}


@pytest.mark.parametrize("case", twilio_whatsapp_cases(), ids=lambda case: case.label)
def test_webhook(case: WebhookCase) -> None:
    channel = TwilioWhatsAppChannel(channel_settings(), now=lambda: FIXED_NOW)
    check_case(channel, case)


def _settings(twilio: RunningTwilio, **overrides: Any) -> Settings:
    values = {"twilio_api_base_url": twilio.url, "twilio_whatsapp_templates": TEMPLATES}
    values.update(overrides)
    if values["twilio_api_base_url"] == "closed":
        values["twilio_api_base_url"] = closed_port_url()
    return channel_settings(**values)


def _ago(**delta: float) -> datetime:
    return FIXED_NOW - timedelta(**delta)


@dataclass(frozen=True)
class SendCase:
    label: str
    last_inbound: datetime | None
    text: str = "Laporan LPR-7K3M9Q sudah dijawab oleh Dinas PUPR."
    kind: str = "answer"
    media: tuple[str, ...] = ()
    failure: tuple[int, int] | None = None
    ok: bool = True
    retryable: bool = False
    error_mentions: str = ""
    # what Twilio received, per message: (Body, MediaUrl list, ContentSid)
    sent: tuple[tuple[str, tuple[str, ...], str | None], ...] = ()
    variables: dict[str, str] = field(default_factory=dict)


TEXT = "Laporan LPR-7K3M9Q sudah dijawab oleh Dinas PUPR."
PHOTO_1 = "https://lapor.example.go.id/media/jawaban-1.jpg"
PHOTO_2 = "https://lapor.example.go.id/media/jawaban-2.jpg"

SEND_CASES = [
    SendCase("inside the window: free text", _ago(hours=2), sent=((TEXT, (), None),)),
    SendCase(
        "inside the window: one media per message, text as the first caption",
        _ago(hours=2),
        media=(PHOTO_1, PHOTO_2),
        sent=((TEXT, (PHOTO_1,), None), ("", (PHOTO_2,), None)),
    ),
    SendCase(
        "outside the window: the template for the kind",
        _ago(hours=30),
        sent=(("", (), TEMPLATES["answer"]),),
        variables={"1": "LPR-7K3M9Q", "2": "Dinas PUPR"},
    ),
    SendCase(
        "never wrote: the template",
        None,
        kind="reminder",
        sent=(("", (), TEMPLATES["reminder"]),),
        variables={"1": "LPR-7K3M9Q"},
    ),
    SendCase(
        "window closing within the margin: the template",
        _ago(hours=23, minutes=55),
        sent=(("", (), TEMPLATES["answer"]),),
    ),
    SendCase(
        "outside the window, no template for the kind",
        _ago(days=3),
        kind="status",
        ok=False,
        error_mentions="no approved template is configured for message kind 'status'",
    ),
    SendCase(
        "Twilio says the window is closed",
        _ago(hours=1),
        failure=(400, 63016),
        ok=False,
        error_mentions="24-hour window",
    ),
    SendCase(
        "WhatsApp rate limit",
        _ago(hours=1),
        failure=(429, 63018),
        ok=False,
        retryable=True,
    ),
    SendCase(
        "media without a URL",
        _ago(hours=1),
        media=("",),
        ok=False,
        error_mentions="URL",
    ),
]


@pytest.mark.parametrize("case", SEND_CASES, ids=lambda case: case.label)
def test_send(twilio: RunningTwilio, case: SendCase) -> None:
    if case.failure:
        twilio.fake.fail(*case.failure)
    channel = TwilioWhatsAppChannel(_settings(twilio), now=lambda: FIXED_NOW)
    message = OutboundMessage(
        "twilio_whatsapp",
        CITIZEN,
        case.text,
        idempotency_key="k1",
        kind=case.kind,
        media=tuple(
            Media(url=url or None, ref=None if url else "local/1.jpg") for url in case.media
        ),
        recipient_last_inbound_at=case.last_inbound,
        template_variables=case.variables,
    )

    result = asyncio.run(channel.send(message))

    assert (result.ok, result.retryable) == (case.ok, case.retryable), result.error
    assert case.error_mentions in (result.error or "")
    sent = twilio.fake.sent
    assert [(m.body, tuple(m.media_urls), m.content_sid) for m in sent] == list(case.sent)
    for message_sent in sent:
        assert (message_sent.to, message_sent.from_) == (
            f"whatsapp:{CITIZEN}",
            f"whatsapp:{WHATSAPP_NUMBER}",
        )
        assert message_sent.status_callback == f"{PUBLIC_BASE}/webhooks/twilio_whatsapp/status"
        if message_sent.content_sid:
            assert json.loads(message_sent.content_variables or "{}") == case.variables
    if case.ok:
        assert result.provider_message_id == sent[0].sid
        assert result.parts == len(sent)


def test_find_sent_free_text(twilio: RunningTwilio) -> None:
    channel = TwilioWhatsAppChannel(_settings(twilio), now=lambda: FIXED_NOW)
    message = OutboundMessage(
        "twilio_whatsapp", CITIZEN, TEXT, "k1", recipient_last_inbound_at=_ago(hours=1)
    )
    result = asyncio.run(channel.send(message))
    since = twilio.fake.sent[0].date_created - timedelta(seconds=5)
    assert asyncio.run(channel.find_sent(message, since)) == result.provider_message_id


# --- media downloads ------------------------------------------------------------------------------

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 2000


@dataclass(frozen=True)
class DownloadCase:
    label: str
    stored: tuple[bytes, str] | None  # what the fake holds for the media
    max_bytes: int = 10_000
    api: str = "fake"
    error: bool = False
    retryable: bool = False


DOWNLOAD_CASES = [
    DownloadCase("a photo", (JPEG, "image/jpeg")),
    DownloadCase("over the size limit", (JPEG, "image/jpeg"), max_bytes=1000, error=True),
    DownloadCase("a type we do not accept", (b"<html></html>", "text/html"), error=True),
    DownloadCase("gone from Twilio", None, error=True),
    DownloadCase(
        "Twilio unreachable", (JPEG, "image/jpeg"), api="closed", error=True, retryable=True
    ),
]


@pytest.mark.parametrize("case", DOWNLOAD_CASES, ids=lambda case: case.label)
def test_download(twilio: RunningTwilio, case: DownloadCase) -> None:
    url = (
        f"https://api.twilio.com/2010-04-01/Accounts/{TEST_TWILIO_ACCOUNT_SID}/Messages/"
        f"MM{'1' * 32}/Media/ME{'2' * 32}"
    )
    if case.stored:
        assert twilio.fake.add_media(f"MM{'1' * 32}", f"ME{'2' * 32}", *case.stored) == url
    channel = TwilioWhatsAppChannel(
        _settings(twilio, twilio_api_base_url=twilio.url if case.api == "fake" else "closed")
    )
    media = Media(url=url, content_type="image/jpeg")

    if case.error:
        with pytest.raises(MediaError) as caught:
            asyncio.run(channel.download(media, case.max_bytes))
        assert caught.value.retryable is case.retryable
        assert "api.twilio.com" not in str(caught.value)
    else:
        data, content_type = asyncio.run(channel.download(media, case.max_bytes))
        assert case.stored is not None
        assert (data, content_type) == case.stored


# --- a shared contact card (issue 13, item 13) ----------------------------------------------------

# What WhatsApp puts in the card it shares (Twilio passes the file on as `text/vcard`).
VCARD = (
    b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Wibowo;Slamet;;;\r\nFN:Pak RT Slamet\r\n"
    b"item1.TEL;waid=6281234567001:+62 812-3456-7001\r\nitem1.X-ABLabel:Ponsel\r\n"
    b"END:VCARD\r\n"
)


def _contact_message(twilio: RunningTwilio, card: bytes, **settings: Any) -> Any:
    case = next(c for c in twilio_whatsapp_cases() if c.fixture == "contact_card.form")
    [message] = check_case(TwilioWhatsAppChannel(channel_settings(), now=lambda: FIXED_NOW), case)
    twilio.fake.add_media(
        "MM0000000000000000000000000000c008",
        "ME00000000000000000000000000000008",
        card,
        "text/vcard",
    )
    channel = TwilioWhatsAppChannel(_settings(twilio, **settings), now=lambda: FIXED_NOW)
    return asyncio.run(channel.resolve_contact(message))


def test_a_contact_card_keeps_its_phone_number(twilio: RunningTwilio) -> None:
    """The reported defect: Twilio's documented contact payload carries the number only in the
    vCard file, and the message came out with no number at all."""
    resolved = _contact_message(twilio, VCARD)
    assert resolved.contact_phone == "+6281234567001"
    assert resolved.extra["contact_name"] == "Pak RT Slamet"
    assert "contact_is_sender" not in resolved.extra
    assert "contact_card_url" not in resolved.extra and resolved.media == ()


def test_the_sender_s_own_card_is_recognised(twilio: RunningTwilio) -> None:
    own = VCARD.replace(b"6281234567001:+62 812-3456-7001", b"6281234560011:+62 812-3456-0011")
    resolved = _contact_message(twilio, own)
    assert resolved.contact_phone == CITIZEN and resolved.extra["contact_is_sender"] == "true"


def test_a_card_that_cannot_be_fetched_says_whether_to_retry(twilio: RunningTwilio) -> None:
    with pytest.raises(MediaError) as caught:
        _contact_message(twilio, VCARD, twilio_api_base_url="closed")
    assert caught.value.retryable is True
    with pytest.raises(MediaError) as too_big:
        _contact_message(twilio, b"BEGIN:VCARD\r\n" + b"NOTE:x\r\n" * 20000)
    assert too_big.value.retryable is False
