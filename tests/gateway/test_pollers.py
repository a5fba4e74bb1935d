"""The poller runner: X, YouTube and the mailbox polled through the gateway's one runner, with
the cursor stored in the transaction of the messages it produced, back-off on rate limits and
quotas, the daily budget, health per source, and the leader as the only instance polling."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httplib2
import pytest
import requests
from sqlalchemy import func, select, text

from channels.base import PayloadError, Poller
from channels.registry import build_pollers
from gateway.admin.health import overview
from gateway.context import Gateway
from gateway.jobs import pollers
from gateway.jobs.pollers import BUDGET_SPENT, CursorMoved, PollerRunner, store_poll
from gateway.jobs.scheduler import TELEGRAM_TASK, Scheduler
from gateway.store.db import Database
from gateway.store.models import InboundMessage, InboundStatus, PollerState
from tests.channels.cases import (
    FIXTURES,
    TEST_X_ACCESS_SECRET,
    TEST_X_ACCESS_TOKEN,
    channel_settings,
)
from tests.channels.conftest import ImapAccount, RunningX, RunningYouTube


def _gateway(db: Database, db_url: str, tmp_path: Path, **overrides: Any) -> Gateway:
    values: dict[str, Any] = {
        "database_url": db_url,
        "data_dir": tmp_path / "var",
        "scheduler_enabled": False,
        "app_env": "test",
        "secret_key": "test-secret-key-not-for-production",
        "core_backend": "manual",
        # The channels' own tests cover each provider; here only the polled ones are wired.
        "youtube_api_key": None,
        "youtube_channel_id": "",
        "x_access_token": "",
        "x_access_token_secret": None,
        "telegram_bot_token": None,
    }
    values.update(overrides)
    return Gateway.create(channel_settings(**values), db=db)


def _x_gateway(db: Database, db_url: str, tmp_path: Path, x: RunningX, **more: Any) -> Gateway:
    return _gateway(db, db_url, tmp_path, x_api_base_url=x.url, **more)


def _poller(gateway: Gateway, name: str) -> Poller:
    return build_pollers(gateway.channels)[name]


def _mention(x: RunningX, n: int) -> None:
    x.fake.add_user("1500000000000000299", "warga_fake", "Warga")
    # After the first poll's "from now": the fake filters by start_time like X does.
    when = datetime.now(UTC) + timedelta(seconds=5)
    x.fake.add_mention(
        {
            "id": str(1_860_000_000_000_001_000 + n),
            "text": f"@LaporRembang jalan berlubang di Kragan nomor {n}",
            "author_id": "1500000000000000299",
            "created_at": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        }
    )


def _state(db: Database, source: str) -> PollerState:
    with db.read_session() as session:
        row = session.get(PollerState, source)
        assert row is not None
        return row


def _inbound(db: Database, channel: str = "x") -> list[InboundMessage]:
    with db.read_session() as session:
        return list(
            session.scalars(
                select(InboundMessage)
                .where(InboundMessage.channel == channel)
                .order_by(InboundMessage.id)
            ).all()
        )


def test_x_mentions_are_stored_once_with_their_cursor_and_health(
    db: Database, db_url: str, tmp_path: Path, x_api: RunningX
) -> None:
    gateway = _x_gateway(db, db_url, tmp_path, x_api)
    runner = PollerRunner(gateway, _poller(gateway, "x_mentions"))
    first = asyncio.run(runner.run_once())  # starts from now: nothing older is taken
    assert first.polled and first.stored == []
    start = _state(db, "x_mentions").cursor
    assert start is not None
    for n in range(3):
        _mention(x_api, n)
    second = asyncio.run(runner.run_once())
    assert len(second.stored) == 3
    rows = _inbound(db)
    assert [r.external_id for r in rows] == [
        f"tweet:{1_860_000_000_000_001_000 + n}" for n in range(3)
    ]
    # Handed to the bot at once, like a webhook's messages.
    assert {r.status for r in rows} == {InboundStatus.PROCESSED.value}
    state = _state(db, "x_mentions")
    assert state.cursor not in (None, start)
    assert (state.polls, state.messages, state.errors, state.consecutive_errors) == (2, 3, 0, 0)
    assert state.last_success_at is not None and state.last_error is None
    assert state.budget_used == 3  # X bills the reads
    third = asyncio.run(runner.run_once())
    assert third.stored == [] and len(_inbound(db)) == 3
    [row] = [h for h in overview(gateway).pollers if h.source == "x_mentions"]
    assert (row.channel, row.messages, row.failing) == ("x", 3, False)


def test_a_crash_before_the_commit_refetches_and_never_skips(
    db: Database, db_url: str, tmp_path: Path, x_api: RunningX, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = _x_gateway(db, db_url, tmp_path, x_api)
    runner = PollerRunner(gateway, _poller(gateway, "x_mentions"))
    asyncio.run(runner.run_once())
    start = _state(db, "x_mentions").cursor
    for n in range(2):
        _mention(x_api, n)
    real_spend = pollers._spend

    def crash(*args: Any) -> None:
        # After the messages were inserted, before the commit: the process dies here.
        raise RuntimeError("killed mid-transaction")

    monkeypatch.setattr(pollers, "_spend", crash)
    with pytest.raises(RuntimeError):
        asyncio.run(runner.run_once())
    assert _inbound(db) == [] and _state(db, "x_mentions").cursor == start
    monkeypatch.setattr(pollers, "_spend", real_spend)
    again = asyncio.run(runner.run_once())
    assert len(again.stored) == 2 and len(_inbound(db)) == 2


def test_a_poison_item_is_kept_raw_and_the_source_moves_past_it(
    db: Database, db_url: str, tmp_path: Path, x_api: RunningX
) -> None:
    """A mention the parser cannot read (its text is a list) between two good ones: it is
    kept raw once (shown on /admin/unreadable), the good ones are processed, the cursor moves
    past all three, and the next polls neither fail nor fetch it again."""
    gateway = _x_gateway(db, db_url, tmp_path, x_api)
    runner = PollerRunner(gateway, _poller(gateway, "x_mentions"))
    asyncio.run(runner.run_once())
    start = _state(db, "x_mentions").cursor
    _mention(x_api, 1)
    when = datetime.now(UTC) + timedelta(seconds=5)
    x_api.fake.add_mention(
        {
            "id": "1860000000000001500",
            "text": ["@LaporRembang racun\u0000"],
            "author_id": "1500000000000000299",
            "created_at": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        }
    )
    _mention(x_api, 2)
    out = asyncio.run(runner.run_once())
    assert out.error is None and len(out.stored) == 2
    rows = _inbound(db)
    kept = [r for r in rows if r.status == InboundStatus.UNREADABLE.value]
    done = [r for r in rows if r.status == InboundStatus.PROCESSED.value]
    assert len(kept) == 1 and len(done) == 2
    assert "1860000000000001500" in kept[0].raw_payload and "\x00" not in kept[0].raw_payload
    assert kept[0].last_error
    state = _state(db, "x_mentions")
    assert state.cursor not in (None, start)
    assert (state.unreadable, state.consecutive_errors, state.errors) == (1, 0, 0)
    again = asyncio.run(runner.run_once())
    assert again.error is None and again.stored == [] and len(_inbound(db)) == 3
    # The koordinator sees it where unreadable webhooks are shown.
    from gateway.intake.webhooks import read_again, unreadable

    assert [r.id for r in unreadable(gateway)] == [kept[0].id]
    # "Read again" is for webhook bodies: a poller's record says it cannot be, and stays.
    with pytest.raises(PayloadError, match="poll"):
        read_again(gateway, kept[0].id)
    assert [r.id for r in unreadable(gateway)] == [kept[0].id]


def test_a_stale_poll_cannot_move_the_cursor_back(
    db: Database, db_url: str, tmp_path: Path, x_api: RunningX
) -> None:
    """Two instances polled during a change of leader: the one that read the older cursor
    stores nothing (the newer poll has the messages, or the next one finds them)."""
    gateway = _x_gateway(db, db_url, tmp_path, x_api)
    poller = _poller(gateway, "x_mentions")
    runner = PollerRunner(gateway, poller)
    asyncio.run(runner.run_once())
    old = _state(db, "x_mentions").cursor
    _mention(x_api, 1)
    stale = asyncio.run(poller.fetch(old))
    asyncio.run(runner.run_once())  # the other instance got there first
    newer = _state(db, "x_mentions").cursor
    with pytest.raises(CursorMoved):
        store_poll(db, poller, old, stale)
    assert _state(db, "x_mentions").cursor == newer and len(_inbound(db)) == 1


def test_a_rate_limit_backs_the_source_off_until_the_reset(
    db: Database, db_url: str, tmp_path: Path, x_api: RunningX
) -> None:
    gateway = _x_gateway(db, db_url, tmp_path, x_api)
    runner = PollerRunner(gateway, _poller(gateway, "x_mentions"))
    asyncio.run(runner.run_once())
    x_api.fake.set_rate_limit("mentions", remaining=0, reset_in=420)
    limited = asyncio.run(runner.run_once())
    assert limited.error and limited.wait_seconds >= 400
    state = _state(db, "x_mentions")
    assert state.consecutive_errors == 1 and state.last_error and state.next_poll_at
    calls = len(x_api.fake.calls_to("mentions"))
    waiting = asyncio.run(runner.run_once())  # still backing off: X is not asked
    assert not waiting.polled and len(x_api.fake.calls_to("mentions")) == calls
    # Once the wait is over it polls again, and a success clears the streak.
    x_api.fake.set_rate_limit("mentions", remaining=100)
    later = datetime.now(UTC) + timedelta(seconds=limited.wait_seconds + 1)
    _mention(x_api, 7)
    recovered = asyncio.run(runner.run_once(now=later))
    assert len(recovered.stored) == 1
    assert _state(db, "x_mentions").consecutive_errors == 0
    assert [h.failing for h in overview(gateway).pollers if h.source == "x_mentions"] == [False]


def test_errors_back_off_twice_as_long_each_time(
    db: Database, db_url: str, tmp_path: Path, x_api: RunningX
) -> None:
    gateway = _x_gateway(db, db_url, tmp_path, x_api, x_poll_seconds=30)
    runner = PollerRunner(gateway, _poller(gateway, "x_mentions"))
    asyncio.run(runner.run_once())
    x_api.fake.fail("mentions", 503, times=2)
    now = datetime.now(UTC)
    first = asyncio.run(runner.run_once(now=now))
    second = asyncio.run(runner.run_once(now=now + timedelta(seconds=first.wait_seconds + 1)))
    assert first.error and second.error
    assert second.wait_seconds == pytest.approx(2 * first.wait_seconds, rel=0.01)
    state = _state(db, "x_mentions")
    assert (state.errors, state.consecutive_errors) == (2, 2)


def test_the_daily_budget_stops_polling_for_the_day(
    db: Database, db_url: str, tmp_path: Path, x_api: RunningX
) -> None:
    gateway = _x_gateway(db, db_url, tmp_path, x_api, x_daily_read_budget=2)
    runner = PollerRunner(gateway, _poller(gateway, "x_mentions"))
    asyncio.run(runner.run_once())
    for n in range(3):
        _mention(x_api, n)
    assert len(asyncio.run(runner.run_once()).stored) == 3  # 3 reads: more than the budget
    calls = len(x_api.fake.calls_to("mentions"))
    spent = asyncio.run(runner.run_once())
    assert not spent.polled and spent.error == BUDGET_SPENT
    assert len(x_api.fake.calls_to("mentions")) == calls
    assert _state(db, "x_mentions").last_error == BUDGET_SPENT
    # Until the provider's next day (UTC for X), and no longer.
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    assert 0 < spent.wait_seconds <= 24 * 3600
    resumes = datetime.now(UTC) + timedelta(seconds=spent.wait_seconds)
    assert resumes.date() == tomorrow


def test_youtube_comments_through_the_runner(
    db: Database, db_url: str, tmp_path: Path, youtube_api: RunningYouTube
) -> None:
    fake = youtube_api.fake
    gateway = _gateway(
        db,
        db_url,
        tmp_path,
        youtube_api_base_url=youtube_api.url,
        youtube_oauth_token_uri=f"{youtube_api.url}/token",
        youtube_api_key=fake.api_key,
        youtube_channel_id=fake.channel_id,
        youtube_oauth_client_id=fake.client_id,
        youtube_oauth_client_secret=fake.client_secret,
        youtube_oauth_refresh_token=fake.refresh_token,
        x_user_id="",
    )
    assert sorted(build_pollers(gateway.channels)) == ["youtube_comments"]
    runner = PollerRunner(gateway, _poller(gateway, "youtube_comments"))
    asyncio.run(runner.run_once())
    fake.comment(
        "Warga Sluke",
        "Lampu jalan di Sluke mati sejak minggu lalu",
        datetime.now(UTC) + timedelta(minutes=1),
    )
    stored = asyncio.run(runner.run_once()).stored
    assert len(stored) == 1 and len(_inbound(db, "youtube")) == 1
    fake.quota_left = 0
    out = asyncio.run(runner.run_once())
    assert out.error and out.wait_seconds > 0
    assert _state(db, "youtube_comments").consecutive_errors == 1


def test_mail_through_the_runner_against_dovecot(
    db: Database, db_url: str, tmp_path: Path, imap_account: ImapAccount
) -> None:
    gateway = _gateway(
        db,
        db_url,
        tmp_path,
        x_user_id="",
        email_address="pengaduan@lapor.test",
        imap_host="127.0.0.1",
        imap_port=imap_account.server.port,
        imap_security="none",
        imap_user=imap_account.user,
        imap_password=imap_account.password,
    )
    runner = PollerRunner(gateway, _poller(gateway, "email"))
    asyncio.run(runner.run_once())
    imap_account.append((FIXTURES / "email" / "plain_complaint.eml").read_bytes())
    assert len(asyncio.run(runner.run_once()).stored) == 1
    assert asyncio.run(runner.run_once()).stored == []
    [row] = _inbound(db, "email")
    assert row.external_id and row.raw_payload
    assert _state(db, "email").messages == 1


# --- every kind of failed poll: backed off, then nothing lost and nothing doubled -------------


@dataclass(frozen=True)
class Failure:
    label: str
    source: str
    inject: Callable[[RunningX, RunningYouTube, pytest.MonkeyPatch], None]
    retryable: bool
    min_wait: float = 0.0  # at least this long (the provider's reset, the quota day)
    max_wait: float = 7200.0  # below the longest back-off, unless the provider says longer


def _network_down(target: str) -> Callable[[RunningX, RunningYouTube, pytest.MonkeyPatch], None]:
    """The next call of the SDK's transport fails as a dropped connection would."""

    def inject(_x: RunningX, _yt: RunningYouTube, monkeypatch: pytest.MonkeyPatch) -> None:
        if target == "x":
            real = requests.Session.send

            def send(self: requests.Session, *args: Any, **kwargs: Any) -> Any:
                monkeypatch.setattr(requests.Session, "send", real)  # once
                raise requests.ConnectionError("connection reset by peer")

            monkeypatch.setattr(requests.Session, "send", send)
        else:
            real_request = httplib2.Http.request

            def request(self: httplib2.Http, *args: Any, **kwargs: Any) -> Any:
                monkeypatch.setattr(httplib2.Http, "request", real_request)
                raise ConnectionResetError("connection reset by peer")

            monkeypatch.setattr(httplib2.Http, "request", request)

    return inject


FAILURES = [
    Failure("x network", "x_mentions", _network_down("x"), retryable=True),
    Failure(
        "x 401 credentials refused",
        "x_mentions",
        lambda x, yt, mp: x.fake.fail("mentions", 401, "Unauthorized"),
        retryable=False,
    ),
    Failure(
        "x 429 rate limit",
        "x_mentions",
        lambda x, yt, mp: x.fake.set_rate_limit("mentions", remaining=0, reset_in=600),
        retryable=True,
        min_wait=550,
    ),
    Failure(
        "x 503",
        "x_mentions",
        lambda x, yt, mp: x.fake.fail("mentions", 503, "Service Unavailable"),
        retryable=True,
    ),
    Failure(
        "x dm 429 rate limit",
        "x_dm",
        lambda x, yt, mp: x.fake.set_rate_limit("dm_events", remaining=0, reset_in=600),
        retryable=True,
        min_wait=550,
    ),
    Failure("youtube network", "youtube_comments", _network_down("youtube"), retryable=True),
    Failure(
        "youtube quota spent",
        "youtube_comments",
        lambda x, yt, mp: setattr(yt.fake, "quota_left", 0),
        retryable=True,
        min_wait=60,  # until the next Pacific midnight: at least a minute, at most a day
        max_wait=25 * 3600,
    ),
    Failure(
        "youtube 500",
        "youtube_comments",
        lambda x, yt, mp: yt.fake.fail(500, "backendError"),
        retryable=True,
    ),
    Failure(
        "youtube 401",
        "youtube_comments",
        lambda x, yt, mp: yt.fake.fail(401, "authError"),
        retryable=False,
    ),
]


def _recover(x: RunningX, yt: RunningYouTube) -> None:
    x.fake.failures.clear()
    for endpoint in ("mentions", "dm_events"):
        x.fake.set_rate_limit(endpoint, remaining=450)
    yt.fake.failures.clear()
    yt.fake.quota_left = 10_000


def _new_items(x: RunningX, yt: RunningYouTube, source: str) -> None:
    x.fake.add_user("1500000000000000299", "warga_fake", "Warga")
    when = datetime.now(UTC) + timedelta(seconds=5)
    for n in range(2):
        stamp = (when + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        text = f"jalan berlubang di Desa Sumberjo Kragan nomor {n} sudah lama"
        if source == "x_mentions":
            x.fake.add_mention(
                {
                    "text": f"@LaporRembang {text}",
                    "author_id": "1500000000000000299",
                    "created_at": stamp,
                }
            )
        elif source == "x_dm":
            x.fake.add_dm({"text": text, "sender_id": "1500000000000000299", "created_at": stamp})
        else:
            yt.fake.comment("WargaFake", text, when + timedelta(seconds=n))


@pytest.mark.parametrize("failure", FAILURES, ids=lambda f: f.label)
def test_a_failed_poll_backs_off_and_then_loses_and_doubles_nothing(
    db: Database,
    db_url: str,
    tmp_path: Path,
    x_api: RunningX,
    youtube_api: RunningYouTube,
    monkeypatch: pytest.MonkeyPatch,
    failure: Failure,
) -> None:
    yt = youtube_api.fake
    gateway = _gateway(
        db,
        db_url,
        tmp_path,
        x_api_base_url=x_api.url,
        x_access_token=TEST_X_ACCESS_TOKEN,
        x_access_token_secret=TEST_X_ACCESS_SECRET,
        youtube_api_base_url=youtube_api.url,
        youtube_api_key=yt.api_key,
        youtube_channel_id=yt.channel_id,
        poller_backoff_max_seconds=7200,
    )
    channel = "youtube" if failure.source == "youtube_comments" else "x"
    runner = PollerRunner(gateway, _poller(gateway, failure.source))
    asyncio.run(runner.run_once())  # from now
    start = _state(db, failure.source).cursor
    _new_items(x_api, youtube_api, failure.source)
    failure.inject(x_api, youtube_api, monkeypatch)

    now = datetime.now(UTC)
    failed = asyncio.run(runner.run_once(now=now))
    assert failed.error and failed.stored == []
    state = _state(db, failure.source)
    assert state.cursor == start and _inbound(db, channel) == []  # nothing taken, nothing skipped
    assert state.consecutive_errors == 1 and state.last_error
    if failure.retryable:
        assert failure.min_wait <= failed.wait_seconds < failure.max_wait
    else:  # credentials do not heal by themselves: the longest wait, an admin must act
        assert failed.wait_seconds == 7200
    # While it waits, the provider is not asked again.
    calls = (len(x_api.fake.calls), len(yt.list_calls))
    assert not asyncio.run(runner.run_once(now=now + timedelta(seconds=1))).polled
    assert (len(x_api.fake.calls), len(yt.list_calls)) == calls

    _recover(x_api, youtube_api)
    # After the wait the runner stored (counted from when it stored it, not from `now`).
    assert state.next_poll_at is not None
    later = state.next_poll_at + timedelta(seconds=1)
    assert len(asyncio.run(runner.run_once(now=later)).stored) == 2
    assert asyncio.run(runner.run_once(now=later)).stored == []
    rows = _inbound(db, channel)
    assert len(rows) == 2 and len({r.external_id for r in rows}) == 2
    assert _state(db, failure.source).consecutive_errors == 0


# --- one instance polls --------------------------------------------------------------------------


def _second_instance(gateway: Gateway) -> Gateway:
    """Another process's gateway: same settings, its own engine and connections."""
    return Gateway.create(gateway.settings, db=Database(gateway.settings.database_url))


def test_only_the_leader_runs_the_pollers_and_telegram_polling(
    db: Database, db_url: str, tmp_path: Path, x_api: RunningX
) -> None:
    if db.is_sqlite:
        pytest.skip("one instance on SQLite")
    gateway = _x_gateway(
        db,
        db_url,
        tmp_path,
        x_api,
        x_poll_seconds=3600,
        telegram_bot_token="123456:not-a-real-token",
        telegram_mode="polling",
        telegram_api_base_url="http://127.0.0.1:9",
    )
    other = _second_instance(gateway)

    async def scenario() -> tuple[set[str], set[str], set[str]]:
        first, second = Scheduler(gateway), Scheduler(other)
        for scheduler in (first, second):
            scheduler.scheduler.start()
        try:
            await first.elect()
            await second.elect()
            led = set(first.leader_tasks), set(second.leader_tasks)
            # The leader's connection dies: the other instance takes the pollers over.
            assert first.leadership._connection is not None
            pid = first.leadership._connection.execute(text("SELECT pg_backend_pid()")).scalar()
            with db.engine.begin() as conn:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            for _ in range(50):  # the server ends the killed session (and its lock) shortly
                await second.elect()
                if second.leading:
                    break
                await asyncio.sleep(0.1)
            await first.elect()  # it notices it lost the lock, and cannot take it back
            return (
                led[0],
                led[1],
                set(second.leader_tasks) | {f"first still runs {n}" for n in first.leader_tasks},
            )
        finally:
            for scheduler in (first, second):
                scheduler.shutdown()
                await scheduler.stopped()

    try:
        leader, follower, after = asyncio.run(scenario())
    finally:
        other.db.dispose()
    assert leader == {TELEGRAM_TASK, "poller:x_mentions"}
    assert follower == set()
    assert after == {TELEGRAM_TASK, "poller:x_mentions"}


def test_two_instances_polling_at_once_store_each_mention_once(
    db: Database, db_url: str, tmp_path: Path, x_api: RunningX
) -> None:
    """Even if two instances polled together (a change of leader), nothing is doubled."""
    gateway = _x_gateway(db, db_url, tmp_path, x_api)
    other = _second_instance(gateway)
    try:
        asyncio.run(PollerRunner(gateway, _poller(gateway, "x_mentions")).run_once())
        for n in range(5):
            _mention(x_api, n)

        async def both() -> None:
            await asyncio.gather(
                PollerRunner(gateway, _poller(gateway, "x_mentions")).run_once(),
                PollerRunner(other, _poller(other, "x_mentions")).run_once(),
                return_exceptions=True,
            )

        asyncio.run(both())
        asyncio.run(PollerRunner(gateway, _poller(gateway, "x_mentions")).run_once())
    finally:
        other.db.dispose()
    with db.read_session() as session:
        count = session.scalar(
            select(func.count()).select_from(InboundMessage).where(InboundMessage.channel == "x")
        )
    assert count == 5
