"""X and YouTube in the gateway, end to end (issue 16): a mention polled from X becomes a
complaint through a neutral public reply and the conversation in the DMs, and the core's answer
goes back by DM and, unless `rahasia`, as a public reply with the tracking code only; a YouTube
comment becomes a complaint at once (YouTube has no private messages), answered with a public
reply that carries the code and nothing of the complaint.

The pollers run through the gateway's one runner against the local fakes of the X API v2 and
the YouTube Data API on 127.0.0.1, with the real tweepy and google-api-python-client; what the
gateway sends goes out through the outbox and the same clients. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import col

from channels.registry import build_pollers
from channels.x import SIGNATURE_HEADER, SweepCursor, crc_response_token, webhook_signature
from channels.youtube import CommentCursor
from config.messages import t
from gateway.admin.directory import load_directory, sync_directory
from gateway.app import create_app
from gateway.bot import public_posts
from gateway.complaints import workflow
from gateway.complaints.tracking import find_code
from gateway.context import Gateway
from gateway.jobs.pollers import PollerRunner
from gateway.jobs.scheduler import worker_id
from gateway.store.db import Database
from gateway.store.models import (
    Complaint,
    InboundMessage,
    InboundStatus,
    OutboxItem,
    OutboxStatus,
    PollerState,
)
from tests.channels.cases import FIXTURES, channel_settings
from tests.channels.conftest import RunningX, RunningYouTube
from tests.gateway.factories import answer_as_agency, verify_and_dispose

CITIZEN_X = "1500000000000000777"
CITIZEN_HANDLE = "warga_kragan"
CITIZEN_NAME = "Siti Warga"
MENTION = "@LaporRembang jalan di Desa Sumberjo Kragan berlubang besar, sudah dua motor jatuh"
ANSWER = "Jalan di Desa Sumberjo sudah ditambal tim DPUPR pada 20 November."


@dataclass
class Feeds:
    gateway: Gateway
    x: RunningX
    youtube: RunningYouTube
    runners: dict[str, PollerRunner]
    clock: Iterator[int]

    def poll(self, source: str) -> list[int]:
        return asyncio.run(self.runners[source].run_once()).stored

    def later(self) -> str:
        """A time after every poll so far (the first poll starts "from now")."""
        moment = datetime.now(UTC) + timedelta(seconds=5 + next(self.clock))
        return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def dispatch(self) -> int:
        return asyncio.run(self.gateway.dispatcher(worker_id()).drain())

    def mention(self, text: str = MENTION, author: str = CITIZEN_X, **more: Any) -> str:
        tweet = self.x.fake.add_mention(
            {"text": text, "author_id": author, "created_at": self.later(), **more}
        )
        return str(tweet["id"])

    def dm(self, text: str, sender: str = CITIZEN_X) -> None:
        self.x.fake.add_dm({"text": text, "sender_id": sender, "created_at": self.later()})

    def dms_to(self, participant: str = CITIZEN_X) -> list[str]:
        return [d["text"] for d in self.x.fake.dms_sent if d["participant_id"] == participant]


@pytest.fixture
def feeds(
    db: Database, db_url: str, tmp_path: Path, x_api: RunningX, youtube_api: RunningYouTube
) -> Feeds:
    yt = youtube_api.fake
    settings = channel_settings(
        database_url=db_url,
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        app_env="test",
        secret_key="test-secret-key-not-for-production",
        core_backend="manual",
        telegram_bot_token=None,
        x_api_base_url=x_api.url,
        youtube_api_base_url=youtube_api.url,
        youtube_oauth_token_uri=f"{youtube_api.url}/token",
        youtube_api_key=yt.api_key,
        youtube_channel_id=yt.channel_id,
        youtube_oauth_client_id=yt.client_id,
        youtube_oauth_client_secret=yt.client_secret,
        youtube_oauth_refresh_token=yt.refresh_token,
    )
    gateway = Gateway.create(settings, db=db)
    with gateway.db.session() as session:
        sync_directory(session, load_directory(settings.agency_directory_file))
        session.commit()
    x_api.fake.add_user(CITIZEN_X, CITIZEN_HANDLE, CITIZEN_NAME)
    runners = {
        name: PollerRunner(gateway, poller)
        for name, poller in build_pollers(gateway.channels).items()
    }
    assert sorted(runners) == ["x_dm", "x_mentions", "youtube_comments"]
    feeds = Feeds(gateway, x_api, youtube_api, runners, itertools.count())
    for name in runners:  # the first poll starts from now and reads nothing
        assert feeds.poll(name) == []
    return feeds


def _complaint(gateway: Gateway, code: str) -> Complaint:
    with gateway.db.read_session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert complaint is not None
        return complaint


def _dead(gateway: Gateway) -> list[str | None]:
    """What X or YouTube could not deliver (the liaison notices go elsewhere)."""
    with gateway.db.read_session() as session:
        dead = session.scalars(
            select(OutboxItem)
            .where(OutboxItem.status == OutboxStatus.DEAD)
            .where(col(OutboxItem.channel).in_(("x", "youtube")))
        )
        return [d.last_error for d in dead]


# --- X: a mention, the DMs, the answer ------------------------------------------------------


@pytest.mark.parametrize("rahasia", [False, True], ids=["public", "rahasia"])
def test_an_x_mention_becomes_a_complaint_through_the_dms_and_is_answered_both_ways(
    feeds: Feeds, rahasia: bool
) -> None:
    fake = feeds.x.fake
    tweet_id = feeds.mention()
    assert len(feeds.poll("x_mentions")) == 1
    feeds.dispatch()

    # Under the mention: a short neutral reply, nothing of the complaint, inviting a DM.
    [public] = fake.posted
    assert public["in_reply_to_tweet_id"] == tweet_id
    assert public["text"] == f"@{CITIZEN_HANDLE} {t('id', 'public.ack_dm')}"
    for private_detail in ("Sumberjo", "jalan", "motor", CITIZEN_NAME, "Siti"):
        assert private_detail.lower() not in public["text"].lower()
    # The conversation goes on in the DMs: the bot's greeting and consent question.
    [first] = feeds.dms_to()
    assert t("id", "bot.consent") in first
    with feeds.gateway.db.read_session() as session:
        [row] = session.scalars(select(InboundMessage)).all()
    assert row.extra["public"] is True and row.extra["thread_ref"] == tweet_id
    assert row.extra["permalink"] == f"https://x.com/{CITIZEN_HANDLE}/status/{tweet_id}"

    # The citizen answers by DM: consent, (rahasia), KIRIM files the mention as the complaint.
    feeds.dm("ya")
    assert len(feeds.poll("x_dm")) == 1
    feeds.dispatch()
    assert feeds.dms_to()[-1] == t("id", "bot.draft_started")
    if rahasia:
        feeds.dm("RAHASIA")
    feeds.dm("kirim")
    feeds.poll("x_dm")
    feeds.dispatch()
    code = find_code(feeds.dms_to()[-1])
    assert code is not None
    complaint = _complaint(feeds.gateway, code)
    assert (complaint.origin_channel, complaint.reply_channel) == ("x", "x")
    assert complaint.reply_address == CITIZEN_X
    assert "Sumberjo" in complaint.original_text and complaint.rahasia is rahasia
    assert complaint.source_url == f"https://x.com/{CITIZEN_HANDLE}/status/{tweet_id}"
    assert len(fake.posted) == 1  # nothing more in public while the complaint is handled

    verify_and_dispose(feeds.gateway, code, title="Jalan di Desa Sumberjo berlubang")
    answer_as_agency(feeds.gateway, code, ANSWER)
    feeds.dispatch()
    answers = [text for text in feeds.dms_to() if ANSWER in text]
    assert len(answers) == 1  # the answer itself, privately
    notes = fake.posted[1:]
    assert _dead(feeds.gateway) == []
    if rahasia:
        assert notes == []  # a confidential complaint leaves nothing more in public
        return
    [note] = notes
    assert note["in_reply_to_tweet_id"] == tweet_id
    link = f"{feeds.gateway.settings.public_base_url}/status/{code}"
    assert note["text"] == f"@{CITIZEN_HANDLE} " + t("id", "public.answered", code=code, link=link)
    assert ANSWER not in note["text"] and "Sumberjo" not in note["text"]
    feeds.dispatch()
    assert len(fake.posted) == 2  # never twice


def test_retweets_and_our_own_posts_are_ignored(feeds: Feeds) -> None:
    original = feeds.mention()
    feeds.poll("x_mentions")
    feeds.dispatch()
    posted = len(feeds.x.fake.posted)
    feeds.mention(
        f"RT @{CITIZEN_HANDLE}: {MENTION}",
        author="1500000000000000888",
        referenced_tweets=[{"type": "retweeted", "id": original}],
    )
    feeds.mention(
        "@LaporRembang Info jadwal layanan keliling minggu ini", author=feeds.x.fake.user_id
    )
    assert feeds.poll("x_mentions") == []
    feeds.dispatch()
    assert len(feeds.x.fake.posted) == posted


def test_each_citizen_gets_the_public_reply_though_the_words_are_the_same(feeds: Feeds) -> None:
    """X refuses a second post with the same text: the @handle keeps the neutral words apart."""
    feeds.x.fake.add_user("1500000000000000778", "warga_sulang", "Budi")
    first = feeds.mention()
    second = feeds.mention(
        "@LaporRembang sampah menumpuk di pasar Sulang sudah seminggu", "1500000000000000778"
    )
    assert len(feeds.poll("x_mentions")) == 2
    feeds.dispatch()
    assert sorted(
        (p["in_reply_to_tweet_id"], p["text"].split()[0]) for p in feeds.x.fake.posted
    ) == [
        (first, f"@{CITIZEN_HANDLE}"),
        (second, "@warga_sulang"),
    ]
    assert _dead(feeds.gateway) == []


def test_a_second_mention_the_same_day_is_not_acknowledged_again_in_public(
    feeds: Feeds,
) -> None:
    """X refuses the same text twice; the person hears from the bot by DM either way."""
    first = feeds.mention()
    feeds.poll("x_mentions")
    feeds.dispatch()
    feeds.mention("@LaporRembang selain itu lampu jalan di Desa Sumberjo juga mati semua")
    feeds.poll("x_mentions")
    feeds.dispatch()
    assert [p["in_reply_to_tweet_id"] for p in feeds.x.fake.posted] == [first]
    # By DM the bot goes on as in a chat: it still waits for the consent, and asks again.
    assert [t("id", "bot.consent") in dm for dm in feeds.dms_to()] == [True, True]
    assert _dead(feeds.gateway) == []


def test_a_chatty_mention_gets_the_bukan_laporan_word_by_dm_and_nothing_in_public(
    feeds: Feeds,
) -> None:
    feeds.dm("halo")
    feeds.poll("x_dm")
    feeds.dm("ya")
    feeds.poll("x_dm")
    feeds.dispatch()
    assert feeds.dms_to()[-1] == t("id", "bot.consent_given")
    feeds.mention("@LaporRembang wkwk iya bro nanti malam kita ngopi")
    feeds.poll("x_mentions")
    feeds.dispatch()
    assert feeds.x.fake.posted == []
    assert feeds.dms_to()[-1] == t("id", "bot.not_a_report")


def test_the_x_webhook_answers_the_crc_and_a_post_seen_both_ways_is_stored_once(
    feeds: Feeds,
) -> None:
    """Deployments with X's Account Activity webhooks: the CRC GET through the route, the
    signature on every delivery, and the same post later polled is not stored twice."""
    settings = feeds.gateway.settings
    assert settings.x_consumer_secret is not None
    secret = settings.x_consumer_secret.get_secret_value()
    body = (FIXTURES / "x" / "aaa_mention.json").read_bytes()
    with TestClient(create_app(settings, feeds.gateway), base_url="http://testserver") as client:
        crc = client.get("/webhooks/x", params={"crc_token": "ZmFrZS1jcmM"})
        assert crc.status_code == 200
        assert crc.json() == {"response_token": crc_response_token(secret, "ZmFrZS1jcmM")}
        assert client.get("/webhooks/x").status_code == 400
        forged = {"content-type": "application/json", SIGNATURE_HEADER: "sha256=AAAA"}
        assert client.post("/webhooks/x", content=body, headers=forged).status_code == 403
        signed = {
            "content-type": "application/json",
            SIGNATURE_HEADER: webhook_signature(secret, body),
        }
        assert client.post("/webhooks/x", content=body, headers=signed).status_code == 200
    # The same post, listed by the mentions endpoint at the next poll.
    feeds.x.fake.add_user("1500000000000000201", "budi_santoso_fake", "Budi Santoso")
    feeds.mention(
        "@LaporRembang Jalan di Desa Pasarbanggi berlubang besar, bahaya untuk pengendara "
        "motor. Mohon segera diperbaiki",
        author="1500000000000000201",
        id="1860000000000000105",
    )
    assert feeds.poll("x_mentions") == []
    feeds.dispatch()
    with feeds.gateway.db.read_session() as session:
        [row] = session.scalars(select(InboundMessage)).all()
    assert row.external_id == "tweet:1860000000000000105"
    assert [p["in_reply_to_tweet_id"] for p in feeds.x.fake.posted] == ["1860000000000000105"]


# --- YouTube: a comment, filed at once, answered in public ------------------------------------

YT_AUTHOR = "WargaSluke"  # the fake's channel id for it is UCWargaSluke
YT_COMMENT = "Lampu jalan di Desa Sluke mati semua sejak minggu lalu, gelap sekali kalau malam"
YT_ANSWER = ANSWER


def _yt_comment(feeds: Feeds, text: str = YT_COMMENT, author: str = YT_AUTHOR) -> dict[str, Any]:
    when = datetime.now(UTC) + timedelta(seconds=5 + next(feeds.clock))
    return feeds.youtube.fake.comment(author, text, when, video="vidRembang01")


def _yt_replies(feeds: Feeds) -> list[dict[str, Any]]:
    return [r["snippet"] for r in feeds.youtube.fake.replies_posted]


@pytest.mark.parametrize("rahasia", [False, True], ids=["public", "rahasia"])
def test_a_youtube_comment_is_filed_at_once_and_answered_in_public_with_the_code_only(
    feeds: Feeds, rahasia: bool
) -> None:
    thread = _yt_comment(feeds)
    assert len(feeds.poll("youtube_comments")) == 1
    feeds.dispatch()

    # Filed at once: no consent question can be asked, so the name goes nowhere (anonim).
    with feeds.gateway.db.read_session() as session:
        [row] = session.scalars(select(InboundMessage).where(InboundMessage.channel == "youtube"))
        complaint = session.get(Complaint, row.complaint_id)
    assert complaint is not None
    code = complaint.tracking_code
    link = f"https://www.youtube.com/watch?v=vidRembang01&lc={thread['id']}"
    assert row.extra["permalink"] == link and complaint.source_url == link
    assert complaint.origin_channel == "youtube" and complaint.reply_channel is None
    assert complaint.anonim and not complaint.rahasia
    assert "Sluke" in complaint.original_text

    # Under the comment: the code, its status page, where to go on privately; no details.
    [filed] = _yt_replies(feeds)
    assert filed["parentId"] == thread["id"]
    base = feeds.gateway.settings.public_base_url
    assert filed["textOriginal"] == t(
        "id", "public.filed", code=code, link=f"{base}/status/{code}", form=f"{base}/lapor"
    )
    for detail in ("Sluke", "lampu", "gelap", YT_AUTHOR):
        assert detail.lower() not in filed["textOriginal"].lower()

    if rahasia:  # an admin keeps it unpublished (the comment itself stays the citizen's)
        with feeds.gateway.db.session() as session:
            stored = session.get(Complaint, complaint.id)
            assert stored is not None
            workflow.record(
                session, stored, actor="user:1", action="set_rahasia", changes={"rahasia": True}
            )
            workflow.commit(session)
    verify_and_dispose(feeds.gateway, code, title="Jalan di Desa Sumberjo berlubang")
    answer_as_agency(feeds.gateway, code, ANSWER)
    feeds.dispatch()
    assert _dead(feeds.gateway) == []  # nothing tried a private message YouTube does not have
    [_filed, note] = _yt_replies(feeds)
    assert note["parentId"] == thread["id"]
    assert YT_ANSWER not in note["textOriginal"] and "Sluke" not in note["textOriginal"]
    if rahasia:
        assert note["textOriginal"] == t("id", "public.answered_quiet", form=f"{base}/lapor")
        assert code not in note["textOriginal"]
    else:
        assert note["textOriginal"] == t(
            "id", "public.answered", code=code, link=f"{base}/status/{code}"
        )
    feeds.dispatch()
    assert len(_yt_replies(feeds)) == 2  # never twice


def test_youtube_chatter_praise_and_our_own_comments_are_recorded_and_left_alone(
    feeds: Feeds,
) -> None:
    _yt_comment(feeds, "Mantaaap pak bupati, semoga sukses selalu 👍")  # praise
    _yt_comment(feeds, "wkwk iya bro nanti malam kita ngopi")  # chit-chat: bukan laporan
    _yt_comment(feeds, "CEK LPR-ABC123")  # a bot command: no private thread to answer in
    _yt_comment(feeds, "Laporan kami sudah ditindaklanjuti", author="fakeRembangChannel0001")
    assert len(feeds.poll("youtube_comments")) == 3  # our own comment is not even stored
    feeds.dispatch()
    assert _yt_replies(feeds) == []
    with feeds.gateway.db.read_session() as session:
        rows = session.scalars(
            select(InboundMessage).where(InboundMessage.channel == "youtube")
        ).all()
        assert {(r.status, r.complaint_id) for r in rows} == {(InboundStatus.IGNORED, None)}
        assert session.scalars(select(Complaint)).all() == []
    why = {r.text.split()[0]: r.last_error or "" for r in rows}
    assert "nothing to act on" in why["Mantaaap"]
    assert why["wkwk"].startswith("bukan laporan") and why["CEK"].startswith("a bot command")


def test_youtube_spam_is_filed_for_the_admin_to_archive_with_nothing_said_in_public(
    feeds: Feeds,
) -> None:
    _yt_comment(
        feeds,
        "Promo spesial! Paket internet 10GB cuma Rp25rb, aktifkan sekarang di *123# berlaku "
        "s/d 31 Desember",
    )
    feeds.poll("youtube_comments")
    feeds.dispatch()
    assert _yt_replies(feeds) == []
    with feeds.gateway.db.read_session() as session:
        [complaint] = session.scalars(select(Complaint)).all()
    assert complaint.not_report["kind"] == "promosi"  # the inbox offers it for archiving


def test_the_authors_own_reply_in_the_thread_adds_to_its_complaint(feeds: Feeds) -> None:
    thread = _yt_comment(feeds)
    top = thread["snippet"]["topLevelComment"]
    reply = {
        "kind": "youtube#comment",
        "id": f"{thread['id']}.reply0001",
        "snippet": {
            **top["snippet"],
            "textDisplay": "Tiangnya yang dekat balai desa juga miring mau roboh",
            "parentId": thread["id"],
            "publishedAt": top["snippet"]["publishedAt"].replace("Z", "").rstrip() + "Z",
        },
    }
    thread["replies"] = {"comments": [reply]}
    assert len(feeds.poll("youtube_comments")) == 2
    feeds.dispatch()
    with feeds.gateway.db.read_session() as session:
        rows = session.scalars(
            select(InboundMessage).where(InboundMessage.channel == "youtube")
        ).all()
        assert len({r.complaint_id for r in rows}) == 1 and rows[0].complaint_id is not None
        assert len(session.scalars(select(Complaint)).all()) == 1
    assert len(_yt_replies(feeds)) == 1  # one public reply for the thread


def test_another_persons_reply_in_a_thread_is_their_own_complaint_and_reply(
    feeds: Feeds,
) -> None:
    thread = _yt_comment(feeds)
    top = thread["snippet"]["topLevelComment"]
    other = {
        "kind": "youtube#comment",
        "id": f"{thread['id']}.reply0002",
        "snippet": {
            **top["snippet"],
            "textDisplay": "Di Desa Pandean juga sama, lampu jalan mati sudah sebulan",
            "authorDisplayName": "@WargaPandean",
            "authorChannelId": {"value": "UCWargaPandean"},
            "parentId": thread["id"],
        },
    }
    thread["replies"] = {"comments": [other]}
    assert len(feeds.poll("youtube_comments")) == 2
    feeds.dispatch()
    with feeds.gateway.db.read_session() as session:
        codes = {c.reporter_id: c.tracking_code for c in session.scalars(select(Complaint))}
    assert len(codes) == 2
    replies = _yt_replies(feeds)
    assert [r["parentId"] for r in replies] == [thread["id"], thread["id"]]
    # The reply for the second person says whom it is for; each carries its own code.
    starts = sorted(r["textOriginal"].split(",")[0] for r in replies)
    assert starts == ["@WargaPandean Terima kasih", "Terima kasih"]
    assert {find_code(r["textOriginal"]) for r in replies} == set(codes.values())


# --- the documented response pages through the gateway: one row per page ----------------------


@dataclass(frozen=True)
class PageCase:
    label: str
    fixture: str  # under tests/fixtures/<channel>/
    source: str
    stored: tuple[str, ...]  # the external ids kept, oldest first (retweets, ours: none)
    public: tuple[tuple[str, str], ...]  # (under which post, how the reply starts)
    dms: tuple[str, ...] = ()  # who got a DM from the bot
    complaints: int = 0
    joined: tuple[str, ...] = ()  # comments added to the complaint their thread started


PAGE_CASES = [
    PageCase(
        "x mentions: each citizen a neutral @reply and the bot by DM; retweet and ours skipped",
        "x/mentions_page.json",
        "x_mentions",
        stored=("tweet:1860000000000000102", "tweet:1860000000000000105"),
        public=(
            ("1860000000000000102", "@siti_aminah_fake Terima kasih, sudah kami terima."),
            ("1860000000000000105", "@budi_santoso_fake Terima kasih, sudah kami terima."),
        ),
        dms=("1500000000000000203", "1500000000000000201"),
    ),
    PageCase(
        "x DMs: the conversation starts in private, nothing in public; ours skipped",
        "x/dm_events_page.json",
        "x_dm",
        stored=("dm:1860000000000000307", "dm:1860000000000000309"),
        public=(),
        dms=("1500000000000000201",),
    ),
    PageCase(
        "youtube threads: each comment filed with its code under it; the author's own reply "
        "joins; the channel's own comments skipped",
        "youtube/comment_threads_page.json",
        "youtube_comments",
        stored=(
            "UgzFakeThreadC0003AaABAg",
            "UgzFakeThreadA0001AaABAg",
            "UgzFakeThreadA0001AaABAg.A1fakeReply02",
        ),
        public=(
            ("UgzFakeThreadC0003AaABAg", "Terima kasih, sudah kami catat dengan kode LPR-"),
            ("UgzFakeThreadA0001AaABAg", "Terima kasih, sudah kami catat dengan kode LPR-"),
        ),
        complaints=2,
        joined=("UgzFakeThreadA0001AaABAg.A1fakeReply02",),
    ),
]


def _load_page(feeds: Feeds, fixture: str) -> None:
    """A documented response page, put into the fake as the provider's own data."""
    page = json.loads((FIXTURES / fixture).read_text(encoding="utf-8"))
    if fixture.startswith("youtube/"):
        for thread in page["items"]:
            feeds.youtube.fake.add_thread(thread)
        return
    fake = feeds.x.fake
    for user in page["includes"].get("users", []):
        fake.add_user(user["id"], user["username"], user["name"])
    for item in page["includes"].get("media", []):
        fake.media[item["media_key"]] = item
    for place in page["includes"].get("places", []):
        fake.places[place["id"]] = place
    for item in page["data"]:
        (fake.add_dm if "event_type" in item else fake.add_mention)(dict(item))


def _rewind(feeds: Feeds, source: str) -> None:
    """The source's cursor before the page's posts (2024), as if polled since then."""
    old = (
        CommentCursor(since=datetime(2024, 11, 1, tzinfo=UTC)).dumps()
        if source == "youtube_comments"
        else SweepCursor(since_id="1").dumps()
    )
    with feeds.gateway.db.session() as session:
        state = session.get(PollerState, source)
        assert state is not None
        state.cursor = old
        session.add(state)
        session.commit()


@pytest.mark.parametrize("case", PAGE_CASES, ids=lambda case: case.label)
def test_documented_pages_through_the_gateway(feeds: Feeds, case: PageCase) -> None:
    _load_page(feeds, case.fixture)
    _rewind(feeds, case.source)
    channel = "youtube" if case.source == "youtube_comments" else "x"
    stored = feeds.poll(case.source)
    assert feeds.poll(case.source) == []  # polled again: nothing twice
    feeds.dispatch()
    with feeds.gateway.db.read_session() as session:
        rows = session.scalars(
            select(InboundMessage).where(col(InboundMessage.id).in_(stored))
        ).all()
        complaints = session.scalars(select(Complaint)).all()
    assert [r.external_id for r in sorted(rows, key=lambda r: r.id)] == list(case.stored)
    if channel == "x":
        sent = [(p["in_reply_to_tweet_id"], p["text"]) for p in feeds.x.fake.posted]
        assert sorted({p["participant_id"] for p in feeds.x.fake.dms_sent}) == sorted(case.dms)
    else:
        sent = [(r["parentId"], r["textOriginal"]) for r in _yt_replies(feeds)]
    assert len(sent) == len(case.public)
    for (under, text), (expected_under, start) in zip(
        sorted(sent), sorted(case.public), strict=True
    ):
        assert under == expected_under and text.startswith(start)
    assert len(complaints) == case.complaints
    by_external = {r.external_id: r for r in rows}
    for external_id in case.joined:
        joined = by_external[external_id]
        thread = public_posts.thread_ref(joined)
        first = next(r for r in rows if r.external_id == thread)
        assert joined.complaint_id == first.complaint_id is not None
    assert _dead(feeds.gateway) == []
