"""Fake providers of the polled channels (X, YouTube), started once per session and emptied
before each test; the real mail servers are in `tests/mail_servers.py`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from channels.fakes.server import FakeServer
from channels.fakes.x_api import FakeX
from channels.fakes.youtube_api import FakeYouTube
from tests.channels.cases import (
    TEST_X_ACCESS_SECRET,
    TEST_X_ACCESS_TOKEN,
    TEST_X_BEARER,
    TEST_X_CONSUMER_KEY,
    TEST_X_CONSUMER_SECRET,
    TEST_X_USER_ID,
)


@dataclass
class RunningX:
    fake: FakeX
    url: str


@pytest.fixture(scope="session")
def _x_server() -> Iterator[RunningX]:
    fake = FakeX(
        user_id=TEST_X_USER_ID,
        bearer_token=TEST_X_BEARER,
        consumer_key=TEST_X_CONSUMER_KEY,
        consumer_secret=TEST_X_CONSUMER_SECRET,
        access_token=TEST_X_ACCESS_TOKEN,
        access_token_secret=TEST_X_ACCESS_SECRET,
    )
    server = FakeServer(fake.app)
    yield RunningX(fake, server.start())
    server.stop()


@pytest.fixture
def x_api(_x_server: RunningX) -> RunningX:
    _x_server.fake.reset()
    return _x_server


@dataclass
class RunningYouTube:
    fake: FakeYouTube
    url: str


@pytest.fixture(scope="session")
def _youtube_server() -> Iterator[RunningYouTube]:
    fake = FakeYouTube()
    server = FakeServer(fake.app)
    yield RunningYouTube(fake, server.start())
    server.stop()


@pytest.fixture
def youtube_api(_youtube_server: RunningYouTube) -> RunningYouTube:
    _youtube_server.fake.reset()
    return _youtube_server
