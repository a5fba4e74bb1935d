"""A broken holiday file stops every command at start-up with one line naming the file and the
line (no traceback), before the database is touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import cli


def _holidays(tmp_path: Path, text: str) -> Path:
    directory = tmp_path / "holidays"
    directory.mkdir()
    (directory / "2026.yaml").write_text(text, encoding="utf-8")
    return directory


@pytest.mark.parametrize("command", [["migrate"], ["serve"], ["sweep"]])
def test_a_bad_date_in_a_holiday_file_is_a_clean_start_up_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    directory = _holidays(
        tmp_path,
        "collective_leave:\n  - {date: 2026-03-20, name: Cuti}\n  - {date: 2026-02-30, name: X}\n",
    )
    database = tmp_path / "never.db"
    monkeypatch.setenv("HOLIDAY_DIR", str(directory))
    monkeypatch.setenv("HOLIDAY_REGION", "")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.chdir(tmp_path)  # no .env from the developer's checkout
    assert cli.main(command) == 2
    err = capsys.readouterr().err
    assert err.startswith("configuration error: ")
    assert "2026.yaml line 3: '2026-02-30' is not a date" in err
    assert "Traceback" not in err
    assert not database.exists()  # nothing started


def test_good_holiday_files_let_the_command_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = _holidays(tmp_path, "collective_leave:\n  - {date: 2026-03-20, name: Cuti}\n")
    monkeypatch.setenv("HOLIDAY_DIR", str(directory))
    monkeypatch.setenv("HOLIDAY_REGION", "")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'ok.db'}")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["migrate"]) == 0
    assert "database is up to date" in capsys.readouterr().out
