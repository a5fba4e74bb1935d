"""Settings fail loudly and by name; logs never carry secrets or personal data."""

from __future__ import annotations

import json
import logging

import pytest

from config.settings import SettingsError, load_settings
from gateway import logs


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"database_url": "mysql://x"}, "DATABASE_URL"),
        ({"port": 0}, "PORT"),
        ({"public_base_url": "localhost:8000"}, "PUBLIC_BASE_URL"),
        ({"core_backend": "carrier-pigeon"}, "CORE_BACKEND"),
        ({"outbox_max_attempts": 0}, "OUTBOX_MAX_ATTEMPTS"),
    ],
)
def test_invalid_setting_names_the_variable(overrides: dict, variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        load_settings(_env_file=None, **overrides)


def test_environment_variable_is_named_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPLOAD_MAX_BYTES", "lots")
    with pytest.raises(SettingsError, match="UPLOAD_MAX_BYTES"):
        load_settings(_env_file=None)


def test_plain_postgresql_url_uses_psycopg3() -> None:
    settings = load_settings(_env_file=None, database_url="postgresql://u@h/db")
    assert settings.database_url == "postgresql+psycopg://u@h/db"


def test_secrets_do_not_show_in_repr() -> None:
    settings = load_settings(
        _env_file=None, twilio_auth_token="super-secret-token", telegram_bot_token="123456:ABCDEF"
    )
    assert "super-secret-token" not in repr(settings)
    assert "ABCDEF" not in str(settings.model_dump())


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        ("sending to +6281234567890 failed", "6281234567890"),
        ("reporter 081234567890 wrote", "081234567890"),
        ("mail budi.santoso@example.org bounced", "budi.santoso@example.org"),
        ("NIK 3317014506900001 in text", "3317014506900001"),
        (
            "GET https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe",
            "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        ),
        ("auth_token=abc123secret", "abc123secret"),
    ],
)
def test_log_lines_are_scrubbed(text: str, leaked: str) -> None:
    record = logging.makeLogRecord(
        {"msg": text, "levelname": "INFO", "name": "t", "recipient": text}
    )
    line = logs.JsonFormatter().format(record)
    assert leaked not in line
    assert json.loads(line)["level"] == "INFO"


def test_env_example_documents_every_setting_and_loads(
    tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathlib import Path

    from config.settings import Settings

    example = Path(__file__).resolve().parents[2] / ".env.example"
    names = {
        line.split("=", 1)[0].strip()
        for line in example.read_text().splitlines()
        if line and not line.startswith("#") and "=" in line
    }
    missing = {name.upper() for name in Settings.model_fields} - names
    assert not missing, f"settings not documented in .env.example: {sorted(missing)}"
    settings = load_settings(_env_file=example)
    assert settings.secret_key is None  # `SECRET_KEY=` means unset, not an empty secret
    assert settings.twilio_public_base_url is None


def test_the_public_url_follows_the_port_unless_it_is_set() -> None:
    """A second demo on another port (`PORT=8300`) must not send its fake providers' calls and
    `send-fixture` to the gateway on 8000."""
    assert load_settings(_env_file=None).public_base_url == "http://127.0.0.1:8000"
    assert load_settings(_env_file=None, port=8300).public_base_url == "http://127.0.0.1:8300"
    listening = load_settings(_env_file=None, host="0.0.0.0", port=8300)  # noqa: S104
    assert listening.public_base_url == "http://127.0.0.1:8300"
    chosen = load_settings(_env_file=None, port=8300, public_base_url="https://lapor.example.id/")
    assert chosen.public_base_url == "https://lapor.example.id"
    assert load_settings(_env_file=None, public_base_url="", port=8301).public_base_url.endswith(
        ":8301"
    )


def test_serve_on_another_port_tells_the_demo_where_it_is(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    import uvicorn

    from gateway import app as app_module
    from gateway import cli
    from gateway import logs as logs_module

    seen: dict[str, object] = {}
    monkeypatch.setattr(logs_module, "configure", lambda *args: None)
    monkeypatch.setattr(app_module, "create_app", lambda settings: seen.setdefault("s", settings))
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    assert cli.main(["serve", "--port", "8399"]) == 0
    assert seen["port"] == 8399
    assert seen["s"].public_base_url == "http://127.0.0.1:8399"  # type: ignore[attr-defined]
    assert "lapor-gateway on http://127.0.0.1:8399/lapor" in capsys.readouterr().out


def test_the_demos_own_polls_stay_out_of_the_access_log() -> None:
    """`make run` polls its fake X and YouTube every few seconds; those lines would bury what a
    person does in the terminal. Every other request is logged."""
    from gateway.logs import OwnPollsFilter

    def record(path: str) -> logging.LogRecord:
        return logging.makeLogRecord(
            {
                "name": "uvicorn.access",
                "msg": '%s - "%s %s HTTP/%s" %d',
                "args": ("127.0.0.1:5000", "GET", path, "1.1", 200),
            }
        )

    keep = OwnPollsFilter()
    assert not keep.filter(record("/_demo/x/api/2/users/1/mentions?max_results=100"))
    assert not keep.filter(record("/_demo/youtube/api/youtube/v3/commentThreads?part=snippet"))
    assert keep.filter(record("/_demo/x/mention"))  # a person making a post in the demo
    assert keep.filter(record("/webhooks/telegram"))
