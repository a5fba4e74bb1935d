"""The manual backend's intake: an admin pastes a LAPOR! report's page into the gateway and it
becomes an `IncomingReport` (tolerant of the page's layouts), or a clear message says what is
missing; the regency admin's actions become copy-ready tasks with the step to click in LAPOR!."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest

from config.settings import CONFIG_DIR
from forwarder.base import CoreRejected, Followup, FollowupKind, IncomingReport
from forwarder.manual import (
    InvalidPastedReport,
    ManualCoreClient,
    ManualSubmissionRequired,
    ManualTexts,
)
from forwarder.pasted import parse_lapor_date, parse_pasted_report

NOW = datetime(2024, 5, 3, 2, 0, tzinfo=UTC)
WIB = timezone(timedelta(hours=7))
TEMPLATE = CONFIG_DIR / "core_manual.yaml"

# The admin's "Detail Laporan": labelled lines, the text over two paragraphs.
ADMIN_DETAIL = """Detail Laporan

Tracking ID : 5123456
Tanggal Laporan : 02-05-2024 08:30
Klasifikasi : Pengaduan
Kategori : Infrastruktur
Judul : Jalan berlubang di Jl. Pemuda
Isi Laporan :
Jalan di depan SD Negeri 2 berlubang besar.

Sudah tiga minggu, membahayakan pengendara.
Lokasi : Jl. Pemuda, Rembang
Kecamatan : Rembang
Desa/Kelurahan : Leteh
Sumber : SMS 1708
Status : Belum Terverifikasi
Instansi Tujuan : Dinas PUPR Kab. Rembang (DPUPR)
Anonim : Tidak
Rahasia : Ya
Pelapor : Budi Santoso
"""

# The public page copied top to bottom: the name (here "Anonim") and the date on their own
# lines, the title and text unlabelled, then the labelled facts.
PUBLIC_PAGE = """Anonim
Kamis, 2 Mei 2024 08.30 WIB
Jalan berlubang di Jl. Pemuda
Jalan di depan SD Negeri 2 berlubang besar, sudah tiga minggu tidak diperbaiki.
Tracking ID : 5123456
Kategori : Infrastruktur
Status : Proses
Dilaporkan via SMS
"""

# A table copied from the dashboard: label TAB value.
TABLE_ROWS = (
    "ID Tracking\t#5123457\n"
    "Judul\tLampu jalan mati\n"
    "Isi Laporan\tLampu jalan di depan pasar mati sejak 1 Mei 2024.\n"
    "Instansi Tujuan\tDinas Perhubungan Kab. Rembang (DISHUB)\n"
    "Tanggal\t2024-05-02 09:15:00\n"
    "Jenis Laporan\tAspirasi\n"
)

# A two-column layout copied as label line, value line.
TWO_COLUMNS = """Nomor Laporan
5123458
Isi Laporan
Air PDAM tidak mengalir sejak kemarin.
Tanggal
2 Mei 2024
Sumber
Aplikasi
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            ADMIN_DETAIL,
            {
                "core_id": "5123456",
                "title": "Jalan berlubang di Jl. Pemuda",
                "description": "Jalan di depan SD Negeri 2 berlubang besar.\n\n"
                "Sudah tiga minggu, membahayakan pengendara.",
                "received_at": datetime(2024, 5, 2, 1, 30, tzinfo=UTC),
                "category": "pengaduan",
                "topic": "Infrastruktur",
                "source_channel": "sms1708",
                "status": "Belum Terverifikasi",
                "agency_code": "DPUPR",
                "location_text": "Jl. Pemuda, Rembang",
                "kecamatan": "Rembang",
                "kelurahan": "Leteh",
                "reporter_name": "Budi Santoso",
                "anonim": False,
                "rahasia": True,
            },
        ),
        (
            PUBLIC_PAGE,
            {
                "core_id": "5123456",
                "title": "Jalan berlubang di Jl. Pemuda",
                "description": "Jalan di depan SD Negeri 2 berlubang besar, sudah tiga minggu"
                " tidak diperbaiki.",
                "received_at": datetime(2024, 5, 2, 8, 30, tzinfo=WIB),
                "category": None,
                "topic": "Infrastruktur",
                "source_channel": "sms1708",
                "status": "Proses",
                "reporter_name": None,
                "anonim": True,
            },
        ),
        (
            TABLE_ROWS,
            {
                "core_id": "5123457",
                "title": "Lampu jalan mati",
                "description": "Lampu jalan di depan pasar mati sejak 1 Mei 2024.",
                "received_at": datetime(2024, 5, 2, 2, 15, tzinfo=UTC),
                "category": "aspirasi",
                "agency_code": "DISHUB",
            },
        ),
        (
            TWO_COLUMNS,
            {
                "core_id": "5123458",
                "title": "",
                "description": "Air PDAM tidak mengalir sejak kemarin.",
                "received_at": datetime(2024, 5, 1, 17, 0, tzinfo=UTC),
                "source_channel": "app",
            },
        ),
    ],
    ids=["admin-detail", "public-page", "table-rows", "two-columns"],
)
def test_a_pasted_lapor_page_becomes_an_incoming_report(
    text: str, expected: dict[str, object]
) -> None:
    report = parse_pasted_report(text, now=NOW)
    got = {name: getattr(report, name) for name in expected}
    assert got == expected
    assert report.raw == text  # the paste is kept as it came


def test_what_the_paste_does_not_say_is_left_open() -> None:
    report = parse_pasted_report("#5123459\nLampu jalan mati di depan balai desa.", now=NOW)
    assert (report.core_id, report.description, report.received_at) == (
        "5123459",
        "Lampu jalan mati di depan balai desa.",
        NOW,  # no date on the page: the moment of the paste
    )
    assert (report.category, report.source_channel, report.agency_code) == (None, None, None)


def test_the_same_page_pasted_twice_is_the_same_report() -> None:
    first = parse_pasted_report(ADMIN_DETAIL, now=NOW)
    second = parse_pasted_report(ADMIN_DETAIL.replace("\n", "\r\n"), now=NOW + timedelta(hours=1))
    assert first == second and first.key == second.key == "lapor:5123456"


@pytest.mark.parametrize(
    ("text", "reason", "indonesian", "english"),
    [
        ("   \n ", "empty", "Tempel teks halaman laporan", "Paste the text"),
        (
            "Judul: Jalan rusak\nIsi Laporan: Jalan di Leteh rusak parah.",
            "no_tracking_id",
            'Salin juga baris "Tracking ID"',
            'Copy the "Tracking ID" line',
        ),
        (
            "Tracking ID : 5123456\nStatus : Proses",
            "no_text",
            "Isi laporan tidak ditemukan",
            "No report text",
        ),
        ("x" * 50_001, "too_long", "terlalu panjang", "too long"),
        ("Tracking ID : 12\nIsi: Lampu mati.", "no_tracking_id", "tidak ditemukan", "No LAPOR!"),
    ],
)
def test_an_unreadable_paste_says_what_is_missing(
    text: str, reason: str, indonesian: str, english: str
) -> None:
    for language, message in (("id", indonesian), ("en", english)):
        client = ManualCoreClient(ManualTexts.load(TEMPLATE, language))
        with pytest.raises(InvalidPastedReport) as raised:
            client.read_pasted(text, NOW)
        assert raised.value.reason == reason
        assert message in raised.value.message


def test_the_client_reads_with_its_own_id_pattern_and_timezone() -> None:
    texts = ManualTexts.load(TEMPLATE, "id", "Asia/Makassar")
    client = ManualCoreClient(texts, id_pattern=r"LPR\d{6}")
    report = client.read_pasted(
        "Tracking ID : LPR123456\nTanggal : 02/05/2024 08:30\nIsi: Lampu mati."
    )
    assert isinstance(report, IncomingReport)
    assert report.core_id == "LPR123456"
    assert report.received_at == datetime(2024, 5, 2, 0, 30, tzinfo=UTC)  # 08:30 WITA


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("02-05-2024 08:30", datetime(2024, 5, 2, 8, 30, tzinfo=WIB)),
        ("2/5/2024", datetime(2024, 5, 2, tzinfo=WIB)),
        ("Kamis, 2 Mei 2024 08.30 WITA", datetime(2024, 5, 2, 0, 30, tzinfo=UTC)),
        ("12 Agustus 2024 pukul 14:05 WIT", datetime(2024, 8, 12, 5, 5, tzinfo=UTC)),
        ("2024-05-02T01:30:00Z", datetime(2024, 5, 2, 1, 30, tzinfo=UTC)),
        ("31-02-2024", None),
        ("kemarin", None),
    ],
)
def test_lapor_dates(text: str, expected: datetime | None) -> None:
    from zoneinfo import ZoneInfo

    assert parse_lapor_date(text, ZoneInfo("Asia/Jakarta")) == expected


def test_the_regency_admins_actions_are_copy_ready_tasks() -> None:
    client = ManualCoreClient(
        ManualTexts.load(TEMPLATE, "id"),
        agency_names={"DPUPR": "Dinas Pekerjaan Umum dan Penataan Ruang"}.get,
    )

    def task(followup: Followup):  # type: ignore[no-untyped-def]
        with pytest.raises(ManualSubmissionRequired) as raised:
            asyncio.run(client.follow_up(followup))
        return raised.value.task

    disposed = task(Followup(FollowupKind.DISPOSE, "5123456", "LPR-A:core_dispose:3", "", "DPUPR"))
    assert disposed.idempotency_key == "LPR-A:core_dispose:3"
    assert disposed.text == ""  # nothing to paste, one thing to click
    assert disposed.fields == {
        "Nomor laporan SP4N-LAPOR!": "5123456",
        "Langkah di LAPOR!": "Buka laporan 5123456 di LAPOR!, lalu disposisikan ke Dinas"
        " Pekerjaan Umum dan Penataan Ruang (DPUPR).",
        "Instansi tujuan": "Dinas Pekerjaan Umum dan Penataan Ruang (DPUPR)",
    }
    asked = task(Followup(FollowupKind.ASK, "5123456", "k:ask", "Di gang mana tepatnya?"))
    assert asked.text == "Di gang mana tepatnya?\n"  # exactly what goes to the reporter
    assert asked.fields["Pertanyaan untuk pelapor"] == "Di gang mana tepatnya?"
    assert "kirim pertanyaan ini kepada pelapor" in asked.fields["Langkah di LAPOR!"]
    returned = task(Followup(FollowupKind.RETURN, "5123456", "k:ret", "Jalan nasional."))
    assert returned.fields["Alasan dikembalikan (bukan wewenang)"] == "Jalan nasional."
    assert "Kembalikan (bukan wewenang)" in returned.fields["Langkah di LAPOR!"]
    archived = task(Followup(FollowupKind.ARCHIVE, "5123456", "k:arc", "Laporan ganda."))
    assert archived.fields["Alasan diarsipkan"] == "Laporan ganda."
    verified = task(Followup(FollowupKind.VERIFY, "5123456", "k:ver"))
    assert verified.fields == {
        "Nomor laporan SP4N-LAPOR!": "5123456",
        "Langkah di LAPOR!": "Buka laporan 5123456 di LAPOR!, lalu klik Verifikasi.",
    }
    with pytest.raises(CoreRejected, match="no agency"):
        asyncio.run(client.follow_up(Followup(FollowupKind.DISPOSE, "5123456", "k")))


def test_the_manual_backend_has_nothing_to_poll() -> None:
    client = ManualCoreClient(ManualTexts.load(TEMPLATE, "id"))
    page = asyncio.run(client.incoming("7"))
    assert (page.reports, page.unreadable, page.cursor, page.more) == ([], [], "7", False)
