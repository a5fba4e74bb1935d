"""Fake providers for the channel tests: started once per session, emptied before each test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.channels.cases import TEST_TELEGRAM_TOKEN, TEST_TWILIO_ACCOUNT_SID, TEST_TWILIO_TOKEN
from tests.fakes.server import FakeServer
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio


@dataclass
class RunningTwilio:
    fake: FakeTwilio
    url: str


@dataclass
class RunningTelegram:
    fake: FakeTelegram
    url: str


@pytest.fixture(scope="session")
def _twilio_server() -> Iterator[RunningTwilio]:
    fake = FakeTwilio(account_sid=TEST_TWILIO_ACCOUNT_SID, auth_token=TEST_TWILIO_TOKEN)
    server = FakeServer(fake.app)
    yield RunningTwilio(fake, server.start())
    server.stop()


@pytest.fixture(scope="session")
def _telegram_server() -> Iterator[RunningTelegram]:
    fake = FakeTelegram(token=TEST_TELEGRAM_TOKEN)
    server = FakeServer(fake.app)
    yield RunningTelegram(fake, server.start())
    server.stop()


@pytest.fixture
def twilio(_twilio_server: RunningTwilio) -> RunningTwilio:
    _twilio_server.fake.reset()
    return _twilio_server


@pytest.fixture
def telegram(_telegram_server: RunningTelegram) -> RunningTelegram:
    _telegram_server.fake.reset()
    return _telegram_server
