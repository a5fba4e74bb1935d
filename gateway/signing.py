"""Signing provider payloads the way the providers do, for `lapor-gateway send-fixture`
(demos and manual testing against a running gateway)."""

from __future__ import annotations

import json
import uuid
from urllib.parse import parse_qsl, urlencode

from twilio.request_validator import RequestValidator

from channels.telegram import SECRET_HEADER
from channels.twilio_common import form_params
from config.settings import Settings


def signed_headers(settings: Settings, channel: str, url: str, body: bytes) -> dict[str, str]:
    if channel == "telegram":
        secret = settings.telegram_webhook_secret
        if secret is None:
            raise ValueError("TELEGRAM_WEBHOOK_SECRET is not set")
        return {"content-type": "application/json", SECRET_HEADER: secret.get_secret_value()}
    token = settings.twilio_auth_token
    if token is None:
        raise ValueError("TWILIO_AUTH_TOKEN is not set")
    public = url
    if settings.twilio_public_base_url:
        public = settings.twilio_public_base_url + url[url.index("/webhooks/") :]
    signature = RequestValidator(token.get_secret_value()).compute_signature(
        public, form_params(body)
    )
    return {"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature}


def freshen(channel: str, body: bytes) -> bytes:
    """The same payload with a new message id, so the gateway takes it as a new message."""
    if channel == "telegram":
        data = json.loads(body)
        data["update_id"] = uuid.uuid4().int % 10**9
        return json.dumps(data).encode()
    pairs = [
        (
            key,
            ("SM" + uuid.uuid4().hex)
            if key in ("MessageSid", "SmsMessageSid", "SmsSid")
            else value,
        )
        for key, value in parse_qsl(body.decode(), keep_blank_values=True)
    ]
    return urlencode(pairs).encode()
