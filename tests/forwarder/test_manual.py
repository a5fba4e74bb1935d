"""The manual backend: the text an admin pastes into LAPOR!, the tracking id they type back,
and the answers they enter, which travel as ordinary core events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from config.settings import CONFIG_DIR, load_settings
from forwarder.base import CoreEventKind, CoreRef
from forwarder.manual import (
    InvalidTrackingId,
    ManualCoreClient,
    ManualSubmissionRequired,
    ManualTexts,
    manual_event,
    parse_tracking_id,
    paste_fields,
    paste_text,
)
from forwarder.status_map import to_internal

from .conftest import make_report

pytestmark = pytest.mark.anyio

TEMPLATE = CONFIG_DIR / "core_manual.yaml"


@pytest.fixture
def texts() -> ManualTexts:
    return ManualTexts.load(TEMPLATE, "id", "Asia/Jakarta")


def test_paste_text_in_indonesian(texts: ManualTexts) -> None:
    text = paste_text(make_report(), texts, "Dinas Pekerjaan Umum dan Penataan Ruang")
    assert text.startswith("Judul Laporan: Jalan berlubang di Jl. Pemuda\n")
    assert "Isi Laporan:\nJalan di depan SD Negeri 2 berlubang besar" in text
    assert "Kategori: Pengaduan\n" in text
    assert "Instansi Tujuan: Dinas Pekerjaan Umum dan Penataan Ruang (DPUPR)\n" in text
    assert (
        "Lokasi Kejadian: Jl. Pemuda depan SD Negeri 2, Desa/Kelurahan Leteh, Kecamatan Rembang"
        in text
    )
    assert "Koordinat: -6.708300, 111.341200" in text
    assert "Anonim: Tidak · Rahasia: Tidak" in text
    assert "Nama Pelapor: Warga Contoh" in text
    assert "- http://gw.test/m/1.jpg" in text
    # received 01:30 UTC is 08:30 in Rembang (WIB)
    assert "Diteruskan dari WhatsApp, diterima 02-05-2024 08:30 WIB." in text
    assert text.rstrip().endswith("Kode Pelacakan Gateway: LPR-7K3M9Q")
    assert "\n\n\n" not in text


def test_an_anonymous_report_names_nobody(texts: ManualTexts) -> None:
    report = make_report(anonim=True, rahasia=True, reporter_name=None, reporter_contact=None)
    text = paste_text(report, texts)
    assert "Anonim: Ya · Rahasia: Ya" in text
    assert "Nama Pelapor" not in text and "Kontak Pelapor" not in text
    assert "None" not in text


def test_a_bare_report_leaves_out_empty_lines(texts: ManualTexts) -> None:
    report = make_report(
        agency_code=None,
        location_text=None,
        kecamatan=None,
        kelurahan=None,
        latitude=None,
        longitude=None,
        reporter_name=None,
        reporter_contact=None,
        attachments=(),
        source_channel="instagram",
        category="permintaan_informasi",
    )
    text = paste_text(report, texts)
    for label in ("Instansi Tujuan", "Lokasi Kejadian", "Koordinat", "Lampiran", "None"):
        assert label not in text
    assert "Kategori: Permintaan Informasi" in text
    assert "Diteruskan dari Instagram" in text


def test_fields_for_the_lapor_form_in_order(texts: ManualTexts) -> None:
    fields = paste_fields(make_report(), texts, "Dinas PUPR")
    assert list(fields)[:4] == ["Judul Laporan", "Isi Laporan", "Kategori", "Instansi Tujuan"]
    assert fields["Instansi Tujuan"] == "Dinas PUPR (DPUPR)"
    assert fields["Lampiran"] == "http://gw.test/m/1.jpg"


def test_english_texts_exist_for_an_english_admin() -> None:
    english = ManualTexts.load(TEMPLATE, "en", "Asia/Jakarta")
    text = paste_text(make_report(), english)
    assert text.startswith("Report title: Jalan berlubang")
    assert "Category: Complaint" in text
    assert "received 2024-05-02 08:30 WIB" in text
    # an unknown language falls back to Indonesian
    assert ManualTexts.load(TEMPLATE, "jv", "Asia/Jakarta").labels["title"] == "Judul Laporan"


async def test_submit_asks_a_person(texts: ManualTexts) -> None:
    names = {"DPUPR": "Dinas Pekerjaan Umum dan Penataan Ruang"}.get
    manual = ManualCoreClient(texts, agency_names=names)
    with pytest.raises(ManualSubmissionRequired) as asked:
        await manual.submit(make_report(), "complaint-1")
    task = asked.value.task
    assert task.idempotency_key == "complaint-1"
    assert task.text == paste_text(make_report(), texts, names("DPUPR"))
    assert task.fields["Judul Laporan"] == "Jalan berlubang di Jl. Pemuda"
    assert await manual.find("complaint-1") is None
    updates = await manual.updates("7")
    assert (updates.events, updates.cursor, updates.more) == ([], "7", False)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("5123456", "5123456"), ("  #5123456 ", "5123456"), ("5 123 456", "5123456")],
)
def test_a_typed_tracking_id_is_cleaned(typed: str, expected: str) -> None:
    assert parse_tracking_id(typed) == expected


@pytest.mark.parametrize("typed", ["", "#", "1234", "51234A6", "LPR-7K3M9Q", "5123456789012"])
def test_a_wrong_tracking_id_is_refused(typed: str) -> None:
    with pytest.raises(InvalidTrackingId):
        parse_tracking_id(typed)


def test_the_tracking_id_format_is_configurable(texts: ManualTexts) -> None:
    letters_digits = r"[A-Z]{3}-?\d{6}"
    assert parse_tracking_id("LPR-123456", letters_digits) == "LPR-123456"
    with pytest.raises(InvalidTrackingId):
        parse_tracking_id("5123456", letters_digits)
    manual = ManualCoreClient(texts, id_pattern=letters_digits)
    assert manual.confirm(" ABC123456") == CoreRef("ABC123456", "Belum Terverifikasi")
    with pytest.raises(InvalidTrackingId) as refused:
        manual.confirm("123")
    assert refused.value.message.startswith("ID tracking LAPOR! tidak sesuai format")
    assert to_internal(manual.confirm("XYZ000001").status) == "received"


def test_an_answer_typed_by_the_admin_is_an_event() -> None:
    at = datetime(2024, 5, 6, 3, 0, tzinfo=UTC)
    first = manual_event(
        "5123456", CoreEventKind.ANSWER, entry_id="form-abc", occurred_at=at, text=" Sudah. "
    )
    twice = manual_event(
        "5123456", CoreEventKind.ANSWER, entry_id="form-abc", occurred_at=at, text=" Sudah. "
    )
    assert first == twice  # a double-clicked form is one event
    assert (first.core_id, first.text, first.occurred_at) == ("5123456", "Sudah.", at)
    other = manual_event("5123456", CoreEventKind.ANSWER, text="Sudah.")
    assert other.event_id != first.event_id


def test_built_from_settings(tmp_path) -> None:
    settings = load_settings(core_backend="manual", core_manual_id_pattern=r"\d{7}")
    manual = ManualCoreClient.from_settings(settings)
    assert manual.confirm("5123456").core_id == "5123456"
    # the demo agency directory gives the agency's name
    assert manual.agency_names("DPUPR") == "Dinas Pekerjaan Umum dan Penataan Ruang"
    assert "Dinas Pekerjaan Umum" in manual.task_for(make_report(), "k").text
