"""X: the Account Activity table, the pollers against the local fake X API through tweepy
(pagination, since_id, 429, 401, a sweep cut short and resumed), replies, media, the CRC."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from channels.base import (
    Media,
    MediaError,
    OutboundMessage,
    PayloadError,
    PollError,
    PollResult,
    RawRequest,
    ReplyMode,
    SignatureError,
)
from channels.fakes.server import closed_port_url
from channels.x import SweepCursor, XChannel, tweet_weight
from tests.channels.cases import (
    FIXED_NOW,
    FIXTURES,
    TEST_X_CONSUMER_SECRET,
    WebhookCase,
    _resolve,
    channel_settings,
    check_case,
    x_cases,
)
from tests.channels.conftest import RunningX
from tests.channels.feed_cases import PollCase, x_poll_cases
from tests.images import image_bytes

FEED_NOW = datetime(2024, 11, 20, 10, 0, tzinfo=UTC)


def _channel(x_api: RunningX | None = None, **overrides: Any) -> XChannel:
    values: dict[str, Any] = {"x_api_base_url": x_api.url if x_api else closed_port_url()}
    values.update(overrides)
    return XChannel(channel_settings(**values), now=lambda: FEED_NOW)


def _poller(channel: XChannel, name: str):  # type: ignore[no-untyped-def]
    return next(p for p in channel.pollers() if p.name == name)


def _poll(channel: XChannel, name: str, cursor: str | None) -> PollResult:
    return asyncio.run(_poller(channel, name).fetch(cursor))


def _load(x_api: RunningX, fixture: str) -> dict[str, Any]:
    """Put a documented response page into the fake, as X's own data."""
    page = json.loads((FIXTURES / "x" / fixture).read_text())
    fake = x_api.fake
    for user in page["includes"].get("users", []):
        fake.add_user(user["id"], user["username"], user["name"])
    for item in page["includes"].get("media", []):
        fake.media[item["media_key"]] = item
    for place in page["includes"].get("places", []):
        fake.places[place["id"]] = place
    for item in page["data"]:
        (fake.add_dm if "event_type" in item else fake.add_mention)(dict(item))
    return page


def _mention(x_api: RunningX, n: int, when: datetime = FEED_NOW) -> dict[str, Any]:
    x_api.fake.add_user("1500000000000000299", "warga_fake", "Warga")
    return x_api.fake.add_mention(
        {
            "id": str(1_860_000_000_000_001_000 + n),
            "text": f"@LaporRembang laporan nomor {n}",
            "author_id": "1500000000000000299",
            "created_at": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        }
    )


# --- the webhook table -------------------------------------------------------------------------


@pytest.mark.parametrize("case", x_cases(), ids=lambda case: case.label)
def test_webhook(case: WebhookCase) -> None:
    check_case(XChannel(channel_settings(), now=lambda: FIXED_NOW), case)


def test_crc_handshake_answers_the_hmac_of_the_token() -> None:
    channel = XChannel(channel_settings())
    raw = RawRequest(b"", {}, "https://lapor.example.go.id/webhooks/x", {"crc_token": "abc123"})
    ack = channel.handshake(raw)
    assert ack is not None and ack.status_code == 200 and ack.media_type == "application/json"
    digest = hmac.new(TEST_X_CONSUMER_SECRET.encode(), b"abc123", hashlib.sha256).digest()
    assert json.loads(ack.body) == {"response_token": "sha256=" + base64.b64encode(digest).decode()}
    with pytest.raises(PayloadError):
        channel.handshake(RawRequest(b"", {}, "https://lapor.example.go.id/webhooks/x"))
    unset = XChannel(channel_settings(x_consumer_secret=None))
    with pytest.raises(SignatureError):
        unset.handshake(raw)


def test_a_lone_surrogate_in_the_crc_token_or_the_signature_is_no_500() -> None:
    channel = XChannel(channel_settings())
    url = "https://lapor.example.go.id/webhooks/x"
    ack = channel.handshake(RawRequest(b"", {}, url, {"crc_token": "\ud800abc"}))
    assert ack is not None and ack.status_code == 200
    with pytest.raises(SignatureError):
        channel.verify(RawRequest(b"{}", {"x-twitter-webhooks-signature": "sha256=\ud800"}, url))


# --- polling: the documented pages through tweepy ----------------------------------------------


@pytest.mark.parametrize("case", x_poll_cases(), ids=lambda case: case.label)
def test_poll_case(x_api: RunningX, case: PollCase) -> None:
    _load(x_api, case.fixture)
    channel = _channel(x_api)
    result = _poll(channel, case.source, SweepCursor(since_id="1").dumps())
    assert [m.external_id for m in result.messages] == [e.external_id for e in case.messages]
    for message, expected in zip(result.messages, case.messages, strict=True):
        assert (message.channel, message.sender, message.text) == (
            "x",
            expected.sender,
            expected.text,
        )
        assert len(message.media) == expected.media
        where = message.location
        assert ((where.latitude, where.longitude) if where else None) == expected.location
        for path, value in expected.also.items():
            assert _resolve(message, path) == value, path
        assert message.external_id in result.raw  # the provider's own record is kept
    assert result.cost == case.cost
    assert not result.more
    newest = max(
        (json.loads(result.raw[m.external_id])["data"]["id"] for m in result.messages), key=int
    )
    assert SweepCursor.loads(result.cursor) == SweepCursor(
        since_id=max(
            newest, "1860000000000000105" if case.source == "x_mentions" else newest, key=int
        )
    )


def test_first_poll_starts_from_now_without_reading(x_api: RunningX) -> None:
    _mention(x_api, 1, FEED_NOW - timedelta(hours=1))  # before we started: not ours to take
    channel = _channel(x_api)
    first = _poll(channel, "x_mentions", None)
    assert (first.messages, first.cost) == ([], 0)
    assert x_api.fake.calls == []
    _mention(x_api, 2, FEED_NOW + timedelta(minutes=1))
    second = _poll(channel, "x_mentions", first.cursor)
    assert [m.text for m in second.messages] == ["laporan nomor 2"]
    assert x_api.fake.calls[-1].params["start_time"] == "2024-11-20T10:00:00Z"
    third = _poll(channel, "x_mentions", second.cursor)
    assert third.messages == [] and third.cost == 0
    assert x_api.fake.calls[-1].params["since_id"] == "1860000000000001002"


def test_a_backlog_is_read_across_polls_without_loss_or_double(x_api: RunningX) -> None:
    for n in range(1, 13):
        _mention(x_api, n)
    channel = _channel(x_api, x_page_size=5, x_max_pages_per_poll=2)
    start = SweepCursor(since_id="1").dumps()
    first = _poll(channel, "x_mentions", start)
    assert [m.text[-2:].strip() for m in first.messages] == [str(n) for n in range(3, 13)]
    assert first.more and first.cost == 10
    state = SweepCursor.loads(first.cursor)
    assert state is not None and state.since_id == "1" and state.resume
    _mention(x_api, 13)  # arrives while the sweep is unfinished
    second = _poll(channel, "x_mentions", first.cursor)
    assert [m.text[-2:].strip() for m in second.messages] == ["1", "2"]
    assert not second.more
    third = _poll(channel, "x_mentions", second.cursor)
    assert [m.text[-2:].strip() for m in third.messages] == ["13"]
    seen = [m.external_id for r in (first, second, third) for m in r.messages]
    assert len(seen) == len(set(seen)) == 13


def test_a_poison_post_is_handed_over_raw_and_the_sweep_goes_on(x_api: RunningX) -> None:
    """One post X lists in a shape we cannot read (here its text is a number) stopped every
    later poll with a PollError; now it is handed over raw and the cursor moves past it."""
    _mention(x_api, 1)
    poison = _mention(x_api, 2)
    poison["text"] = 12345
    _mention(x_api, 3)
    channel = _channel(x_api)
    result = _poll(channel, "x_mentions", SweepCursor(since_id="1").dumps())
    assert [m.text for m in result.messages] == ["laporan nomor 1", "laporan nomor 3"]
    [unreadable] = result.unreadable
    assert poison["id"] in unreadable.raw and "text" in unreadable.reason
    state = SweepCursor.loads(result.cursor)
    assert state is not None and int(state.since_id or 0) > int(poison["id"])


def test_rate_limit_429_is_a_retryable_poll_error_with_the_reset(x_api: RunningX) -> None:
    _mention(x_api, 1)
    x_api.fake.set_rate_limit("mentions", remaining=0, reset_in=420)
    with pytest.raises(PollError) as caught:
        _poll(_channel(x_api), "x_mentions", SweepCursor(since_id="1").dumps())
    assert caught.value.retryable
    assert caught.value.retry_after is not None and 400 <= caught.value.retry_after <= 421


def test_429_halfway_loses_nothing_and_counts_the_reads(x_api: RunningX) -> None:
    for n in range(1, 8):
        _mention(x_api, n)
    channel = _channel(x_api, x_page_size=5)
    start = SweepCursor(since_id="1").dumps()
    x_api.fake.fail("mentions", 429, "Too Many Requests", after=1)
    with pytest.raises(PollError) as caught:
        _poll(channel, "x_mentions", start)
    assert caught.value.retryable and caught.value.cost == 5
    again = _poll(channel, "x_mentions", start)  # the gateway kept the old cursor
    assert len(again.messages) == 7


def test_a_spent_window_stops_the_sweep_before_a_429(x_api: RunningX) -> None:
    for n in range(1, 8):
        _mention(x_api, n)
    x_api.fake.set_rate_limit("mentions", remaining=1)
    channel = _channel(x_api, x_page_size=5)
    result = _poll(channel, "x_mentions", SweepCursor(since_id="1").dumps())
    assert len(result.messages) == 5 and not result.more
    assert [c.status for c in x_api.fake.calls] == [200]  # never asked into a 429
    x_api.fake.set_rate_limit("mentions", remaining=10)
    rest = _poll(channel, "x_mentions", result.cursor)
    assert len(rest.messages) == 2


def test_an_expired_page_token_restarts_from_the_newest(x_api: RunningX) -> None:
    for n in range(1, 4):
        _mention(x_api, n)
    stale = SweepCursor(since_id="1", high="1860000000000001001", resume="expired-token").dumps()
    result = _poll(_channel(x_api), "x_mentions", stale)
    assert len(result.messages) == 3
    assert SweepCursor.loads(result.cursor) == SweepCursor(since_id="1860000000000001003")


@pytest.mark.parametrize(
    ("overrides", "failure", "retryable"),
    [
        ({"x_bearer_token": "wrong-bearer"}, None, False),
        ({}, (403, "Client Forbidden"), False),
        ({}, (503, "Service Unavailable"), True),
        ({"x_api_base_url": "closed"}, None, True),
    ],
    ids=["401 wrong token", "403 no access", "503", "unreachable"],
)
def test_poll_failures(
    x_api: RunningX, overrides: dict[str, Any], failure, retryable: bool
) -> None:  # type: ignore[no-untyped-def]
    if overrides.get("x_api_base_url") == "closed":
        overrides = {**overrides, "x_api_base_url": closed_port_url()}
    if failure:
        x_api.fake.fail("mentions", *failure)
    channel = _channel(x_api, **overrides)
    with pytest.raises(PollError) as caught:
        _poll(channel, "x_mentions", SweepCursor(since_id="1").dumps())
    assert caught.value.retryable is retryable


def test_dms_need_the_user_context_and_a_wrong_secret_is_permanent(x_api: RunningX) -> None:
    _load(x_api, "dm_events_page.json")
    assert [p.name for p in _channel(x_api, x_access_token_secret=None).pollers()] == ["x_mentions"]
    channel = _channel(x_api, x_access_token_secret="not-the-secret")
    with pytest.raises(PollError) as caught:
        _poll(channel, "x_dm", SweepCursor(since_id="1").dumps())
    assert not caught.value.retryable
    assert x_api.fake.calls[-1].status == 401


def test_dm_sweep_stops_at_the_cursor(x_api: RunningX) -> None:
    _load(x_api, "dm_events_page.json")
    result = _poll(_channel(x_api), "x_dm", SweepCursor(since_id="1860000000000000307").dumps())
    assert [m.external_id for m in result.messages] == ["dm:1860000000000000309"]
    assert x_api.fake.calls[-1].auth == "oauth1"


# --- sending -------------------------------------------------------------------------------------


def _out(
    text: str, mode: ReplyMode, reply_to: str | None = None, recipient: str = "1500000000000000201"
) -> OutboundMessage:
    return OutboundMessage(
        channel="x",
        recipient=recipient,
        text=text,
        idempotency_key="k1",
        reply_mode=mode,
        reply_to=reply_to,
    )


def test_public_reply_goes_under_the_mention(x_api: RunningX) -> None:
    mention = _mention(x_api, 1)
    channel = _channel(x_api)
    text = "Terima kasih. Mohon kirim detail laporan lewat DM ke akun ini."
    result = asyncio.run(channel.send(_out(text, ReplyMode.PUBLIC, mention["id"])))
    assert result.ok and result.provider_message_id == x_api.fake.posted[0]["id"]
    assert x_api.fake.posted[0]["in_reply_to_tweet_id"] == mention["id"]
    assert x_api.fake.calls_to("tweets")[0].auth == "oauth1"


def test_direct_message_goes_to_the_participant(x_api: RunningX) -> None:
    result = asyncio.run(
        _channel(x_api).send(_out("Laporan Anda LPR-7K3M9Q diterima.", ReplyMode.DIRECT))
    )
    assert result.ok
    sent = x_api.fake.dms_sent[0]
    assert (sent["participant_id"], sent["text"]) == (
        "1500000000000000201",
        "Laporan Anda LPR-7K3M9Q diterima.",
    )
    assert result.provider_message_id == sent["dm_event_id"]


def test_replies_and_dms_sent_at_once_each_reach_their_own_post(x_api: RunningX) -> None:
    """The outbox sends a channel's messages in parallel threads (as the YouTube client
    showed, a shared connection can cross them)."""
    mentions = [_mention(x_api, n) for n in range(6)]
    channel = _channel(x_api)

    async def send_all() -> list[Any]:
        replies = [
            channel.send(_out(f"Balasan untuk {m['id']}", ReplyMode.PUBLIC, m["id"]))
            for m in mentions
        ]
        dms = [channel.send(_out(f"DM nomor {n}", ReplyMode.DIRECT)) for n in range(6)]
        return await asyncio.gather(*replies, *dms)

    assert all(r.ok for r in asyncio.run(send_all()))
    posted = sorted((p["in_reply_to_tweet_id"], p["text"]) for p in x_api.fake.posted)
    assert posted == sorted((m["id"], f"Balasan untuk {m['id']}") for m in mentions)
    assert sorted(d["text"] for d in x_api.fake.dms_sent) == [f"DM nomor {n}" for n in range(6)]


@pytest.mark.parametrize(
    ("message", "failure", "retryable", "mentions"),
    [
        (_out("x" * 281, ReplyMode.PUBLIC, "1"), None, False, "281/280"),
        (_out("Terima kasih", ReplyMode.PUBLIC), None, False, "needs the post"),
        (_out("Terima kasih", ReplyMode.PUBLIC, "999"), None, False, "deleted or not visible"),
        (_out("Terima kasih", ReplyMode.PRIVATE_REPLY, "1"), None, False, "private_reply"),
        (_out("Halo", ReplyMode.DIRECT), ("dm_send", 429, "Too Many Requests"), True, "429"),
        (
            _out("Halo", ReplyMode.DIRECT),
            ("dm_send", 403, "You cannot send messages to this user."),
            False,
            "cannot send",
        ),
        (_out("Halo", ReplyMode.DIRECT), ("dm_send", 500, "Internal Error"), True, "500"),
    ],
    ids=["too long", "no post", "post gone", "no private replies", "429", "DMs closed", "500"],
)
def test_send_failures(
    x_api: RunningX, message: OutboundMessage, failure, retryable: bool, mentions: str
) -> None:  # type: ignore[no-untyped-def]
    if failure:
        x_api.fake.fail(*failure)
    result = asyncio.run(_channel(x_api).send(message))
    assert not result.ok and result.retryable is retryable
    assert mentions in (result.error or "")


def test_send_without_user_context_is_permanent() -> None:
    channel = _channel(None, x_access_token="")
    result = asyncio.run(channel.send(_out("Halo", ReplyMode.DIRECT)))
    assert not result.ok and not result.retryable and "X_ACCESS_TOKEN" in (result.error or "")


def test_tweet_weight_counts_links_and_wide_characters() -> None:
    assert tweet_weight("abc") == 3
    assert tweet_weight("lihat https://lapor.example.go.id/status/LPR-7K3M9Q ya") == 6 + 23 + 3
    assert tweet_weight("日本") == 4


# --- media ---------------------------------------------------------------------------------------


def test_download_public_photo_and_signed_dm_media(x_api: RunningX) -> None:
    photo = image_bytes()
    x_api.fake.add_media_file("jalan.jpg", photo, "image/jpeg")
    channel = _channel(x_api)
    public = Media(url=f"{x_api.url}/media/jalan.jpg", content_type="image/jpeg")
    assert asyncio.run(channel.download(public, 10_000_000)) == (photo, "image/jpeg")
    private = Media(url=f"{x_api.url}/ton/jalan.jpg", content_type="image/jpeg")
    assert asyncio.run(channel.download(private, 10_000_000))[0] == photo
    wrong = _channel(x_api, x_access_token_secret="not-the-secret")
    with pytest.raises(MediaError):
        asyncio.run(wrong.download(private, 10_000_000))


def test_channel_repr_hides_secrets() -> None:
    channel = XChannel(channel_settings())
    assert "secret" not in repr(channel) + repr(channel.pollers())
