"""`lapor-gateway import-csv`: historical complaints through the same normalizer, once."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from gateway.admin.directory import load_directory, sync_directory
from gateway.cli import main
from gateway.context import Gateway
from gateway.intake import importer
from gateway.store.models import Agency, Complaint

ROWS = [
    ("tanggal", "uraian", "kategori", "opd", "sumber"),
    (
        "2026-10-01",
        "Jalan di Desa Sumbergirang Lasem berlubang besar, mohon diperbaiki",
        "Pengaduan",
        "DPUPR",
        "Instagram",
    ),
    (
        "2026-10-02",
        "Bagaimana cara mengurus akta kelahiran anak yang lahir di luar kota?",
        "Permintaan Informasi",
        "DINDUKCAPIL",
        "SMS",
    ),
    ("2026-10-03", "", "Pengaduan", "DLH", "SMS"),
    (
        "2026-10-04",
        "Sampah di TPS dekat Pasar Kragan tidak diangkut seminggu, baunya menyengat",
        "Pengaduan",
        "Dinas Lingkungan Hidup",
        "TikTok",
    ),
    (
        "2026-10-05",
        "Kepala desa minta uang 500 ribu untuk surat keterangan tidak mampu",
        "Pengaduan Berkadar Pengawasan",
        "Dinas Antah Berantah",
        "WhatsApp",
    ),
]


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    import csv

    path = tmp_path / "aduan.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter=";").writerows(ROWS)
    return path


def _directory(gateway: Gateway) -> None:
    with gateway.db.session() as session:
        sync_directory(session, load_directory(gateway.settings.agency_directory_file))
        session.commit()


def test_import_runs_every_row_through_the_normalizer(gateway: Gateway, csv_file: Path) -> None:
    _directory(gateway)
    columns = importer.Columns(
        text="uraian", category="kategori", agency="opd", date="tanggal", source="sumber"
    )
    summary = importer.import_csv(gateway, csv_file, columns)
    assert (summary.rows, summary.imported, summary.skipped_empty) == (5, 4, 1)
    assert summary.unknown_agencies == {"Dinas Antah Berantah"}
    assert summary.class_checked == 4 and summary.agency_checked == 3
    with gateway.db.read_session() as session:
        complaints = session.scalars(select(Complaint).order_by(Complaint.received_at)).all()
        assert [c.source for c in complaints] == ["instagram", "sms", "tiktok", "whatsapp"]
        # A date without a zone is the regency's own (TIMEZONE): 1 October, Jakarta time.
        local = complaints[0].received_at.astimezone(ZoneInfo(gateway.settings.timezone))
        assert local.date().isoformat() == "2026-10-01" and complaints[0].kecamatan == "Lasem"
        assert all(c.category_suggestions and c.agency_suggestions for c in complaints)
        dlh = session.scalar(select(Agency.id).where(Agency.code == "DLH"))
        assert complaints[2].agency_id == dlh  # matched by name
        assert complaints[1].category == "permintaan_informasi"
    again = importer.import_csv(gateway, csv_file, columns)
    assert (again.imported, again.already_imported) == (0, 4)
    with gateway.db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Complaint)) == 4


def test_a_missing_column_is_named(gateway: Gateway, csv_file: Path) -> None:
    with pytest.raises(importer.CsvImportError, match="isi"):
        importer.import_csv(gateway, csv_file, importer.Columns(text="isi"))


def test_cli_prints_a_summary(
    gateway: Gateway,
    csv_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", gateway.settings.database_url)
    monkeypatch.setenv("DATA_DIR", str(gateway.settings.data_dir))
    code = main(["import-csv", str(csv_file), "--text-column", "uraian", "--limit", "2"])
    assert code == 0
    out = capsys.readouterr().out
    assert "imported:             2" in out
    assert main(["import-csv", str(csv_file), "--text-column", "nope"]) == 2


TWEETS = [
    ("created_at", "text", "kategori", "opd"),
    (
        "Wed Aug 06 10:00:00 +0000 2025",
        "@BupatiRembang @dpupr_rbg jalan di desa Sumbergirang Lasem rusak parah, mohon diperbaiki",
        "Pengaduan",
        "DPUPR",
    ),
    ("6 Agustus 2025 pukul 14.30", "Sampah di pasar Kragan menumpuk seminggu", "Keluhan", "DLH"),
    ("kemarin sore", "Lampu jalan di desa Leteh mati sejak minggu lalu", "", "DPUPR"),
]


@pytest.fixture
def tweets_file(tmp_path: Path) -> Path:
    import csv

    path = tmp_path / "tweets.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(TWEETS)
    return path


def test_dates_categories_and_handles_are_read_or_reported(
    gateway: Gateway, tweets_file: Path
) -> None:
    """Issue 14 §8: Twitter's dates were replaced by today, unknown categories ignored, and
    titles started with an @handle."""
    _directory(gateway)
    columns = importer.Columns(text="text", category="kategori", agency="opd", date="created_at")
    summary = importer.import_csv(gateway, tweets_file, columns)
    assert summary.imported == 3
    assert summary.unknown_categories == {"Keluhan": 1}
    assert summary.unreadable_dates == [4]  # the file's line: "kemarin sore"
    said = "\n".join(summary.lines())
    assert "categories not understood" in said and "'Keluhan' (1 rows)" in said
    assert "dates not understood: 1 rows (lines 4), e.g. 'kemarin sore'" in said
    with gateway.db.read_session() as session:
        tweet, market, _lamp = session.scalars(select(Complaint).order_by(Complaint.id)).all()
    assert tweet.received_at.isoformat() == "2025-08-06T10:00:00+00:00"
    assert market.received_at.isoformat() == "2025-08-06T07:30:00+00:00"  # 14.30 WIB
    assert not tweet.title.startswith("@") and tweet.title.startswith("Jalan")
    assert market.category is None  # "Keluhan" is no class: left for the admin


def test_train_router_learns_from_labelled_imports(
    gateway: Gateway,
    csv_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ "trained on 0 disposed complaint(s)" after 600 imported rows with an agency column."""
    _directory(gateway)
    columns = importer.Columns(text="uraian", agency="opd")
    importer.import_csv(gateway, csv_file, columns)
    monkeypatch.setenv("DATABASE_URL", gateway.settings.database_url)
    monkeypatch.setenv("DATA_DIR", str(gateway.settings.data_dir))
    model = tmp_path / "router.json"
    assert main(["train-router", "--output", str(model)]) == 0
    out = capsys.readouterr().out
    # Three rows name a known agency ("Dinas Antah Berantah" is none; one row is empty).
    assert "trained on 3 example(s): 0 disposed complaint(s), 3 labelled imported row(s)" in out
    import json

    stored = json.loads(model.read_text(encoding="utf-8"))
    assert stored["format"] == "lapor-agency-router/2"
    assert set(stored["classes"]) == {"DPUPR", "DINDUKCAPIL", "DLH"}
