"""YouTube: comment threads polled with the real google-api-python-client against the local fake
(static discovery, api_endpoint), the quota, failures, and public replies with comments.insert."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from channels.base import OutboundMessage, PollError, PollResult, ReplyMode
from channels.fakes.server import closed_port_url
from channels.fakes.youtube_api import FakeYouTube
from channels.youtube import CommentCursor, YouTubeChannel, quota_day, seconds_to_quota_reset
from tests.channels.cases import FIXTURES, _resolve, channel_settings
from tests.channels.conftest import RunningYouTube
from tests.channels.feed_cases import PollCase, youtube_poll_cases

NOW = datetime(2024, 11, 20, 10, 0, tzinfo=UTC)


def _channel(api: RunningYouTube | None, **overrides: Any) -> YouTubeChannel:
    fake = api.fake if api else FakeYouTube()
    base = api.url if api else closed_port_url()
    values: dict[str, Any] = {
        "youtube_api_base_url": base,
        "youtube_oauth_token_uri": f"{base}/token",
        "youtube_api_key": fake.api_key,
        "youtube_channel_id": fake.channel_id,
        "youtube_oauth_client_id": fake.client_id,
        "youtube_oauth_client_secret": fake.client_secret,
        "youtube_oauth_refresh_token": fake.refresh_token,
    }
    values.update(overrides)
    return YouTubeChannel(channel_settings(**values), now=lambda: NOW)


def _poll(channel: YouTubeChannel, cursor: str | None) -> PollResult:
    return asyncio.run(channel.pollers()[0].fetch(cursor))


BEFORE = CommentCursor(since=datetime(2024, 11, 1, tzinfo=UTC)).dumps()


@pytest.mark.parametrize("case", youtube_poll_cases(), ids=lambda case: case.label)
def test_poll_case(youtube_api: RunningYouTube, case: PollCase) -> None:
    page = json.loads((FIXTURES / "youtube" / case.fixture).read_text())
    for thread in page["items"]:
        youtube_api.fake.add_thread(thread)
    result = _poll(_channel(youtube_api), BEFORE)
    assert [m.external_id for m in result.messages] == [e.external_id for e in case.messages]
    for message, expected in zip(result.messages, case.messages, strict=True):
        assert (message.channel, message.sender, message.text) == (
            "youtube",
            expected.sender,
            expected.text,
        )
        for path, value in expected.also.items():
            assert _resolve(message, path) == value, path
        assert message.external_id in result.raw
    assert result.cost == case.cost and not result.more
    params = youtube_api.fake.list_calls[0]
    assert params["allThreadsRelatedToChannelId"] == "UCfakeRembangChannel0001"
    assert (params["part"], params["order"], params["textFormat"]) == (
        "snippet,replies",
        "time",
        "plainText",
    )
    again = _poll(_channel(youtube_api), result.cursor)
    assert again.messages == []  # nothing twice, not even the comments of the same second


def test_first_poll_starts_from_now_and_spends_nothing(youtube_api: RunningYouTube) -> None:
    youtube_api.fake.comment("Lama", "komentar lama sekali", NOW - timedelta(days=3))
    channel = _channel(youtube_api)
    first = _poll(channel, None)
    assert (first.messages, first.cost, youtube_api.fake.list_calls) == ([], 0, [])
    youtube_api.fake.comment(
        "Baru", "Jalan rusak di Sulang mohon dicek", NOW + timedelta(minutes=5)
    )
    second = _poll(channel, first.cursor)
    assert [m.text for m in second.messages] == ["Jalan rusak di Sulang mohon dicek"]


def test_a_comment_in_the_second_of_the_first_poll_is_not_skipped(
    youtube_api: RunningYouTube,
) -> None:
    """YouTube gives `publishedAt` to the second. Seen in the demo: the first poll started
    "from now" at 10:00:00.700, a comment posted just after it was dated 10:00:00 and was
    taken for an older one, never to be read."""
    channel = _channel(youtube_api)
    channel.now = lambda: NOW.replace(microsecond=700_000)
    first = _poll(channel, None)
    youtube_api.fake.comment("Cepat", "Lampu jalan di Desa Sluke mati semua", NOW)
    second = _poll(channel, first.cursor)
    assert [m.text for m in second.messages] == ["Lampu jalan di Desa Sluke mati semua"]


def test_same_second_comments_are_neither_skipped_nor_repeated(youtube_api: RunningYouTube) -> None:
    fake = youtube_api.fake
    fake.comment("A", "komentar pertama", NOW)
    channel = _channel(youtube_api)
    first = _poll(channel, BEFORE)
    fake.comment("B", "komentar kedua pada detik yang sama", NOW)
    second = _poll(channel, first.cursor)
    assert [m.text for m in second.messages] == ["komentar kedua pada detik yang sama"]


def test_a_poison_thread_is_handed_over_raw_and_the_sweep_goes_on(
    youtube_api: RunningYouTube,
) -> None:
    """A thread in a shape we cannot read stopped every later poll; now it is handed over raw
    (its text is a number here; a time without its zone is refused the same way)."""
    fake = youtube_api.fake
    fake.comment("A", "komentar pertama", NOW - timedelta(minutes=3))
    poison = fake.comment("B", "x", NOW - timedelta(minutes=2))
    poison["snippet"]["topLevelComment"]["snippet"]["textDisplay"] = 12345
    naive = fake.comment("C", "tanpa zona waktu", NOW - timedelta(minutes=1))
    naive["snippet"]["topLevelComment"]["snippet"]["publishedAt"] = "2024-11-20T09:59:00"
    fake.comment("D", "komentar terakhir", NOW)
    result = _poll(_channel(youtube_api), BEFORE)
    assert [m.text for m in result.messages] == ["komentar pertama", "komentar terakhir"]
    assert sorted(thread["id"] for thread in (poison, naive)) == sorted(
        json.loads(u.raw)["id"] for u in result.unreadable
    )
    assert any("timezone" in u.reason for u in result.unreadable)
    again = _poll(_channel(youtube_api), result.cursor)
    assert again.messages == [] and again.unreadable == ()  # not handed over twice


def test_a_long_backlog_is_swept_across_polls(youtube_api: RunningYouTube) -> None:
    fake = youtube_api.fake
    for n in range(250):
        fake.comment(f"W{n}", f"komentar {n}", NOW - timedelta(minutes=250 - n))
    channel = _channel(youtube_api, youtube_max_pages_per_poll=2)
    first = _poll(channel, BEFORE)
    assert len(first.messages) == 200 and first.more and first.cost == 2
    fake.comment("Late", "komentar baru", NOW + timedelta(minutes=1))
    second = _poll(channel, first.cursor)
    # The rest: the page token is a position, shifted by the new comment; the thread that
    # slid onto the next page is recognised as returned already.
    assert len(second.messages) == 50 and not second.more
    third = _poll(channel, second.cursor)
    assert [m.text for m in third.messages] == ["komentar baru"]
    seen = [m.external_id for r in (first, second, third) for m in r.messages]
    assert len(seen) == len(set(seen)) == 251


def test_quota_exhausted_waits_until_pacific_midnight(youtube_api: RunningYouTube) -> None:
    youtube_api.fake.quota_left = 0
    with pytest.raises(PollError) as caught:
        _poll(_channel(youtube_api), BEFORE)
    assert caught.value.retryable
    assert caught.value.retry_after == seconds_to_quota_reset(NOW)
    # 10:00 UTC is 02:00 in Los Angeles (PST): 22 hours to the quota reset.
    assert caught.value.retry_after == 22 * 3600
    assert quota_day(NOW) == datetime(2024, 11, 20).date()


@pytest.mark.parametrize(
    ("overrides", "failure", "retryable"),
    [
        ({"youtube_api_key": "wrong-key"}, None, False),
        ({"youtube_channel_id": "UCnotOurs"}, None, False),
        ({}, (403, "forbidden"), False),
        ({}, (503, "backendError"), True),
        ({"youtube_api_base_url": "closed"}, None, True),
    ],
    ids=["bad key", "unknown channel", "forbidden", "503", "unreachable"],
)
def test_poll_failures(
    youtube_api: RunningYouTube, overrides: dict[str, Any], failure, retryable: bool
) -> None:  # type: ignore[no-untyped-def]
    if overrides.get("youtube_api_base_url") == "closed":
        overrides = {**overrides, "youtube_api_base_url": closed_port_url()}
    if failure:
        youtube_api.fake.fail(*failure)
    with pytest.raises(PollError) as caught:
        _poll(_channel(youtube_api, **overrides), BEFORE)
    assert caught.value.retryable is retryable


def _reply(text: str, reply_to: str | None, mode: ReplyMode = ReplyMode.PUBLIC) -> OutboundMessage:
    return OutboundMessage(
        channel="youtube",
        recipient="UCfakeBudiSantoso000001",
        text=text,
        idempotency_key="k",
        reply_mode=mode,
        reply_to=reply_to,
    )


def test_public_reply_with_comments_insert(youtube_api: RunningYouTube) -> None:
    thread = youtube_api.fake.comment("Budi", "Jembatan miring", NOW)
    text = "Terima kasih. Pantau laporan Anda di lapor.example.go.id/status dengan kode LPR-7K3M9Q."
    result = asyncio.run(_channel(youtube_api).send(_reply(text, thread["id"])))
    assert result.ok
    posted = youtube_api.fake.replies_posted[0]
    assert (posted["snippet"]["parentId"], posted["snippet"]["textOriginal"]) == (
        thread["id"],
        text,
    )
    assert result.provider_message_id == posted["id"]
    assert youtube_api.fake.quota_left == 10_000 - 50


def test_replies_sent_at_once_each_reach_their_own_comment(youtube_api: RunningYouTube) -> None:
    """The outbox sends a channel's messages in parallel threads. Seen in the gateway tests:
    two replies sent together went out with each other's text (one httplib2 connection shared
    by two threads), or one was lost."""
    channel = _channel(youtube_api)
    threads = [youtube_api.fake.comment(f"Warga{n}", f"Aduan {n}", NOW) for n in range(8)]

    async def send_all() -> list[Any]:
        return await asyncio.gather(
            *(channel.send(_reply(f"Balasan untuk {t['id']}", t["id"])) for t in threads)
        )

    results = asyncio.run(send_all())
    assert all(r.ok for r in results)
    posted = sorted(
        (r["snippet"]["parentId"], r["snippet"]["textOriginal"])
        for r in youtube_api.fake.replies_posted
    )
    assert posted == sorted((t["id"], f"Balasan untuk {t['id']}") for t in threads)


@pytest.mark.parametrize(
    ("message", "overrides", "quota", "retryable", "mentions"),
    [
        (_reply("Halo", "x", ReplyMode.DIRECT), {}, None, False, "no private messages"),
        (_reply("Halo", None), {}, None, False, "needs the comment"),
        (_reply("Halo", "UgzGone"), {}, None, False, "404"),
        (_reply("Halo", "thread"), {}, 10, True, "quotaExceeded"),
        (
            _reply("Halo", "thread"),
            {"youtube_oauth_refresh_token": "revoked"},
            None,
            True,
            "refresh",
        ),
        (_reply("Halo", "thread"), {"youtube_oauth_refresh_token": None}, None, False, "OAUTH"),
    ],
    ids=["direct", "no parent", "parent gone", "quota", "token revoked", "no oauth"],
)
def test_reply_failures(
    youtube_api: RunningYouTube, message, overrides, quota, retryable, mentions
) -> None:  # type: ignore[no-untyped-def]
    thread = youtube_api.fake.comment("Budi", "Jembatan miring", NOW)
    if message.reply_to == "thread":
        message = _reply(message.text, thread["id"])
    if quota is not None:
        youtube_api.fake.quota_left = quota
    result = asyncio.run(_channel(youtube_api, **overrides).send(message))
    assert not result.ok and result.retryable is retryable
    assert mentions in (result.error or "")


def test_no_poller_without_key_or_channel() -> None:
    assert _channel(None, youtube_api_key=None).pollers() == []
    assert _channel(None, youtube_channel_id="").pollers() == []
