"""Choose the SP4N core backend named in settings (`CORE_BACKEND`). Explicit, no discovery.

- `rest`: `RestCoreClient` at CORE_BASE_URL, paths and fields from CORE_REST_MAPPING_FILE;
- `simulator`: the same client pointed at the built-in simulator (default mapping);
- `manual`: `ManualCoreClient`, an admin files each report on the LAPOR! website.
"""

from __future__ import annotations

import asyncio

import httpx

from config.settings import Settings
from forwarder.base import CoreClient
from forwarder.manual import ManualCoreClient
from forwarder.rest import RestCoreClient, Sleep

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
