"""Helpers for the hostile-input tests: a gateway with every channel configured, and requests
signed as each provider signs them, whatever the body holds (a fuzzer with the secret)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from channels.telegram import SECRET_HEADER
from forwarder.signing import sign_push
from gateway.app import create_app
from gateway.clock import utcnow
from gateway.context import Gateway
from gateway.store.db import Database
from tests.channels.cases import (
    META_CHANNELS,
    PUBLIC_BASE,
    TEST_TELEGRAM_SECRET,
    TEST_X_CONSUMER_SECRET,
    X_SIGNATURE_HEADER,
    channel_settings,
    meta_signature,
    twilio_signature,
    x_signature,
)

CORE_PUSH_SECRET = "test-core-push-secret-not-real"
TWILIO_CHANNELS = ("twilio_sms", "twilio_whatsapp")
JSON_WEBHOOKS = ("telegram", "x", *META_CHANNELS)
WEBHOOKS = (*TWILIO_CHANNELS, *JSON_WEBHOOKS)


def hostile_gateway(db: Database, db_url: str, tmp_path: Path, **overrides: Any) -> Gateway:
    settings = channel_settings(
        database_url=db_url,
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        app_env="test",
        secret_key="test-secret-key-not-for-production",
        core_backend="rest",
        core_base_url="http://127.0.0.1:9",  # nothing listens: pushes only, never a call out
        core_push_secret=CORE_PUSH_SECRET,
        **overrides,
    )
    gateway = Gateway.create(settings, db=db)
    # The conversation is not under test: only what the routes answer and store.
    gateway.processors = {name: (lambda *_: None) for name in gateway.processors}
    return gateway


def hostile_client(gateway: Gateway) -> Iterator[TestClient]:
    # Server errors become responses (500), so a test can assert on them instead of dying.
    app = create_app(gateway.settings, gateway)
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        yield client


def signed_webhook(channel: str, body: bytes, subpath: str = "") -> tuple[str, dict[str, str]]:
    """(path, headers) that make `body` a genuine request of `channel`'s provider."""
    path = f"/webhooks/{channel}" + (f"/{subpath}" if subpath else "")
    if channel in TWILIO_CHANNELS:
        return path, {
            "content-type": "application/x-www-form-urlencoded",
            "x-twilio-signature": twilio_signature(PUBLIC_BASE + path, body),
        }
    headers = {"content-type": "application/json"}
    if channel == "telegram":
        headers[SECRET_HEADER.lower()] = TEST_TELEGRAM_SECRET
    elif channel == "x":
        headers[X_SIGNATURE_HEADER] = x_signature(TEST_X_CONSUMER_SECRET, body)
    else:
        headers["x-hub-signature-256"] = meta_signature(body)
    return path, headers


def signed_push(body: bytes) -> dict[str, str]:
    return {"content-type": "application/json", **sign_push(body, CORE_PUSH_SECRET, utcnow())}
