"""`lapor-gateway gazetteer --regency`: any kabupaten/kota's gazetteer from the shipped official
region table; the Rembang demo is exactly what the command writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import main
from normalizer.location import find_places, load_gazetteer

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "gazetteer"


def test_the_rembang_demo_is_generated_by_the_command(tmp_path: Path) -> None:
    output = tmp_path / "rembang.yaml"
    code = main(
        [
            "gazetteer",
            "--regency",
            "Kabupaten Rembang",
            "--centroids",
            str(DEMO / "rembang-centroids.csv"),
            "--needs-context",
            str(DEMO / "rembang-needs-context.txt"),
            "--output",
            str(output),
        ]
    )
    assert code == 0
    assert output.read_text(encoding="utf-8") == (DEMO / "rembang.yaml").read_text("utf-8")


def test_any_regency_by_code_is_usable_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "sleman.yaml"
    assert main(["gazetteer", "--regency", "34.04", "--output", str(output)]) == 0
    said = capsys.readouterr().out
    assert "Kabupaten Sleman (34.04)" in said and "ODbL" in said
    text = output.read_text(encoding="utf-8")
    assert "idn-area-data" in text and "ODbL" in text  # source and licence in the file
    gazetteer = load_gazetteer(output)
    place = find_places("Jalan rusak di desa Wedomartani kecamatan Ngemplak", gazetteer)
    assert place is not None
    assert (place.kecamatan, place.village) == ("Ngemplak", "Wedomartani")


def test_an_unknown_regency_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["gazetteer", "--regency", "Kota Atlantis", "--output", str(tmp_path / "x")]) == 2
    assert "no regency named 'Kota Atlantis'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
