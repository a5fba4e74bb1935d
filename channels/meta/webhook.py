"""Meta's webhook security and envelope, shared by the three Meta channels.

- `verify_signature`: every POST carries `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of
  the raw body with the app secret. It is checked first, on the bytes as received, in constant
  time; a missing secret, header or match is a `SignatureError` and nothing is parsed.
- `answer_handshake`: Meta's GET set-up check (`hub.mode=subscribe`, `hub.verify_token`,
  `hub.challenge`): the token is compared in constant time and the challenge echoed as plain
  text. A wrong or missing token is a `SignatureError` (403).
- `read_notification`: the JSON body as a `Notification` of the expected `object`
  ("whatsapp_business_account", "instagram" or "page"); anything else (not JSON, too deep,
  too large) is a `PayloadError`.
- `from_epoch`: Meta's timestamps; one that is no number or past the year 9999 is "now", Meta's
  value kept for `extra["provider_time"]`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime

from pydantic import SecretStr, ValidationError

from channels.base import PayloadError, RawRequest, SignatureError, WebhookAck
from channels.meta.payloads import Notification, first_error
from channels.sanitize import (
    PROVIDER_TIME,
    check_body_size,
    clean_text,
    load_json,
    provider_time,
    secrets_match,
)

SIGNATURE_HEADER = "X-Hub-Signature-256"
SIGNATURE_PREFIX = "sha256="
# Meta's challenge is a number; anything else a caller wants echoed is refused, not reflected.
_CHALLENGE = re.compile(r"[A-Za-z0-9._-]{1,256}")


def sign(body: bytes, app_secret: str) -> str:
    """The `X-Hub-Signature-256` value Meta sends with `body` (also used by tests and the CLI)."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def verify_signature(raw: RawRequest, app_secret: SecretStr | None) -> None:
    secret = _secret(app_secret)
    if not secret:
        raise SignatureError("META_APP_SECRET is not set, so no Meta request can be trusted")
    given = raw.header(SIGNATURE_HEADER)
    if not given:
        raise SignatureError(f"missing {SIGNATURE_HEADER}")
    if not given.startswith(SIGNATURE_PREFIX):
        raise SignatureError(f"{SIGNATURE_HEADER} is not a sha256= signature")
    if not secrets_match(given.strip(), sign(raw.body, secret)):
        raise SignatureError(f"{SIGNATURE_HEADER} does not match the body")


def answer_handshake(raw: RawRequest, verify_token: SecretStr | None) -> WebhookAck:
    expected = _secret(verify_token)
    if not expected:
        raise SignatureError("META_VERIFY_TOKEN is not set, so the set-up check cannot pass")
    mode = raw.query.get("hub.mode")
    given = raw.query.get("hub.verify_token") or ""
    challenge = raw.query.get("hub.challenge") or ""
    if mode != "subscribe":
        raise SignatureError(f"hub.mode is {mode!r}, not 'subscribe'")
    if not secrets_match(given, expected):
        raise SignatureError("hub.verify_token does not match META_VERIFY_TOKEN")
    if not _CHALLENGE.fullmatch(challenge):
        raise PayloadError("hub.challenge is missing or not a plain token")
    return WebhookAck(status_code=200, body=challenge, media_type="text/plain")


def read_notification(
    raw: RawRequest, expected_object: str, max_bytes: int = 1024 * 1024
) -> Notification:
    check_body_size(raw, max_bytes)
    data = load_json(raw.body, "not a Meta notification")
    if not isinstance(data, dict):
        raise PayloadError("not a Meta notification: the body is not a JSON object")
    try:
        notification = Notification.model_validate(data)
    except ValidationError as exc:
        raise PayloadError(f"not a Meta notification: {first_error(exc)}") from None
    if notification.object != expected_object:
        raise PayloadError(
            f"a notification for object {clean_text(notification.object)[:60]!r} sent to the "
            f"{expected_object!r} webhook (check the callback URL in the Meta app)"
        )
    return notification


def from_epoch(value: int | str | None, now: datetime) -> tuple[datetime, dict[str, str]]:
    """Meta's timestamps (seconds: WhatsApp, feed; milliseconds: Messenger) as UTC, and what to
    add to `extra`: a time that is no number or out of range is `now`, Meta's value kept in
    `extra["provider_time"]`."""
    when, original = provider_time(value, now)
    return when, ({PROVIDER_TIME: original} if original else {})
