"""HMAC signatures on the events a core pushes to the gateway.

One module signs (the simulator) and checks (the gateway's `POST /core/events`), so both sides
agree by construction. The signature covers the timestamp and the raw body:

    X-Core-Timestamp: <unix seconds>
    X-Core-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>

Signing the timestamp is what makes the replay window meaningful: a captured request cannot be
re-sent later with a fresh timestamp. Within the window a replay is harmless because every
event carries an id the gateway applies only once.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime

SIGNATURE_HEADER = "X-Core-Signature"
TIMESTAMP_HEADER = "X-Core-Timestamp"
SIGNATURE_SCHEME = "sha256"
DEFAULT_TOLERANCE_SECONDS = 300


class PushSignatureError(Exception):
    """The push is not signed with our secret, or too old/new (answer 403, change nothing)."""


def compute_signature(body: bytes, secret: str, timestamp: int) -> str:
    """The hex HMAC-SHA256 of "<timestamp>." + body."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign_push(body: bytes, secret: str, now: datetime) -> dict[str, str]:
    """The headers that make `body` a signed push sent at `now`."""
    timestamp = int(now.timestamp())
    signature = compute_signature(body, secret, timestamp)
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: f"{SIGNATURE_SCHEME}={signature}",
    }


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def check_push_signature(
    body: bytes,
    headers: Mapping[str, str],
    secret: str | None,
    now: datetime,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Raise `PushSignatureError` unless `body` was signed with `secret` within the window."""
    if not secret:
        # Fail closed: without a shared secret nobody can be trusted to push.
        raise PushSignatureError("no push secret is configured; refusing unsigned events")
    raw_timestamp = _header(headers, TIMESTAMP_HEADER)
    raw_signature = _header(headers, SIGNATURE_HEADER)
    if not raw_timestamp or not raw_signature:
        raise PushSignatureError(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header")
    try:
        timestamp = int(raw_timestamp.strip())
    except ValueError:
        raise PushSignatureError(f"{TIMESTAMP_HEADER} is not unix seconds") from None
    if abs(now.timestamp() - timestamp) > tolerance_seconds:
        raise PushSignatureError("push timestamp is outside the allowed window (replay?)")
    scheme, _, given = raw_signature.strip().partition("=")
    if scheme != SIGNATURE_SCHEME or not given:
        raise PushSignatureError(f"{SIGNATURE_HEADER} must look like '{SIGNATURE_SCHEME}=<hex>'")
    expected = compute_signature(body, secret, timestamp)
    if not hmac.compare_digest(expected, given.lower()):
        raise PushSignatureError("push signature does not match")
