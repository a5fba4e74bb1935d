"""`build_core_client` gives the backend CORE_BACKEND names, configured from settings."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from config.settings import load_settings
from forwarder.manual import ManualCoreClient
from forwarder.registry import build_core_client
from forwarder.rest import RestCoreClient
from forwarder.simulator import create_app

from .conftest import make_report

pytestmark = pytest.mark.anyio


async def test_simulator_backend_talks_to_the_simulator(tmp_path: Path) -> None:
    app = create_app(tmp_path / "core.db")
    settings = load_settings(core_backend="simulator", core_base_url="http://127.0.0.1:8100")
    client = build_core_client(settings, transport=httpx.ASGITransport(app=app))
    assert isinstance(client, RestCoreClient)
    assert client.name == "simulator"
    ref = await client.submit(make_report(), "complaint-1")
    assert app.state.core.get(ref.core_id).idempotency_key == "complaint-1"
    await client.aclose()


async def test_rest_backend_reads_its_mapping_and_settings(tmp_path: Path) -> None:
    mapping = tmp_path / "lapor.json"
    mapping.write_text('{"submit_path": "/integrasi/laporan", "api_key_header": "X-Key"}')
    settings = load_settings(
        core_backend="rest",
        core_base_url="https://lapor.example.test/",
        core_api_key="key-" + "q" * 12,
        core_rest_mapping_file=mapping,
        core_timeout_seconds=3,
        core_retries=4,
    )
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"id": "77", "status": "Belum Terverifikasi"})

    client = build_core_client(settings, transport=httpx.MockTransport(handler))
    assert isinstance(client, RestCoreClient)
    assert (client.name, client.retries, client.timeout_seconds) == ("rest", 4, 3)
    await client.submit(make_report(), "complaint-1")
    assert str(seen[0].url) == "https://lapor.example.test/integrasi/laporan"
    assert seen[0].headers["X-Key"] == "key-" + "q" * 12
    await client.aclose()


def test_manual_backend() -> None:
    client = build_core_client(load_settings(core_backend="manual"))
    assert isinstance(client, ManualCoreClient)
    assert client.name == "manual"


def test_push_verifier_uses_the_configured_secret_and_window() -> None:
    import json
    import secrets
    from datetime import timedelta

    from forwarder.registry import build_push_verifier
    from forwarder.rest import PushSignatureError
    from forwarder.signing import sign_push

    from .conftest import START

    secret = secrets.token_hex(16)
    body = json.dumps(
        {
            "events": [
                {
                    "event_id": "sim-x-1",
                    "report_id": "5000001",
                    "kind": "closed",
                    "status": "closed",
                    "occurred_at": START.isoformat(),
                }
            ]
        }
    ).encode()
    verify = build_push_verifier(
        load_settings(core_push_secret=secret, core_push_tolerance_seconds=60)
    )
    [event] = verify(body, sign_push(body, secret, START), START + timedelta(seconds=59))
    assert event.status == "closed"
    with pytest.raises(PushSignatureError):
        verify(body, sign_push(body, secret, START), START + timedelta(seconds=61))
    unset = build_push_verifier(load_settings(core_push_secret=None))
    with pytest.raises(PushSignatureError):
        unset(body, sign_push(body, secret, START), START)
    manual = build_push_verifier(load_settings(core_backend="manual", core_push_secret=secret))
    with pytest.raises(PushSignatureError):
        manual(body, sign_push(body, secret, START), START)
