"""Where an imported or manually entered complaint came from, in words, never a raw key.

Seen walking the README: after `lapor-gateway import-csv`, the inbox said
"Impor CSV: admin.source.csv"; a file's own source column ("website") showed the same way.
"""

from __future__ import annotations

from pathlib import Path

from gateway.context import Gateway
from gateway.intake import importer
from tests.gateway.admin.conftest import Admin


def test_imported_complaints_name_their_source(
    clients: dict[str, Admin], gateway: Gateway, tmp_path: Path
) -> None:
    path = tmp_path / "lama.csv"
    path.write_text(
        "uraian,sumber\n"
        '"Jalan rusak di Desa Leteh, banyak lubang besar",\n'
        '"Lampu jalan mati di depan balai Desa Pandean",Website\n'
        '"Sampah menumpuk di Pasar Kragan sejak seminggu",instagram\n',
        encoding="utf-8",
    )
    columns = importer.Columns(text="uraian", source="sumber")
    assert importer.import_csv(gateway, path, columns).imported == 3
    inbox = clients["koor"].get("/admin").text
    assert "admin.source." not in inbox
    assert "Impor CSV: Berkas CSV" in inbox
    assert "Impor CSV: website" in inbox  # a source the catalog does not know, as written
    assert "Impor CSV: Instagram" in inbox
