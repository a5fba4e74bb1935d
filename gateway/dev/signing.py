"""Signing provider payloads the way the providers do, for `lapor-gateway send-fixture`
(demos and manual testing against a running gateway)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
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


# Telegram's Unix times in an update (a message's `date`, an edit's `edit_date`...); zero means
# "none" (`until_date: 0` is "forever"), so only positive values are moved.
TELEGRAM_TIME_KEYS = frozenset({"date", "edit_date", "forward_date"})
# Twilio's inbound message webhooks carry no time; a status callback's delivery receipt does
# (YYMMDDhhmm, UTC).
TWILIO_TIME_FORMATS = {"RawDlrDoneDate": "%y%m%d%H%M"}


def rewrite(
    channel: str,
    body: bytes,
    *,
    fresh: bool = False,
    text: str | None = None,
    sender: str | None = None,
    now: datetime | None = None,
    account_sid: str | None = None,
) -> bytes:
    """The same payload with a new message id (`fresh`), another text or another sender, so a
    whole conversation can be played with one fixture file.

    A new message is sent now: whenever the id changes, every provider timestamp in the payload
    moves to `now` (the latest one lands on `now`, the others keep their distance to it), so a
    complaint played from a 2024 fixture is not years overdue. Twilio payloads are moved to
    `account_sid` (the one the gateway is configured with): Twilio writes its account into
    `AccountSid` and into every `MediaUrl`, and answers a media URL of another account 401."""
    renew = fresh or text is not None or sender is not None
    now = now or datetime.now(UTC)
    if channel == "telegram":
        data = json.loads(body)
        if renew:
            data["update_id"] = uuid.uuid4().int % 10**9
            _move_telegram_times(data, now)
        message = data.get("message") or {}
        if text is not None:
            message["text"] = text
            message.pop("entities", None)
        if sender is not None:
            message.setdefault("chat", {})["id"] = int(sender)
            message.setdefault("from", {})["id"] = int(sender)
        return json.dumps(data).encode()
    new_id = "SM" + uuid.uuid4().hex
    prefix = "whatsapp:" if channel == "twilio_whatsapp" else ""
    pairs = []
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        if key in ("MessageSid", "SmsMessageSid", "SmsSid") and renew:
            value = new_id
        elif key == "Body" and text is not None:
            value = text
        elif key == "From" and sender is not None:
            value = prefix + sender
        elif key in TWILIO_TIME_FORMATS and renew:
            value = now.astimezone(UTC).strftime(TWILIO_TIME_FORMATS[key])
        elif account_sid and key == "AccountSid":
            value = account_sid
        elif account_sid and key.startswith("MediaUrl"):
            value = re.sub(r"/Accounts/AC\w+/", f"/Accounts/{account_sid}/", value)
        pairs.append((key, value))
    return urlencode(pairs).encode()


def _telegram_times(node: Any) -> Iterator[tuple[dict[str, Any], str]]:
    """Every (object, key) holding a Telegram timestamp, anywhere in the update."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in TELEGRAM_TIME_KEYS and isinstance(value, int) and value > 0:
                yield node, key
            else:
                yield from _telegram_times(value)
    elif isinstance(node, list):
        for item in node:
            yield from _telegram_times(item)


def _move_telegram_times(data: dict[str, Any], now: datetime) -> None:
    found = list(_telegram_times(data))
    if not found:
        return
    shift = int(now.timestamp()) - max(holder[key] for holder, key in found)
    for holder, key in found:
        holder[key] += shift
