"""The demo's mail (`make run`, gateway/dev/demo_mail.py), with real servers on 127.0.0.1: the
mail network (aiosmtpd) delivers a citizen's mail into the regency's mailbox (Dovecot, read by
the gateway's poller) or, where Dovecot is not installed, straight to the intake; the gateway's
receipt comes back through the same network and is what `/_demo` and `send-mail --reply` read."""

from __future__ import annotations

import asyncio
import shutil
import smtplib
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from channels.fakes.mailserver import dovecot_binary
from channels.registry import build_pollers
from gateway.context import Gateway
from gateway.dev import demo_mail
from gateway.jobs.pollers import PollerRunner
from gateway.jobs.scheduler import worker_id
from gateway.store.db import Database
from gateway.store.models import Complaint
from tests.channels.cases import channel_settings
from tests.channels.conftest import PROJECT


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _gateway(db: Database, db_url: str, data_dir: Path) -> Gateway:
    base = channel_settings(
        database_url=db_url,
        data_dir=data_dir,
        scheduler_enabled=False,
        app_env="test",
        secret_key="test-secret-key-not-for-production",
        core_backend="manual",
        demo_smtp_port=_free_port(),
        demo_imap_port=_free_port(),
        x_user_id="",
        youtube_api_key=None,
        youtube_channel_id="",
    )
    assert demo_mail.wanted(base)
    settings = base.model_copy(update={**demo_mail.settings_update(base), "imap_idle": False})
    return Gateway.create(settings, db=db)


@pytest.fixture
def running(db: Database, db_url: str) -> Iterator[Any]:
    # Under the project's var/, as `make run` has it: Dovecot's unprivileged processes must be
    # able to read the mailbox's files (pytest's tmp_path is private to its user).
    data_dir = PROJECT / "var" / f"test-demo-mail-{uuid.uuid4().hex[:8]}"

    def start(*, with_dovecot: bool) -> tuple[Gateway, demo_mail.DemoMail]:
        if with_dovecot and dovecot_binary() is None:
            pytest.skip("dovecot is not installed (make mail-deps)")
        gateway = _gateway(db, db_url, data_dir)
        if not with_dovecot:  # a machine where Dovecot could not be installed
            gateway.settings = gateway.settings.model_copy(update={"imap_host": ""})
        mail = demo_mail.DemoMail(gateway)
        mail.start()
        started.append(mail)
        return gateway, mail

    started: list[demo_mail.DemoMail] = []
    yield start
    for mail in started:
        mail.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


def _send(gateway: Gateway, **kw: Any) -> None:
    mail = demo_mail.citizen_mail(gateway.settings, sender="budi@contoh.test", **kw)
    with smtplib.SMTP("127.0.0.1", gateway.settings.demo_smtp_port, timeout=10) as smtp:
        smtp.send_message(mail)


def _until(check: Any, seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    return check()


def _complaints(gateway: Gateway) -> list[Complaint]:
    with gateway.db.read_session() as session:
        return list(session.scalars(select(Complaint).order_by(Complaint.id)))


@pytest.mark.parametrize("with_dovecot", [True, False], ids=["dovecot", "no-dovecot"])
def test_the_demo_mail_loop(running: Any, with_dovecot: bool) -> None:
    gateway, _mail = running(with_dovecot=with_dovecot)
    poll = None
    if with_dovecot:
        runner = PollerRunner(gateway, build_pollers(gateway.channels)["email"])
        asyncio.run(runner.run_once())  # the first poll starts from now

        def poll() -> list[int]:
            return asyncio.run(runner.run_once()).stored

    text = "Jalan di Desa Pasarbanggi RT 02 berlubang besar sejak sebulan, motor sering jatuh."
    _send(gateway, text=text, subject="Jalan rusak di Desa Pasarbanggi", reply=False)
    if poll is not None:
        assert _until(poll)
    [complaint] = _until(lambda: _complaints(gateway))
    assert complaint.origin_channel == "email" and complaint.reply_address == "budi@contoh.test"

    # The receipt leaves through the network and lands where /_demo reads it.
    asyncio.run(gateway.dispatcher(worker_id()).drain())
    [receipt] = _until(lambda: demo_mail.read_sent(gateway.settings))
    assert receipt.to == "budi@contoh.test" and complaint.tracking_code in receipt.subject
    assert f"kode {complaint.tracking_code}" in receipt.text

    # `send-mail --reply` answers it in its thread: the same complaint.
    _send(gateway, text="Tambahan: di depan balai desa.", subject=None, reply=True)
    if poll is not None:
        assert _until(poll)
    assert _until(lambda: len(demo_mail.read_sent(gateway.settings)) == 1 and _complaints(gateway))
    assert len(_complaints(gateway)) == 1
    asyncio.run(gateway.dispatcher(worker_id()).drain())
    added = _until(lambda: len(demo_mail.read_sent(gateway.settings)) == 2)
    assert (
        added and "Tambahan Anda sudah kami catat" in demo_mail.read_sent(gateway.settings)[0].text
    )


def test_reply_needs_a_mail_to_answer(tmp_path: Path) -> None:
    settings = channel_settings(data_dir=tmp_path / "var")
    with pytest.raises(LookupError):
        demo_mail.citizen_mail(
            settings, sender="x@contoh.test", text="hai", subject=None, reply=True
        )
