"""The demo (`make run`) with X and YouTube: the README's Try-it POSTs to `/_demo/x/mention`,
`/_demo/x/dm` and `/_demo/youtube/comment` create posts in the fake APIs the demo mounts inside
the gateway; the pollers read them through tweepy and google-api-python-client over real HTTP,
and what the gateway answers shows on `/_demo`. Served on a real 127.0.0.1 port in demo mode."""

from __future__ import annotations

import asyncio
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from channels.fakes.server import FakeServer
from channels.registry import build_pollers
from config.messages import t
from config.settings import load_settings
from gateway.app import create_app
from gateway.complaints.tracking import find_code
from gateway.context import Gateway
from gateway.dev import demo
from gateway.jobs.pollers import PollerRunner
from gateway.jobs.scheduler import worker_id
from gateway.store.db import Database
from gateway.store.models import Complaint
from tests.gateway.test_demo_media import _LateApp


@pytest.fixture
def site(db: Database, db_url: str, tmp_path: Path) -> Iterator[tuple[str, Gateway]]:
    late = _LateApp()
    server = FakeServer(late)
    settings = load_settings(
        _env_file=None,
        app_env="development",
        database_url=db_url,
        data_dir=tmp_path / "var",
        public_base_url=server.base_url,
        scheduler_enabled=False,  # the test turns the pollers itself
        core_backend="manual",
        secret_key="test-secret-key-not-for-production",
    )
    assert demo.is_demo(settings)
    late.app = create_app(settings)
    server.start()
    try:
        yield server.base_url, late.app.state.gateway
    finally:
        server.stop()
        late.app.state.gateway.db.dispose()


def _turn(gateway: Gateway) -> None:
    """What the leader's pollers and the outbox do every few seconds in `make run`."""
    for poller in build_pollers(gateway.channels).values():
        asyncio.run(PollerRunner(gateway, poller).run_once())
    asyncio.run(gateway.dispatcher(worker_id()).drain())


def test_an_x_mention_then_dms_and_a_youtube_comment_in_the_demo(
    site: tuple[str, Gateway],
) -> None:
    base, gateway = site
    assert sorted(build_pollers(gateway.channels)) == [
        "email",
        "x_dm",
        "x_mentions",
        "youtube_comments",
    ]
    _turn(gateway)  # the first polls start from now

    def post(path: str, **form: Any) -> None:
        assert httpx.post(f"{base}{path}", data=form).status_code == 200

    post(
        "/_demo/x/mention",
        user="warga_kragan",
        text="Jalan di Desa Sumberjo Kragan berlubang besar, sudah dua motor jatuh",
    )
    _turn(gateway)
    page = httpx.get(f"{base}/_demo").text
    assert "@warga_kragan Terima kasih, sudah kami terima. Mohon lanjutkan lewat pesan" in page
    assert t("id", "bot.consent")[:40] in page
    post("/_demo/x/dm", user="warga_kragan", text="ya")
    _turn(gateway)
    post("/_demo/x/dm", user="warga_kragan", text="kirim")
    _turn(gateway)
    page = httpx.get(f"{base}/_demo").text
    assert find_code(page) is not None and "Laporan Anda sudah kami terima dengan kode" in page

    post(
        "/_demo/youtube/comment",
        user="WargaSluke",
        text="Lampu jalan di Desa Sluke mati semua sejak minggu lalu",
    )
    _turn(gateway)
    page = httpx.get(f"{base}/_demo").text
    assert "YouTube" in page and "Terima kasih, sudah kami catat dengan kode LPR-" in page
    assert f"{base}/status/LPR-" in page


def test_the_demo_leaves_configured_x_and_youtube_alone(tmp_path: Path) -> None:
    settings = load_settings(
        _env_file=None,
        app_env="development",
        data_dir=tmp_path / "var",
        x_user_id="123",
        x_bearer_token="real-looking-token",
        youtube_api_key="real-looking-key",
        youtube_channel_id="UCreal",
    )
    filled = demo.demo_settings(settings)
    assert demo.is_demo(settings) and filled.twilio_account_sid == demo.DEMO_TWILIO_SID
    assert filled.x_api_base_url == "https://api.x.com" and filled.x_user_id == "123"
    assert filled.youtube_api_base_url == "https://youtube.googleapis.com"
    assert filled.youtube_channel_id == "UCreal"


README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _readme_feed_commands() -> list[list[str]]:
    """The X and YouTube `curl` lines (and `sleep`s) of the README's Try it, as written."""
    try_it = README.split("## Try it", 1)[1].split("\n## ", 1)[0]
    [block] = [b for b in re.findall(r"```sh\n(.*?)```", try_it, re.DOTALL) if "/_demo/x/" in b]
    lines = [line.strip() for line in block.splitlines()]
    return [shlex.split(line) for line in lines if line and not line.startswith("#")]


def test_the_readme_x_and_youtube_commands_do_what_it_says(site: tuple[str, Gateway]) -> None:
    base, gateway = site
    _turn(gateway)
    commands = _readme_feed_commands()
    assert [c[0] for c in commands if c[0] != "sleep"] == ["curl"] * 4
    for command in commands:
        if command[0] == "sleep":  # the demo's poll; here the test turns it
            _turn(gateway)
            continue
        [url] = [arg for arg in command if arg.startswith("http://127.0.0.1:8000/")]
        form = dict(
            command[i + 1].split("=", 1)
            for i, arg in enumerate(command)
            if arg in ("-d", "--data-urlencode")
        )
        path = url.removeprefix("http://127.0.0.1:8000")
        assert httpx.post(f"{base}{path}", data=form).status_code == 200
    _turn(gateway)
    page = httpx.get(f"{base}/_demo").text
    assert "@warga_kragan Terima kasih, sudah kami terima. Mohon lanjutkan lewat pesan" in page
    assert "Laporan Anda sudah kami terima dengan kode LPR-" in page  # by DM, after KIRIM
    assert "Terima kasih, sudah kami catat dengan kode LPR-" in page  # under the comment
    with gateway.db.read_session() as session:
        origins = sorted(c.origin_channel for c in session.scalars(select(Complaint)))
    assert origins == ["x", "youtube"]
