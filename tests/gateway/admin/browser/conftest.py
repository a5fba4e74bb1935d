"""Browser fixtures of the workplace tests (issue 18): the served app and Debian's chromium from
the admin browser tests, with the live list polling every second and, where a module asks for
it (`tile_url`), map tiles from a local tile server."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import Settings
from tests.channels.cases import channel_settings
from tests.conftest import RunningTwilio
from tests.gateway.admin.test_browser import (  # noqa: F401 - pytest fixtures by name
    browser,
    chromium,
    gateway,
    site,
)


@pytest.fixture
def tile_url() -> str:
    """No tiles: pins on a plain background with the kecamatan labels."""
    return ""


@pytest.fixture
def settings(tmp_path: Path, db_url: str, twilio: RunningTwilio, tile_url: str) -> Settings:
    return channel_settings(
        app_env="test",
        database_url=db_url,
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        secret_key="test-secret-key-not-for-production",
        public_base_url="http://127.0.0.1:8000",
        twilio_api_base_url=twilio.url,
        admin_live_poll_seconds=1,
        map_tile_url=tile_url,
        map_tile_attribution="Peta uji &copy; <b>lokal</b>",
    )
