"""A gateway wired to running fakes: the SP4N core simulator, Twilio and Telegram, each on its
own 127.0.0.1 port, for tests that cross every boundary."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import httpx

from channels.fakes.server import FakeServer
from forwarder.simulator.app import create_app as create_core
from forwarder.simulator.core import CoreSimulator
from gateway.complaints import workflow
from gateway.context import Gateway
from gateway.jobs.scheduler import worker_id
from gateway.store.db import Database
from tests.channels.cases import channel_settings
from tests.conftest import RunningTelegram, RunningTwilio


@dataclass
class CoreEnv:
    gateway: Gateway
    core: CoreSimulator
    core_url: str
    twilio: RunningTwilio
    telegram: RunningTelegram

    def dispatch(self, now=None) -> int:  # type: ignore[no-untyped-def]
        return asyncio.run(self.gateway.dispatcher(worker_id()).drain(now))

    def poll(self) -> int:
        from gateway.core import sync as core_sync

        return asyncio.run(core_sync.poll(self.gateway))

    def core_admin(self, method: str, path: str, json: dict) -> httpx.Response:
        return httpx.request(method, f"{self.core_url}/api/v1/admin{path}", json=json, timeout=10)

    def core_act(self, core_id: str, action: str, **body: object) -> None:
        response = self.core_admin(
            "POST", f"/reports/{core_id}/actions", {"action": action, **body}
        )
        assert response.status_code == 201, response.text

    def core_reports(self) -> list[dict]:
        response = httpx.get(f"{self.core_url}/api/v1/reports", timeout=10)
        assert response.status_code == 200
        data = response.json()
        return data["reports"] if isinstance(data, dict) else data


def start_core(tmp_path: Path) -> tuple[FakeServer, CoreSimulator, str]:
    app = create_core(tmp_path / "core.db", media_dir=tmp_path / "core-media")
    server = FakeServer(app)
    url = server.start()
    return server, app.state.core, url


def make_gateway(
    db: Database,
    db_url: str,
    tmp_path: Path,
    core_url: str,
    twilio: RunningTwilio,
    telegram: RunningTelegram,
    **overrides: object,
) -> Gateway:
    values: dict[str, object] = {
        "database_url": db_url,
        "data_dir": tmp_path / "var",
        "scheduler_enabled": False,
        "app_env": "test",
        "secret_key": "test-secret-key-not-for-production",
        "core_backend": "simulator",
        "core_base_url": core_url,
        "core_timeout_seconds": 2,
        # Tests move the clock instead of waiting: no in-client retries or Retry-After sleeps.
        "core_retries": 0,
        "core_retry_backoff_seconds": 0.01,
        "twilio_api_base_url": twilio.url,
        "telegram_api_base_url": telegram.url,
        "outbox_backoff_base_seconds": 1,
    }
    settings = channel_settings(**{**values, **overrides})
    return Gateway.create(settings, db=db)


def dispose(gateway: Gateway, complaint_id: int, agency_code: str = "DPUPR") -> None:
    """Verify and dispose as an admin would (the admin actions add the UI on top of this)."""
    from sqlalchemy import select

    from gateway.core import sync as core_sync
    from gateway.sla import deadlines
    from gateway.store.models import Agency, Complaint, Status

    with gateway.db.session() as session:
        complaint = session.get(Complaint, complaint_id)
        assert complaint is not None
        agency = session.scalar(select(Agency).where(Agency.code == agency_code))
        if agency is None:
            agency = Agency(code=agency_code, name="Dinas Pekerjaan Umum")
            session.add(agency)
            session.flush()
        workflow.transition(
            session,
            complaint,
            Status.VERIFIED,
            actor="user:1",
            action="verified",
            changes={"category": "pengaduan"},
            public=True,
        )
        workflow.transition(
            session,
            complaint,
            Status.DISPOSED,
            actor="user:1",
            action="disposed",
            changes={"agency_id": agency.id},
            public=True,
        )
        core_sync.enqueue_submit(session, complaint)
        deadlines.refresh(gateway, session, complaint)
        workflow.commit(session)
