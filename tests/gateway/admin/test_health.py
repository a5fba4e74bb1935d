"""Issue 13 (operations): a channel whose provider starts answering 500 shows as failing on the
admin health page and in /healthz (degraded, still 200), and the koordinators get one WhatsApp
alarm per incident, not one per sweep."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from channels.base import Poller, PollError, PollResult
from config.settings import Settings
from gateway.admin import health
from gateway.context import Gateway
from gateway.jobs.pollers import BUDGET_SPENT, PollerRunner
from gateway.outbox.delivery import NOTIFY_ADMIN, REPLY
from gateway.outbox.payloads import ChannelPayload
from gateway.outbox.queue import OutboxMessage, enqueue
from gateway.store.models import OutboxItem, User
from tests.channels.cases import channel_settings
from tests.conftest import RunningTwilio
from tests.gateway.admin.conftest import Accounts, Admin

CITIZEN = "+6281234567890"
KOOR_WA = "+6281100000999"


@pytest.fixture
def settings(tmp_path: Path, db_url: str, twilio: RunningTwilio) -> Settings:
    return channel_settings(
        app_env="test",
        database_url=db_url,
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        secret_key="test-secret-key-not-for-production",
        twilio_api_base_url=twilio.url,
        outbox_backoff_base_seconds=1,
        public_base_url="http://127.0.0.1:8000",  # the admin test clients' address (cookies)
    )


def _provider_breaks(gateway: Gateway, twilio: RunningTwilio, accounts: Accounts) -> None:
    with gateway.db.session() as session:
        koordinator = session.get(User, accounts.koordinator)
        assert koordinator is not None
        koordinator.whatsapp = KOOR_WA
        for n in range(3):
            enqueue(
                session,
                OutboxMessage(
                    kind=REPLY,
                    key=f"reply-{n}",
                    channel="twilio_sms",
                    recipient=CITIZEN,
                    payload=ChannelPayload(f"Balasan {n}"),
                ),
            )
        session.commit()
    twilio.fake.fail(500, 20500, "Internal Server Error", to=CITIZEN, times=None)
    asyncio.run(gateway.dispatcher("w1").run_once())


def test_a_failing_provider_shows_on_the_health_page_and_in_healthz(
    gateway: Gateway, twilio: RunningTwilio, accounts: Accounts, clients: dict[str, Admin]
) -> None:
    _provider_breaks(gateway, twilio, accounts)
    page = clients["koor"].client.get("/admin/health")
    assert page.status_code == 200
    assert 'id="health-twilio_sms" data-state="failing"' in page.text
    assert "gagal terus" in page.text
    assert 'id="health-telegram" data-state="idle"' in page.text
    assert clients["pupr"].client.get("/admin/health").status_code == 403
    probe = clients["anonymous"].client.get("/healthz")
    assert probe.status_code == 200
    assert probe.json()["status"] == "degraded"
    assert probe.json()["channels"] == {"twilio_sms": "degraded"}


def test_one_alarm_per_incident(
    gateway: Gateway, twilio: RunningTwilio, accounts: Accounts
) -> None:
    _provider_breaks(gateway, twilio, accounts)
    assert health.raise_alarms(gateway) >= 1
    assert health.raise_alarms(gateway) == 0  # the next sweep: same incident, nothing new
    with gateway.db.read_session() as session:
        alarms = session.scalars(select(OutboxItem).where(OutboxItem.kind == NOTIFY_ADMIN)).all()
    failing = [a for a in alarms if a.idempotency_key.startswith("alarm:failing:twilio_sms")]
    assert len(failing) == 1
    assert failing[0].channel == "twilio_whatsapp" and failing[0].recipient == KOOR_WA
    assert "twilio_sms" in failing[0].payload["text"]


class _Stub(Poller):
    """A polled source that reads one item per poll and may spend 1 a day."""

    name = "x_mentions"
    channel = "x"
    daily_budget = 1

    def __init__(self) -> None:
        self.failure: PollError | None = None

    async def fetch(self, cursor: str | None) -> PollResult:
        if self.failure is not None:
            raise self.failure
        return PollResult([], "c1", cost=1)


def test_polled_sources_show_their_budget_and_errors_on_the_health_page(
    gateway: Gateway, clients: dict[str, Admin]
) -> None:
    """The day's X reads spent: polling stops and the page says until when; a source whose
    credentials were refused shows failing with X's words."""
    spent = _Stub()
    runner = PollerRunner(gateway, spent)
    asyncio.run(runner.run_once())  # reads 1: the budget of the day
    assert asyncio.run(runner.run_once()).error == BUDGET_SPENT
    refused = _Stub()
    refused.name, refused.daily_budget = "youtube_comments", None
    refused.failure = PollError("YouTube refused the request (400 keyInvalid)", retryable=False)
    asyncio.run(PollerRunner(gateway, refused).run_once())

    page = clients["koor"].client.get("/admin/health").text
    assert 'id="source-x_mentions" data-state="budget_spent"' in page
    assert "Jatah harian habis: pembacaan berhenti sampai" in page
    assert "X — sebutan akun" in page
    assert 'id="source-youtube_comments" data-state="failing"' in page
    assert "400 keyInvalid" in page
