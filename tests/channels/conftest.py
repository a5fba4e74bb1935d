"""Fake providers of the polled channels (X, YouTube), started once per session and emptied
before each test, and the real mail servers for e-mail (Dovecot, aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from imap_tools import MailBoxUnencrypted

from channels.fakes.mailserver import Dovecot, dovecot_binary
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


# --- real mail servers: Debian's Dovecot (IMAP) and aiosmtpd (SMTP) on 127.0.0.1 ------------

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """One Dovecot for the session, configured under the project's var/ (installed by
    `make mail-deps`, which `make test` runs first)."""
    if dovecot_binary() is None:
        reason = "dovecot is not installed: `make mail-deps` installs Debian's dovecot-imapd"
        if os.environ.get("REQUIRE_POSTGRES") == "1":  # CI: the mail tests must run
            pytest.fail(reason)
        pytest.skip(reason)
    root = PROJECT / "var" / f"test-dovecot-{os.getpid()}"
    server = Dovecot(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class ImapAccount:
    server: Dovecot
    user: str
    password: str

    def box(self) -> MailBoxUnencrypted:
        return MailBoxUnencrypted("127.0.0.1", self.server.port).login(self.user, self.password)

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        with self.box() as box:
            box.append(raw, folder)


@pytest.fixture
def imap_account(dovecot: Dovecot) -> ImapAccount:
    """A fresh, empty mailbox of its own for each test."""
    user = f"pengaduan-{uuid.uuid4().hex[:10]}@lapor.test"
    password = uuid.uuid4().hex
    dovecot.add_user(user, password)
    return ImapAccount(dovecot, user, password)


class SmtpSink:
    """aiosmtpd handler keeping what it receives; `refuse` answers RCPT with an error."""

    def __init__(self) -> None:
        self.received: list[Envelope] = []
        self.refuse: str | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.received.append(envelope)
        return "250 Message accepted for delivery"


@dataclass
class RunningSmtp:
    sink: SmtpSink
    port: int


@pytest.fixture(scope="session")
def _smtp_server() -> Iterator[RunningSmtp]:
    sink = SmtpSink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield RunningSmtp(sink, port)
    controller.stop()


@pytest.fixture
def smtp_server(_smtp_server: RunningSmtp) -> RunningSmtp:
    _smtp_server.sink.received.clear()
    _smtp_server.sink.refuse = None
    return _smtp_server
