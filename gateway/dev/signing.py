"""Signing provider payloads the way the providers do, for `lapor-gateway send-fixture`
(demos and manual testing against a running gateway): Twilio's X-Twilio-Signature, Telegram's
secret token header, Meta's X-Hub-Signature-256 (HMAC-SHA256 of the body with the app
secret)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from twilio.request_validator import RequestValidator

from channels.meta.webhook import SIGNATURE_HEADER, sign
from channels.telegram import SECRET_HEADER
from channels.twilio_common import form_params
from config.settings import Settings

META_CHANNELS = frozenset({"whatsapp_cloud", "instagram", "facebook"})


def signed_headers(settings: Settings, channel: str, url: str, body: bytes) -> dict[str, str]:
    if channel in META_CHANNELS:
        secret = settings.meta_app_secret
        if secret is None:
            raise ValueError("META_APP_SECRET is not set")
        return {
            "content-type": "application/json",
            SIGNATURE_HEADER: sign(body, secret.get_secret_value()),
        }
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
    if channel in META_CHANNELS:
        data = json.loads(body)
        _rewrite_meta(data, renew=renew, text=text, sender=sender, now=now)
        return json.dumps(data).encode()
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


def _rewrite_meta(
    data: dict[str, Any], *, renew: bool, text: str | None, sender: str | None, now: datetime
) -> None:
    """Every message, comment and postback in a Meta notification: a new id and the time now
    (`renew`), another text, another sender (E.164 for WhatsApp, a PSID/IGSID otherwise).
    Statuses and echoes are left as they are."""
    seconds = int(now.timestamp())
    for entry in data.get("entry") or []:
        if renew and isinstance(entry.get("time"), int):
            # Messenger's entry time is in milliseconds, the others' in seconds.
            entry["time"] = seconds * 1000 if entry["time"] > 10**11 else seconds
        for event in entry.get("messaging") or []:
            if renew and "timestamp" in event:
                event["timestamp"] = seconds * 1000
            message = event.get("message") or {}
            if renew and message.get("mid"):
                message["mid"] = "m_" + uuid.uuid4().hex
            if text is not None and "message" in event:
                message["text"] = text
                message.pop("attachments", None)
                message.pop("quick_reply", None)
            if sender is not None and "sender" in event:
                event["sender"]["id"] = sender
        for change in entry.get("changes") or []:
            value = change.get("value") or {}
            _rewrite_whatsapp(value, renew=renew, text=text, sender=sender, now=now)
            comment = value.get("id") or value.get("comment_id")
            if change.get("field") in ("comments", "live_comments", "feed") and comment:
                _rewrite_comment(value, renew=renew, text=text, sender=sender, now=now)


def _rewrite_whatsapp(
    value: dict[str, Any], *, renew: bool, text: str | None, sender: str | None, now: datetime
) -> None:
    digits = sender.lstrip("+") if sender else None
    for message in value.get("messages") or []:
        if renew:
            message["id"] = "wamid." + uuid.uuid4().hex.upper()
            message["timestamp"] = str(int(now.timestamp()))
        if text is not None:
            for key in ("image", "video", "audio", "document", "location", "contacts"):
                message.pop(key, None)
            message["type"] = "text"
            message["text"] = {"body": text}
        if digits:
            message["from"] = digits
    if digits:
        for contact in value.get("contacts") or []:
            contact["wa_id"] = digits


def _rewrite_comment(
    value: dict[str, Any], *, renew: bool, text: str | None, sender: str | None, now: datetime
) -> None:
    """An Instagram comment (`id`, `text`, `from.id`) or a Facebook feed comment (`comment_id`
    "<post>_<comment>", `message`, `created_time`, `from.id`)."""
    fresh_number = str(uuid.uuid4().int % 10**15).rjust(15, "1")
    if "comment_id" in value:  # Facebook
        if renew:
            post = str(value.get("post_id") or value["comment_id"]).rsplit("_", 1)[-1]
            value["comment_id"] = f"{post}_{fresh_number}"
            if isinstance(value.get("created_time"), int):
                value["created_time"] = int(now.timestamp())
        if text is not None:
            value["message"] = text
    else:  # Instagram
        if renew:
            value["id"] = "179" + fresh_number
        if text is not None:
            value["text"] = text
    if sender is not None and isinstance(value.get("from"), dict):
        value["from"]["id"] = sender
