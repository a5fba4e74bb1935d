"""Shared Twilio pieces: which URL the signature covers, where the SDK is sent, phone numbers."""

from __future__ import annotations

import pytest

from channels.addresses import to_e164
from channels.base import DeliveryState
from channels.twilio_common import TWILIO_STATUS, public_url, rebase_twilio_url


@pytest.mark.parametrize(
    ("received", "public_base", "signed"),
    [
        (
            "http://10.0.0.7:8000/webhooks/twilio_sms",
            None,
            "http://10.0.0.7:8000/webhooks/twilio_sms",
        ),
        (
            "http://10.0.0.7:8000/webhooks/twilio_sms?x=1",
            "https://lapor.example.go.id",
            "https://lapor.example.go.id/webhooks/twilio_sms?x=1",
        ),
        (
            "http://127.0.0.1:8000/webhooks/twilio_whatsapp/status",
            "https://pemda.example.go.id/lapor",
            "https://pemda.example.go.id/lapor/webhooks/twilio_whatsapp/status",
        ),
    ],
)
def test_public_url(received: str, public_base: str | None, signed: str) -> None:
    assert public_url(received, public_base) == signed


@pytest.mark.parametrize(
    ("url", "api_base", "rebased"),
    [
        (
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json",
            "https://api.twilio.com",
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json",
        ),
        (
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?PageSize=50&Page=1",
            "http://127.0.0.1:9000/fake/twilio",
            "http://127.0.0.1:9000/fake/twilio/2010-04-01/Accounts/AC1/Messages.json?PageSize=50&Page=1",
        ),
        (
            "https://api.us1.twilio.com/2010-04-01/Accounts/AC1/Messages.json",
            "http://127.0.0.1:9000",
            "http://127.0.0.1:9000/2010-04-01/Accounts/AC1/Messages.json",
        ),
        # a media URL on someone else's host is left alone
        ("https://cdn.example.org/a.jpg", "http://127.0.0.1:9000", "https://cdn.example.org/a.jpg"),
    ],
)
def test_rebase_twilio_url(url: str, api_base: str, rebased: str) -> None:
    assert rebase_twilio_url(url, api_base) == rebased


def test_every_documented_message_status_is_mapped() -> None:
    documented = {
        "accepted", "scheduled", "queued", "sending", "sent", "delivered", "undelivered",
        "failed", "canceled", "read", "receiving", "received", "partially_delivered",
    }  # fmt: skip
    assert set(TWILIO_STATUS) == documented
    assert {s for s, state in TWILIO_STATUS.items() if state is DeliveryState.FAILED} == {
        "undelivered",
        "failed",
        "canceled",
    }


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+6281234567001", "+6281234567001"),
        ("6281234567001", "+6281234567001"),  # Telegram contacts come without the plus
        ("081234567001", "+6281234567001"),
        ("+62 812-3456-7001", "+6281234567001"),
        ("+14155238886", "+14155238886"),
        ("TELKOMSEL", None),
        ("", None),
    ],
)
def test_to_e164(raw: str, e164: str | None) -> None:
    assert to_e164(raw) == e164
