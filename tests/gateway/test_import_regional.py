"""`import-csv --source laporgub` (and `.xlsx` through openpyxl): exports of regional complaint
systems without a public API join the inbox once, keeping their ids and links — a later, longer
export of the same system imports only what is new."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from gateway.cli import main
from gateway.context import Gateway
from gateway.intake import importer
from gateway.store.models import Complaint, ComplaintEvent, InboundMessage

HEADER = ("No. Tiket", "Tanggal Aduan", "Isi Aduan", "Kategori", "Lokasi", "Link")
ROWS = [
    (
        "LG-2026-0001",
        "2026-10-01 08:15:00",
        "Jalan di Desa Sumbergirang Lasem berlubang besar, mohon segera diperbaiki.",
        "Pengaduan",
        "Sumbergirang, Lasem",
        "https://laporgub.jatengprov.go.id/aduan/LG-2026-0001",
    ),
    (
        "LG-2026-0002",
        "2026-10-02 10:00:00",
        "Bagaimana cara mengurus akta kelahiran anak yang lahir di luar kota?",
        "Permintaan Informasi",
        "",
        "https://laporgub.jatengprov.go.id/aduan/LG-2026-0002",
    ),
]
NEW_ROW = (
    "LG-2026-0003",
    "2026-10-05 09:00:00",
    "Sampah di TPS dekat Pasar Kragan tidak diangkut seminggu, baunya menyengat.",
    "Pengaduan",
    "Pasar Kragan",
    "javascript:alert(1)",  # not a link: never kept
)


def write_csv(path: Path, rows: list[tuple[str, ...]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter=";").writerows([HEADER, *rows])
    return path


def write_xlsx(path: Path, rows: list[tuple[str, ...]]) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def imported(gateway: Gateway) -> list[Complaint]:
    with gateway.db.read_session() as session:
        return list(session.scalars(select(Complaint).order_by(Complaint.received_at)).all())


def run(path: Path, gateway: Gateway, monkeypatch: pytest.MonkeyPatch, *extra: str) -> int:
    monkeypatch.setenv("DATABASE_URL", gateway.settings.database_url)
    monkeypatch.setenv("DATA_DIR", str(gateway.settings.data_dir))
    return main(["import-csv", str(path), "--source", "laporgub", *extra])


def test_a_laporgub_export_imports_once_with_its_ids_and_links(
    gateway: Gateway,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(write_csv(tmp_path / "laporgub.csv", ROWS), gateway, monkeypatch) == 0
    assert "imported:             2" in capsys.readouterr().out
    complaints = imported(gateway)
    assert [c.source for c in complaints] == ["laporgub", "laporgub"]
    assert complaints[0].source_url == ROWS[0][5]
    assert complaints[1].category == "permintaan_informasi"
    assert complaints[0].origin_channel == "import" and complaints[0].kecamatan == "Lasem"
    with gateway.db.read_session() as session:
        keys = session.scalars(select(InboundMessage.external_id).order_by(InboundMessage.id))
        assert list(keys) == ["laporgub:LG-2026-0001", "laporgub:LG-2026-0002"]
        notes = session.scalars(
            select(ComplaintEvent.note).where(ComplaintEvent.action == "imported")
        ).all()
        assert any("#LG-2026-0001" in (n or "") for n in notes)
    # Next month's export is another file, with the old rows and a new one: only it is new.
    later = write_xlsx(tmp_path / "laporgub-november.xlsx", [*ROWS, NEW_ROW])
    assert run(later, gateway, monkeypatch) == 0
    out = capsys.readouterr().out
    assert "imported:             1" in out and "already imported:     2" in out
    complaints = imported(gateway)
    assert len(complaints) == 3 and complaints[-1].source_url is None


def test_an_xlsx_file_reads_like_a_csv_file(gateway: Gateway, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "aduan.xlsx", ROWS)
    columns = importer.columns_for("laporgub", importer.header_of(path), {})
    assert (columns.id, columns.text, columns.link) == ("No. Tiket", "Isi Aduan", "Link")
    summary = importer.import_csv(gateway, path, columns, source="laporgub")
    assert (summary.rows, summary.imported) == (2, 2)
    assert imported(gateway)[0].received_at.day == 1


def test_a_file_that_is_not_a_workbook_is_refused(
    gateway: Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rusak.xlsx"
    path.write_bytes(b"not a zip at all")
    assert run(path, gateway, monkeypatch) == 2
    with gateway.db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Complaint)) == 0


def test_without_a_text_column_the_file_is_refused(gateway: Gateway, tmp_path: Path) -> None:
    path = tmp_path / "lain.csv"
    path.write_text("kolom_a;kolom_b\n1;2\n", encoding="utf-8")
    with pytest.raises(importer.CsvImportError, match="text column"):
        importer.columns_for("laporgub", importer.header_of(path), {})
