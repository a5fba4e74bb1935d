"""Case tables of the polled channels: each row names a fixture under `tests/fixtures/<channel>/`
(a provider's documented response page, or a mail as it sits in the mailbox) and the messages
that must come out of it, in order. The channel tests feed the fixture to the local fake (or
parse the mail) and run the real poller; `test_fixtures_used` checks every fixture has a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from tests.channels.cases import Expect

FEED_CHANNELS = ("x",)

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


def all_poll_cases() -> list[PollCase]:
    return x_poll_cases()
