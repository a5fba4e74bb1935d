"""SMS 1708 through Twilio: the webhook table, the acknowledgement, and sending via the real SDK."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from channels.base import OutboundMessage, RawRequest
from channels.fakes.server import closed_port_url
from channels.sms_segments import count_segments
from channels.twilio_common import EMPTY_TWIML
from channels.twilio_sms import TwilioSmsChannel
from config.settings import Settings
from tests.channels.cases import (
    FIXED_NOW,
    PUBLIC_BASE,
    SMS_NUMBER,
    WebhookCase,
    channel_settings,
    check_case,
    raw_request,
    twilio_signature,
    twilio_sms_cases,
)
from tests.conftest import RunningTwilio

CITIZEN = "+6281234560001"


@pytest.mark.parametrize("case", twilio_sms_cases(), ids=lambda case: case.label)
def test_webhook(case: WebhookCase) -> None:
    channel = TwilioSmsChannel(channel_settings(), now=lambda: FIXED_NOW)
    check_case(channel, case)


def test_signature_checked_against_received_url_without_public_base() -> None:
    """With no proxy in front, the URL as received is the one Twilio signed."""
    case = next(c for c in twilio_sms_cases() if c.label == "text")
    raw = raw_request(case)
    direct = RawRequest(
        body=raw.body,
        headers={**raw.headers, "x-twilio-signature": twilio_signature(raw.url, raw.body)},
        url=raw.url,
    )
    TwilioSmsChannel(channel_settings(twilio_public_base_url=None)).verify(direct)


@pytest.mark.parametrize(
    ("mode", "subpath", "status", "body", "media_type"),
    [
        ("rest", "", 204, "", "text/plain"),
        ("twiml", "", 200, EMPTY_TWIML, "text/xml"),
        ("twiml", "status", 204, "", "text/plain"),
    ],
)
def test_ack(mode: str, subpath: str, status: int, body: str, media_type: str) -> None:
    channel = TwilioSmsChannel(channel_settings(twilio_reply_mode=mode))
    ack = channel.ack(RawRequest(body=b"", headers={}, url="http://x/", subpath=subpath))
    assert (ack.status_code, ack.body, ack.media_type) == (status, body, media_type)


# --- sending ---------------------------------------------------------------------------------

LONG_GSM = " ".join(
    f"Kalimat nomor {n} tentang jalan rusak di Rembang yang harus segera diperbaiki."
    for n in range(30)
)


@dataclass(frozen=True)
class SendCase:
    label: str
    text: str
    settings: dict[str, Any] = field(default_factory=dict)
    failure: tuple[int, int] | None = None  # (HTTP status, Twilio error code)
    fail_after: int = 0  # messages that go through before the failure
    ok: bool = True
    retryable: bool = False
    error_mentions: str = ""
    messages: int = 1  # how many messages Twilio accepted


SEND_CASES = [
    SendCase("short reply", "Laporan Anda diterima. Kode: LPR-7K3M9Q"),
    SendCase("a long reply is cut into concatenated messages", LONG_GSM, messages=2),
    SendCase(
        "one segment per message when configured",
        "Laporan diterima. " * 12,
        settings={"twilio_sms_max_segments": 1},
        messages=2,
    ),
    SendCase(
        "invalid number",
        "Halo",
        failure=(400, 21211),
        ok=False,
        error_mentions="invalid 'To'",
        messages=0,
    ),
    SendCase(
        "unsubscribed recipient",
        "Halo",
        failure=(400, 21610),
        ok=False,
        error_mentions="unsubscribed",
        messages=0,
    ),
    SendCase("unknown 4xx error", "Halo", failure=(400, 21999), ok=False, messages=0),
    SendCase("rate limited", "Halo", failure=(429, 20429), ok=False, retryable=True, messages=0),
    SendCase("Twilio down", "Halo", failure=(503, 20503), ok=False, retryable=True, messages=0),
    SendCase(
        "wrong credentials",
        "Halo",
        failure=(401, 20003),
        ok=False,
        retryable=True,
        error_mentions="credentials",
        messages=0,
    ),
    SendCase(
        "second message fails",
        LONG_GSM,
        failure=(500, 20500),
        fail_after=1,
        ok=False,
        retryable=True,
        error_mentions="after 1 of 2",
        messages=1,
    ),
    SendCase(
        "Twilio unreachable",
        "Halo",
        settings={"twilio_api_base_url": "closed"},
        ok=False,
        retryable=True,
        messages=0,
    ),
    SendCase(
        "Twilio not configured",
        "Halo",
        settings={"twilio_account_sid": ""},
        ok=False,
        error_mentions="not configured",
        messages=0,
    ),
    SendCase("nothing to say", "   ", ok=False, error_mentions="empty", messages=0),
]


def _settings(twilio: RunningTwilio, **overrides: Any) -> Settings:
    values = {"twilio_api_base_url": twilio.url, **overrides}
    if values["twilio_api_base_url"] == "closed":
        values["twilio_api_base_url"] = closed_port_url()
    return channel_settings(**values)


@pytest.mark.parametrize("case", SEND_CASES, ids=lambda case: case.label)
def test_send(twilio: RunningTwilio, case: SendCase) -> None:
    if case.failure:
        twilio.fake.fail(*case.failure, to=CITIZEN, after=case.fail_after)
    channel = TwilioSmsChannel(_settings(twilio, **case.settings))
    message = OutboundMessage("twilio_sms", CITIZEN, case.text, idempotency_key="k1")

    result = asyncio.run(channel.send(message))

    assert (result.ok, result.retryable) == (case.ok, case.retryable), result.error
    assert case.error_mentions in (result.error or "")
    sent = twilio.fake.sent_to(CITIZEN)
    assert len(sent) == case.messages
    max_segments = channel.settings.twilio_sms_max_segments
    for message_sent in sent:
        assert message_sent.from_ == SMS_NUMBER
        assert message_sent.status_callback == f"{PUBLIC_BASE}/webhooks/twilio_sms/status"
        assert count_segments(message_sent.body) <= max_segments
    if case.ok:
        assert result.provider_message_id == sent[0].sid
        assert " ".join(m.body for m in sent).split() == case.text.split()
        assert result.parts == sum(count_segments(m.body) for m in sent)


# --- finding what was sent before a crash ----------------------------------------------------


@pytest.mark.parametrize(
    ("label", "asked_text", "since_shift", "found"),
    [
        ("same reply, sent after the attempt began", "Laporan LPR-7K3M9Q diterima.", -60, True),
        ("another text", "Laporan LPR-7K3M9Q ditolak.", -60, False),
        ("sent before the attempt began", "Laporan LPR-7K3M9Q diterima.", +60, False),
    ],
)
def test_find_sent(
    twilio: RunningTwilio, label: str, asked_text: str, since_shift: int, found: bool
) -> None:
    channel = TwilioSmsChannel(_settings(twilio))
    sent = OutboundMessage("twilio_sms", CITIZEN, "Laporan LPR-7K3M9Q diterima.", "k1")
    result = asyncio.run(channel.send(sent))
    created = twilio.fake.sent_to(CITIZEN)[0].date_created
    asked = OutboundMessage("twilio_sms", CITIZEN, asked_text, "k1")

    sid = asyncio.run(channel.find_sent(asked, created + timedelta(seconds=since_shift)))

    assert channel.can_find_sent
    assert sid == (result.provider_message_id if found else None)


def test_find_sent_when_twilio_cannot_be_asked() -> None:
    channel = TwilioSmsChannel(channel_settings(twilio_api_base_url=closed_port_url()))
    asked = OutboundMessage("twilio_sms", CITIZEN, "Halo", "k1")
    assert asyncio.run(channel.find_sent(asked, FIXED_NOW)) is None
