"""In the demo (`make run`), liaison officers' WhatsApp notices go out as a template, as they
must once a 24-hour window is closed, so they reach the fake Twilio instead of dead letters."""

from __future__ import annotations

from config.settings import load_settings
from gateway.dev import demo


def test_demo_mode_has_a_template_for_liaison_notices(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = demo.demo_settings(
        load_settings(app_env="development", data_dir=tmp_path, _env_file=None)
    )
    assert settings.twilio_whatsapp_templates["notification"] == demo.DEMO_NOTIFICATION_TEMPLATE


def test_a_configured_template_wins_over_the_demo_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = demo.demo_settings(
        load_settings(
            app_env="development",
            data_dir=tmp_path,
            twilio_whatsapp_templates={"notification": "HX" + "1" * 32},
            _env_file=None,
        )
    )
    assert settings.twilio_whatsapp_templates["notification"] == "HX" + "1" * 32
