"""Case tables of the polled channels: each row names a fixture under `tests/fixtures/<channel>/`
(a provider's documented response page, or a mail as it sits in the mailbox) and the messages
that must come out of it, in order. The channel tests feed the fixture to the local fake (or
parse the mail) and run the real poller; `test_fixtures_used` checks every fixture has a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from tests.channels.cases import Expect

FEED_CHANNELS = ("x", "youtube", "email")

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


WIB = timezone(timedelta(hours=7))


def _mail(label: str, fixture: str, expect: Expect) -> PollCase:
    return PollCase(label, "email", fixture, "email", messages=(expect,), cost=1)


def email_cases() -> list[PollCase]:
    """One mail per fixture; `also` names what the gateway relies on. `extra.automatic` None
    means: a person wrote it, it may be answered."""
    return [
        _mail(
            "plain complaint",
            "plain_complaint.eml",
            Expect(
                "budi.santoso@contoh.test",
                "<CAfake-0001@mail.contoh.test>",
                "Selamat siang,\n\nJalan di Desa Pasarbanggi RT 02 berlubang besar sejak sebulan, "
                "sudah dua pengendara motor jatuh. Mohon segera diperbaiki.\n\nTerima kasih.",
                also={
                    "sender_name": "Budi Santoso",
                    "thread_ref": "<CAfake-0001@mail.contoh.test>",
                    "received_at": datetime(2024, 11, 20, 15, 30, tzinfo=WIB),
                    "extra.subject": "Jalan rusak di Desa Pasarbanggi",
                    "extra.automatic": None,
                    "public": False,
                },
            ),
        ),
        _mail(
            "reply: tracking code, In-Reply-To, References; quote and signature cut",
            "reply_with_quote.eml",
            Expect(
                "siti.aminah@contoh.test",
                "<CAfake-0002@mail.contoh.test>",
                "Lampunya ada di tiang nomor 14 dekat masjid.",
                also={
                    "extra.tracking_code": "LPR-7K3M9Q",
                    "reply_to": "<4f1c0a2b9d8e7f6a5b4c3d2e1f0a9b8c@lapor.test>",
                    "extra.references": "<CAfake-0000@mail.contoh.test> "
                    "<4f1c0a2b9d8e7f6a5b4c3d2e1f0a9b8c@lapor.test>",
                    "extra.automatic": None,
                },
            ),
        ),
        _mail(
            "HTML only: read as text, styles dropped",
            "html_only.eml",
            Expect(
                "warga.kragan@contoh.test",
                "<fake-0003@web.contoh.test>",
                "Pelayanan KTP di Kecamatan Kragan sudah 3 minggu belum jadi.\n"
                "Mohon ditindaklanjuti & dikabari.",
            ),
        ),
        _mail(
            "photo and PDF attached",
            "attachments.eml",
            Expect(
                "budi.santoso@contoh.test",
                "<CAfake-0004@mail.contoh.test>",
                "Terlampir foto jembatan yang retak dan surat pengantar RT.",
                media=2,
                also={
                    "media.0.content_type": "image/jpeg",
                    "media.0.filename": "jembatan.jpg",
                    "media.1.content_type": "application/pdf",
                    "media.1.filename": "surat_rt.pdf",
                },
            ),
        ),
        _mail(
            "multipart without a boundary: kept with its body",
            "broken_mime.eml",
            Expect(
                "warga.sarang@contoh.test",
                "<fake-0005@contoh.test>",
                "Sampah di Pasar Sarang sudah seminggu tidak diangkut, baunya sampai ke rumah "
                "warga.",
                also={
                    "extra.defects": "MultipartInvariantViolationDefect, "
                    "NoBoundaryInMultipartDefect"
                },
            ),
        ),
        _mail(
            "unknown charset: read anyway, nothing dropped",
            "unknown_charset.eml",
            Expect(
                "warga.lasem@contoh.test",
                "<fake-0006@contoh.test>",
                "Air PDAM di Lasem mati tiga hari, warga kesulitan air bersih é.",
                also={"extra.defects": "unknown charset x-fake-charset"},
            ),
        ),
        _mail(
            "no text, only a photo: kept",
            "no_text.eml",
            Expect(
                "dewi@contoh.test",
                "<fake-0007@contoh.test>",
                "",
                media=1,
                also={"extra.no_text": "true", "extra.subject": ""},
            ),
        ),
        _mail(
            "out-of-office (Auto-Submitted) is automatic",
            "auto_reply.eml",
            Expect(
                "andi@contoh.test",
                "<fake-0008@contoh.test>",
                "Saya sedang cuti sampai 25 November. Email Anda akan saya balas setelahnya.",
                also={"extra.automatic": "Auto-Submitted: auto-replied"},
            ),
        ),
        _mail(
            "newsletter (Precedence: bulk) is automatic",
            "bulk_newsletter.eml",
            Expect(
                "buletin@berita.contoh.test",
                "<fake-0009@berita.contoh.test>",
                "Berita pekan ini: jadwal posyandu dan vaksinasi.",
                also={"extra.automatic": "Precedence: bulk"},
            ),
        ),
        _mail(
            "bounce (multipart/report) is automatic",
            "bounce_dsn.eml",
            Expect(
                "mailer-daemon@mx.contoh.test",
                "<fake-0010@mx.contoh.test>",
                "This is the mail system at host mx.contoh.test. Your message could not be "
                "delivered.",
                also={"extra.automatic": "delivery report (DSN)"},
            ),
        ),
        _mail(
            "our own From is automatic",
            "own_address.eml",
            Expect(
                "pengaduan@lapor.test",
                "<ownfake-0011@lapor.test>",
                "Laporan Anda kami terima dengan kode LPR-7K3M9Q.",
                also={"extra.automatic": "our own address"},
            ),
        ),
        _mail(
            "X-Auto-Response-Suppress is automatic",
            "outlook_suppress.eml",
            Expect(
                "desa@contoh.test",
                "<fake-0012@contoh.test>",
                "Pesan ini dikirim otomatis oleh sistem surat desa.",
                also={"extra.automatic": "X-Auto-Response-Suppress"},
            ),
        ),
        _mail(
            "no Message-ID: a hash of the mail is the id",
            "no_message_id.eml",
            Expect(
                "warga.pamotan@contoh.test",
                "sha256:b15d0ecb90b50f07d4c81c7398768c6722c48866778f7cd12b1ff2d4bb3cd67b",
                "Drainase di Jl. Raya Pamotan tersumbat, kalau hujan air naik ke jalan.",
                also={"thread_ref": None},
            ),
        ),
    ]


def all_poll_cases() -> list[PollCase]:
    return x_poll_cases() + youtube_poll_cases() + email_cases()
