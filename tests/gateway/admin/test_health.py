"""Issue 13 (operations): a channel whose provider starts answering 500 shows as failing on the
admin health page and in /healthz (degraded, still 200), and the koordinators get one WhatsApp
alarm per incident, not one per sweep."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from channels.base import Poller, PollError, PollResult
from channels.registry import build_pollers
from config.settings import Settings
from gateway.admin import health
from gateway.context import Gateway
from gateway.jobs.pollers import BUDGET_SPENT, PollerRunner
from gateway.outbox.delivery import NOTIFY_ADMIN, REPLY
from gateway.outbox.payloads import ChannelPayload
from gateway.outbox.queue import OutboxMessage, enqueue
from gateway.store.models import OutboxItem, User
from tests.channels.cases import channel_settings
from tests.channels.conftest import RunningX
from tests.conftest import RunningTwilio
from tests.gateway.admin.conftest import Accounts, Admin

CITIZEN = "+6281234567890"
KOOR_WA = "+6281100000999"


@pytest.fixture
def settings(tmp_path: Path, db_url: str, twilio: RunningTwilio, x_api: RunningX) -> Settings:
    return channel_settings(
        x_api_base_url=x_api.url,
        x_daily_read_budget=5,
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


def _poller_breaks(gateway: Gateway, x_api: RunningX, accounts: Accounts) -> None:
    """X's mentions endpoint starts answering 503: the runner fails as many turns in a row as
    CHANNEL_FAILURE_ALARM says is an incident (each after the back-off it chose)."""
    with gateway.db.session() as session:
        koordinator = session.get(User, accounts.koordinator)
        assert koordinator is not None
        koordinator.whatsapp = KOOR_WA
        session.commit()
    runner = PollerRunner(gateway, build_pollers(gateway.channels)["x_mentions"])
    now = datetime.now(UTC)
    assert asyncio.run(runner.run_once(now)).error is None
    x_api.fake.fail("mentions", 503, times=10)
    for _ in range(gateway.settings.channel_failure_alarm):
        out = asyncio.run(runner.run_once(now))
        assert out.error
        now += timedelta(seconds=out.wait_seconds + 1)


def test_a_failing_poller_shows_on_the_health_page_in_healthz_and_alarms_once(
    gateway: Gateway,
    x_api: RunningX,
    accounts: Accounts,
    clients: dict[str, Admin],
) -> None:
    _poller_breaks(gateway, x_api, accounts)
    page = clients["koor"].client.get("/admin/health").text
    assert 'id="poller-x_mentions" data-state="failing"' in page
    row = page.split('id="poller-x_mentions"')[1].split("</tr>")[0]
    assert "X server error" in row  # the last error
    assert f'data-consecutive="{gateway.settings.channel_failure_alarm}"' in row
    assert 'data-budget-left="' in row  # X's daily read budget
    probe = clients["anonymous"].client.get("/healthz")
    assert probe.status_code == 200 and probe.json()["status"] == "degraded"
    assert probe.json()["pollers"] == {"x_mentions": "failing"}
    assert health.raise_alarms(gateway) >= 1
    assert health.raise_alarms(gateway) == 0  # the same incident on the next sweep
    with gateway.db.read_session() as session:
        alarms = session.scalars(select(OutboxItem).where(OutboxItem.kind == NOTIFY_ADMIN)).all()
    [alarm] = [a for a in alarms if a.idempotency_key.startswith("alarm:poller:x_mentions")]
    assert alarm.recipient == KOOR_WA and "x_mentions" in alarm.payload["text"]


def test_a_poller_whose_budget_is_spent_is_paused_not_failing(
    gateway: Gateway, x_api: RunningX, clients: dict[str, Admin]
) -> None:
    runner = PollerRunner(gateway, build_pollers(gateway.channels)["x_mentions"])
    asyncio.run(runner.run_once())
    x_api.fake.add_user("1500000000000000299", "warga_fake", "Warga")
    when = (datetime.now(UTC) + timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    for n in range(6):  # six reads: more than the budget of five
        x_api.fake.add_mention(
            {
                "id": str(1_860_000_000_000_002_000 + n),
                "text": f"@LaporRembang lampu mati nomor {n}",
                "author_id": "1500000000000000299",
                "created_at": when,
            }
        )
    asyncio.run(runner.run_once())
    assert asyncio.run(runner.run_once()).polled is False  # spent: X is not asked
    page = clients["koor"].client.get("/admin/health").text
    row = page.split('id="poller-x_mentions"')[1].split("</tr>")[0]
    assert 'data-state="paused"' in row and 'data-budget-left="0"' in row
    probe = clients["anonymous"].client.get("/healthz").json()
    assert "x_mentions" not in probe.get("pollers", {})


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
    assert 'id="poller-x_mentions" data-state="paused"' in page
    assert "Jatah harian habis: pembacaan berhenti sampai" in page
    assert "X — sebutan akun" in page
    # One refused poll is shown at once; CHANNEL_FAILURE_ALARM of them in a row are an incident.
    assert 'id="poller-youtube_comments" data-state="retrying"' in page
    assert "400 keyInvalid" in page
