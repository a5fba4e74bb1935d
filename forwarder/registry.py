"""Choose the SP4N core backend named in settings (`CORE_BACKEND`). Explicit, no discovery.

- `rest`: `RestCoreClient` at CORE_BASE_URL, paths and fields from CORE_REST_MAPPING_FILE;
- `simulator`: the same client pointed at the built-in simulator (default mapping);
- `manual`: `ManualCoreClient`, an admin files each report on the LAPOR! website.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime

import httpx

from config.settings import Settings
from forwarder.base import CoreClient, CoreEvent
from forwarder.manual import ManualCoreClient
from forwarder.rest import PushSignatureError, RestCoreClient, RestMapping, Sleep, verify_push

PushVerifier = Callable[[bytes, Mapping[str, str], datetime], list[CoreEvent]]

BACKENDS = ("rest", "simulator", "manual")


def build_core_client(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Sleep = asyncio.sleep,
) -> CoreClient:
    """The configured backend; `transport` lets tests talk to an in-process core."""
    backend = settings.core_backend
    if backend in ("rest", "simulator"):
        return RestCoreClient.from_settings(settings, transport=transport, sleep=sleep)
    if backend == "manual":
        return ManualCoreClient.from_settings(settings)
    raise ValueError(f"unknown CORE_BACKEND {backend!r}; choose one of {', '.join(BACKENDS)}")


def build_push_verifier(settings: Settings) -> PushVerifier:
    """What `POST /core/events` calls: `(raw body, headers, now) -> events`.

    Raises `PushSignatureError` (answer 403) or `PushPayloadError` (answer 400). Uses the same
    field mapping as the backend; the manual backend has no core to push, so it refuses all.
    """
    if settings.core_backend == "manual":

        def refuse(body: bytes, headers: Mapping[str, str], now: datetime) -> list[CoreEvent]:
            raise PushSignatureError("the manual backend takes no pushed events")

        return refuse
    mapping = RestMapping.for_settings(settings)
    secret = settings.core_push_secret.get_secret_value() if settings.core_push_secret else None
    tolerance = settings.core_push_tolerance_seconds

    def verify(body: bytes, headers: Mapping[str, str], now: datetime) -> list[CoreEvent]:
        return verify_push(body, headers, secret, now, tolerance, mapping)

    return verify
