"""`lapor-gateway sweep --now` and `lapor-gateway report` against the gateway's database."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from gateway import cli
from gateway.context import Gateway
from tests.gateway.admin.conftest import Directory
from tests.gateway.sla import story
from tests.gateway.sla.story import wib


@pytest.fixture
def command_env(
    gateway: Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    monkeypatch.setenv("DATABASE_URL", gateway.settings.database_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("APP_ENV", "test")
    return monkeypatch


def test_sweep_with_a_moved_clock(
    command_env: pytest.MonkeyPatch,
    gateway: Gateway,
    directory: Directory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = story.file(gateway, wib(11, 2))
    story.verify(gateway, code, wib(11, 3))
    story.dispose(gateway, code, wib(11, 4), directory.dpupr)
    assert cli.main(["sweep", "--now", "2026-12-31"]) == 0
    out = capsys.readouterr().out
    assert "reminders queued: 2" in out and "escalated: 1" in out
    assert cli.main(["sweep", "--now", "2026-12-31T10:00"]) == 0
    assert "reminders queued: 0" in capsys.readouterr().out
    assert story.complaint(gateway, code).escalated
    assert cli.main(["sweep", "--now", "31 Desember"]) == 2


def test_report_monthly_as_xlsx_csv_and_text(
    command_env: pytest.MonkeyPatch,
    gateway: Gateway,
    directory: Directory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = story.file(gateway, wib(10, 1))
    story.verify(gateway, code, wib(10, 2))
    story.dispose(gateway, code, wib(10, 5), directory.dpupr)
    output = tmp_path / "oktober.xlsx"
    args = ["report", "monthly", "--month", "2026-10", "--format", "xlsx", "--output"]
    assert cli.main([*args, str(output)]) == 0
    book = load_workbook(io.BytesIO(output.read_bytes()))
    assert book["Ringkasan"]["B5"].value == 1
    assert cli.main(["report", "monthly", "--month", "2026-10", "--format", "csv"]) == 0
    assert "Per perangkat daerah,DPUPR" in capsys.readouterr().out
    assert cli.main(["report", "annual", "--year", "2031", "--lang", "en"]) == 0
    assert "Annual Report 2031" in capsys.readouterr().out
    assert cli.main(["report", "semester", "--semester", "2026-S3"]) == 2
