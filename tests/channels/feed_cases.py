"""Case tables of the polled channels: each row names a fixture under `tests/fixtures/<channel>/`
(a provider's documented response page, or a mail as it sits in the mailbox) and the messages
that must come out of it, in order. The channel tests feed the fixture to the local fake (or
parse the mail) and run the real poller; `test_fixtures_used` checks every fixture has a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from tests.channels.cases import Expect

FEED_CHANNELS = ("x", "youtube")

BUDI_X = "1500000000000000201"
SITI_X = "1500000000000000203"


@dataclass(frozen=True)
class PollCase:
    label: str
    channel: str
    fixture: str
    source: str  # the poller's name
    messages: tuple[Expect, ...] = ()
    cost: int | None = None  # what the poll reports it spent
    options: dict[str, str] = field(default_factory=dict)


def x_poll_cases() -> list[PollCase]:
    return [
        PollCase(
            "mentions: photo, place, escapes; retweet and our own post skipped, oldest first",
            "x",
            "mentions_page.json",
            "x_mentions",
            messages=(
                Expect(
                    SITI_X,
                    "tweet:1860000000000000102",
                    "Lampu PJU di Jl. Kartini mati semua & gelap sekali tiap malam",
                    also={
                        "public": True,
                        "thread_ref": "1860000000000000102",
                        "reply_to": None,
                        "sender_name": "Siti Aminah",
                        "permalink": "https://x.com/siti_aminah_fake/status/1860000000000000102",
                        "received_at": datetime(2024, 11, 20, 8, 0, tzinfo=UTC),
                    },
                ),
                Expect(
                    BUDI_X,
                    "tweet:1860000000000000105",
                    "Jalan di Desa Pasarbanggi berlubang besar, bahaya untuk pengendara motor. "
                    "Mohon segera diperbaiki https://t.co/fakePhoto1",
                    media=1,
                    location=(-6.7081, 111.3418),
                    also={
                        "reply_to": "1859999999999999900",
                        "location.label": "Rembang, Jawa Tengah",
                        "media.0.url": "https://pbs.twimg.com/media/FakeJalanRusak1.jpg",
                        "media.0.content_type": "image/jpeg",
                        "extra.conversation_id": "1859999999999999900",
                    },
                ),
            ),
            cost=4,  # four posts read, whatever was kept
        ),
        PollCase(
            "DMs: text and photo from the citizen, ours skipped, attachment link dropped",
            "x",
            "dm_events_page.json",
            "x_dm",
            messages=(
                Expect(
                    BUDI_X,
                    "dm:1860000000000000307",
                    "Selamat pagi, saya yang lapor jalan rusak di Pasarbanggi. Lubangnya di depan "
                    "balai desa.",
                    also={
                        "public": False,
                        "thread_ref": "1500000000000000001-1500000000000000201",
                        "sender_name": "Budi Santoso",
                    },
                ),
                Expect(
                    BUDI_X,
                    "dm:1860000000000000309",
                    "Ini fotonya",
                    media=1,
                    also={
                        "media.0.url": "https://ton.twitter.com/1.1/ton/data/dm/"
                        "1860000000000000309/fakeDmPic.jpg"
                    },
                ),
            ),
            cost=3,
        ),
    ]


def youtube_poll_cases() -> list[PollCase]:
    return [
        PollCase(
            "comment threads: comments and a reply, the channel's own skipped, oldest first",
            "youtube",
            "comment_threads_page.json",
            "youtube_comments",
            messages=(
                Expect(
                    "UCfakeSitiAminah0000001",
                    "UgzFakeThreadC0003AaABAg",
                    "Pelayanan KTP di kecamatan Kragan lama sekali, sudah 3 minggu belum jadi & "
                    "tidak ada kabar.",
                    also={
                        "public": True,
                        "thread_ref": "UgzFakeThreadC0003AaABAg",
                        "sender_name": "@SitiAminahFake",
                        "permalink": "https://www.youtube.com/watch?v=fakeVideo02"
                        "&lc=UgzFakeThreadC0003AaABAg",
                        "extra.video_id": "fakeVideo02",
                        "received_at": datetime(2024, 11, 20, 8, 0, tzinfo=UTC),
                    },
                ),
                Expect(
                    "UCfakeBudiSantoso000001",
                    "UgzFakeThreadA0001AaABAg",
                    "Pak, jembatan gantung di Desa Sendangmulyo sudah miring dan papannya banyak "
                    "yang lepas. Anak sekolah lewat situ setiap hari.",
                    also={"reply_to": None, "extra.kind": "comment"},
                ),
                Expect(
                    "UCfakeBudiSantoso000001",
                    "UgzFakeThreadA0001AaABAg.A1fakeReply02",
                    "Lokasinya dekat SD Negeri 1, RT 02 RW 01.",
                    also={
                        "reply_to": "UgzFakeThreadA0001AaABAg",
                        "thread_ref": "UgzFakeThreadA0001AaABAg",
                        "extra.kind": "comment_reply",
                    },
                ),
            ),
            cost=1,  # one page: one quota unit
        ),
    ]


def all_poll_cases() -> list[PollCase]:
    return x_poll_cases() + youtube_poll_cases()
