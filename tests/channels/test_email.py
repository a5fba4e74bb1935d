"""E-mail: the mail table (parse_mail over the fixtures), the poller against a real Dovecot on
127.0.0.1 (UID cursor, batches, UIDVALIDITY change, IDLE, failures), attachments from the spool
and from IMAP, and replies through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import shutil
import threading
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from channels.base import Media, MediaError, OutboundMessage, PollError, PollResult, ReplyMode
from channels.email import EmailChannel, UidCursor, parse_mail
from channels.fakes.server import closed_port_url
from tests.channels.cases import FIXTURES, _resolve, channel_settings
from tests.channels.conftest import ImapAccount, RunningSmtp
from tests.channels.feed_cases import PollCase, email_cases

OURS = "pengaduan@lapor.test"
NOW = datetime(2024, 11, 21, 10, 0, tzinfo=UTC)


def _fixture(name: str) -> bytes:
    return (FIXTURES / "email" / name).read_bytes()


def _channel(tmp_path: Path, account: ImapAccount | None = None, **overrides: Any) -> EmailChannel:
    values: dict[str, Any] = {"email_address": OURS, "data_dir": tmp_path / "var"}
    if account is not None:
        values |= {
            "imap_host": "127.0.0.1",
            "imap_port": account.server.port,
            "imap_security": "none",
            "imap_user": account.user,
            "imap_password": account.password,
        }
    values.update(overrides)
    return EmailChannel(channel_settings(**values), now=lambda: NOW)


def _check(message, expected) -> None:  # type: ignore[no-untyped-def]
    assert (message.channel, message.sender, message.external_id, message.text) == (
        "email",
        expected.sender,
        expected.external_id,
        expected.text,
    )
    assert len(message.media) == expected.media
    for path, value in expected.also.items():
        assert _resolve(message, path) == value, path


@pytest.mark.parametrize("case", email_cases(), ids=lambda case: case.label)
def test_mail_case(tmp_path: Path, case: PollCase) -> None:
    channel = _channel(tmp_path, imap_host="mail.test", imap_user=OURS)
    message = channel.read(_fixture(case.fixture), uidvalidity=7, uid=42)
    _check(message, case.messages[0])
    for index, media in enumerate(message.media):  # attachments are in the spool, ready to store
        assert media.ref and media.ref.startswith("mail:")
        assert media.url == (
            f"imap://pengaduan%40lapor.test@mail.test/INBOX;UIDVALIDITY=7/;UID=42/;"
            f"SECTION=attachment.{index}"
        )
        data, kind = asyncio.run(channel.download(media, 10_000_000))
        assert len(data) == media.size and kind == media.content_type


def _big_mail(size: int) -> bytes:
    mail = EmailMessage()
    mail["From"] = "Budi <budi.santoso@contoh.test>"
    mail["To"] = OURS
    mail["Subject"] = "Video jalan rusak"
    mail["Message-ID"] = "<big-0001@contoh.test>"
    mail.set_content("Videonya terlampir.")
    mail.add_attachment(b"\x00" * size, maintype="video", subtype="mp4", filename="jalan.mp4")
    return mail.as_bytes()


def test_a_huge_attachment_is_listed_and_left_in_the_mailbox(tmp_path: Path) -> None:
    channel = _channel(tmp_path, email_attachment_max_bytes=2048)
    message = channel.read(_big_mail(5000), uidvalidity=1, uid=1)
    assert message.text == "Videonya terlampir."
    (video,) = message.media
    assert (video.ref, video.size, video.filename) == (None, 5000, "jalan.mp4")
    assert message.extra["large_attachments"] == "left in the mailbox"
    with pytest.raises(MediaError) as caught:
        asyncio.run(channel.download(video, 4096))
    assert not caught.value.retryable


def test_our_own_reply_read_back_is_automatic(tmp_path: Path) -> None:
    """Two auto-responders cannot loop: what we send is recognised as automatic."""
    channel = _channel(tmp_path)
    sent = channel.compose(_reply("Terima kasih, laporan Anda kami terima."))
    parsed = parse_mail(sent.as_bytes(), our_address="other@lapor.test", now=NOW)
    assert parsed.message.extra["automatic"] == "Auto-Submitted: auto-replied"


# --- polling a real Dovecot --------------------------------------------------------------------


def _poll(channel: EmailChannel, cursor: str | None) -> PollResult:
    return asyncio.run(channel.pollers()[0].fetch(cursor))


def test_first_poll_starts_from_now_then_reads_new_mail_once(
    tmp_path: Path, imap_account: ImapAccount
) -> None:
    imap_account.append(_fixture("plain_complaint.eml"))  # there before we started
    channel = _channel(tmp_path, imap_account)
    first = _poll(channel, None)
    assert (first.messages, first.cost) == ([], 0)
    for name in ("html_only.eml", "attachments.eml", "auto_reply.eml"):
        imap_account.append(_fixture(name))
    second = _poll(channel, first.cursor)
    assert [m.external_id for m in second.messages] == [
        "<fake-0003@web.contoh.test>",
        "<CAfake-0004@mail.contoh.test>",
        "<fake-0008@contoh.test>",
    ]
    assert second.messages[2].extra["automatic"] == "Auto-Submitted: auto-replied"
    assert "Message-ID: <fake-0003@web.contoh.test>" in second.raw["<fake-0003@web.contoh.test>"]
    cursor = UidCursor.loads(second.cursor)
    assert cursor is not None and cursor.uid == 4
    assert _poll(channel, second.cursor).messages == []
    with imap_account.box() as box:  # read without a trace: nothing marked seen
        assert all("\\Seen" not in m.flags for m in box.fetch(mark_seen=False))


def test_batches_continue_where_they_stopped(tmp_path: Path, imap_account: ImapAccount) -> None:
    channel = _channel(tmp_path, imap_account, email_batch_size=2)
    cursor = _poll(channel, None).cursor
    names = sorted(p.name for p in (FIXTURES / "email").iterdir())[:5]
    for name in names:
        imap_account.append(_fixture(name))
    seen, rounds = [], 0
    while True:
        result = _poll(channel, cursor)
        seen += [m.external_id for m in result.messages]
        cursor, rounds = result.cursor, rounds + 1
        if not result.more:
            break
    assert rounds == 3 and len(seen) == len(set(seen)) == 5


def test_uidvalidity_change_reads_again_and_loses_nothing(
    tmp_path: Path, imap_account: ImapAccount
) -> None:
    with imap_account.box() as box:
        box.folder.create("Pengaduan")
    channel = _channel(tmp_path, imap_account, imap_mailbox="Pengaduan")
    start = _poll(channel, None).cursor
    imap_account.append(_fixture("plain_complaint.eml"), "Pengaduan")
    first = _poll(channel, start)
    assert len(first.messages) == 1
    with imap_account.box() as box:  # the mailbox is recreated: UIDs start again
        box.folder.delete("Pengaduan")
        box.folder.create("Pengaduan")
    imap_account.append(_fixture("plain_complaint.eml"), "Pengaduan")
    imap_account.append(_fixture("html_only.eml"), "Pengaduan")
    second = _poll(channel, first.cursor)
    old, new = UidCursor.loads(first.cursor), UidCursor.loads(second.cursor)
    assert old and new and old.uidvalidity != new.uidvalidity
    # Everything since the last mail's day is read again; intake drops the known Message-ID.
    assert {m.external_id for m in second.messages} == {
        "<CAfake-0001@mail.contoh.test>",
        "<fake-0003@web.contoh.test>",
    }
    assert _poll(channel, second.cursor).messages == []


def test_wrong_password_is_permanent_and_a_dead_server_retryable(
    tmp_path: Path, imap_account: ImapAccount
) -> None:
    with pytest.raises(PollError) as caught:
        _poll(_channel(tmp_path, imap_account, imap_password="wrong"), None)
    assert not caught.value.retryable
    port = int(closed_port_url().rsplit(":", 1)[1])
    with pytest.raises(PollError) as caught:
        _poll(_channel(tmp_path, imap_account, imap_port=port), None)
    assert caught.value.retryable


def test_idle_wakes_up_when_mail_arrives(tmp_path: Path, imap_account: ImapAccount) -> None:
    channel = _channel(tmp_path, imap_account)
    poller = channel.pollers()[0]
    timer = threading.Timer(1.0, imap_account.append, args=(_fixture("plain_complaint.eml"),))
    timer.start()
    started = time.monotonic()
    asyncio.run(poller.wait_for_news(20))
    timer.join()
    assert time.monotonic() - started < 10


def test_attachments_come_from_the_spool_or_again_from_imap(
    tmp_path: Path, imap_account: ImapAccount
) -> None:
    channel = _channel(tmp_path, imap_account)
    cursor = _poll(channel, None).cursor
    imap_account.append(_fixture("attachments.eml"))
    (message,) = _poll(channel, cursor).messages
    photo, pdf = message.media
    expected = asyncio.run(channel.download(photo, 1_000_000))
    shutil.rmtree(tmp_path / "var" / "mail")  # another instance: no spool here
    assert asyncio.run(channel.download(photo, 1_000_000)) == expected
    assert asyncio.run(channel.download(pdf, 1_000_000))[0].startswith(b"%PDF")
    gone = Media(url=photo.url.replace(";UID=1/", ";UID=99/"), ref=None, content_type="image/jpeg")
    with pytest.raises(MediaError) as caught:
        asyncio.run(channel.download(gone, 1_000_000))
    assert not caught.value.retryable


# --- replies over SMTP -------------------------------------------------------------------------


def _reply(text: str, **changes: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "channel": "email",
        "recipient": "siti.aminah@contoh.test",
        "text": text,
        "idempotency_key": "answer:42",
        "reply_to": "<CAfake-0002@mail.contoh.test>",
        "template_variables": {
            "subject": "Jawaban atas laporan Anda",
            "tracking_code": "LPR-7K3M9Q",
            "references": "<CAfake-0000@mail.contoh.test>",
        },
    }
    values.update(changes)
    return OutboundMessage(**values)


def _smtp_channel(tmp_path: Path, smtp: RunningSmtp | None, **overrides: Any) -> EmailChannel:
    port = smtp.port if smtp else int(closed_port_url().rsplit(":", 1)[1])
    values = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}
    return _channel(tmp_path, **{**values, **overrides})


def test_reply_threads_under_the_citizens_mail(tmp_path: Path, smtp_server: RunningSmtp) -> None:
    text = "Yth. Ibu Siti,\n\nLampu di tiang nomor 14 sudah diganti <hari ini>.\n\nSalam, LAPOR!"
    result = asyncio.run(_smtp_channel(tmp_path, smtp_server).send(_reply(text)))
    assert result.ok
    (envelope,) = smtp_server.sink.received
    assert (envelope.mail_from, envelope.rcpt_tos) == (OURS, ["siti.aminah@contoh.test"])
    mail = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert mail["Subject"] == "[LPR-7K3M9Q] Jawaban atas laporan Anda"
    assert mail["In-Reply-To"] == "<CAfake-0002@mail.contoh.test>"
    assert mail["References"] == "<CAfake-0000@mail.contoh.test> <CAfake-0002@mail.contoh.test>"
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["Message-ID"] == result.provider_message_id
    assert mail.get_content_type() == "multipart/alternative"
    plain = mail.get_body(("plain",)).get_content()
    markup = mail.get_body(("html",)).get_content()
    assert "tiang nomor 14" in plain and "&lt;hari ini&gt;" in markup and "<p>" in markup
    again = asyncio.run(_smtp_channel(tmp_path, smtp_server).send(_reply(text)))
    assert again.provider_message_id == result.provider_message_id  # a retry is the same mail


@pytest.mark.parametrize(
    ("refuse", "message", "smtp", "retryable", "mentions"),
    [
        ("550 5.1.1 No such user", None, True, False, "550"),
        ("450 4.2.0 Mailbox busy", None, True, True, "450"),
        (None, None, False, True, "unreachable"),
        (None, _reply("Halo", recipient="+6281234560001"), True, False, "not an e-mail"),
        (None, _reply("Halo", reply_mode=ReplyMode.PUBLIC), True, False, "public"),
    ],
    ids=["refused recipient", "busy mailbox", "server down", "not an address", "public"],
)
def test_send_failures(
    tmp_path: Path, smtp_server: RunningSmtp, refuse, message, smtp, retryable, mentions
) -> None:  # type: ignore[no-untyped-def]
    smtp_server.sink.refuse = refuse
    channel = _smtp_channel(tmp_path, smtp_server if smtp else None)
    result = asyncio.run(channel.send(message or _reply("Halo")))
    assert not result.ok and result.retryable is retryable
    assert mentions in (result.error or "")


def test_a_hostile_mail_is_read_and_cleaned(tmp_path: Path) -> None:
    """A Message-ID longer than the column, an address of 300 characters, U+0000, a date in the
    year 9999 and a body over EMAIL_MAX_CHARS: the mail is kept, readable by any database."""
    mail = EmailMessage()
    mail["From"] = "x" * 290 + "@contoh.test"
    mail["To"] = OURS
    mail["Subject"] = "Aduan\x00 jalan"
    mail["Message-ID"] = "<" + "m" * 300 + "@contoh.test>"
    mail["Date"] = "Fri, 31 Dec 9999 23:00:00 +0000"
    mail.set_content("Jalan\x00 rusak " + "parah " * 5000)
    raw = mail.as_bytes()
    message = _channel(tmp_path, email_max_chars=1000).read(raw, uidvalidity=1, uid=1)
    assert message.external_id.startswith("sha256:") and message.thread_ref is None
    assert message.sender == ""
    assert message.text.startswith("Jalan rusak parah") and len(message.text) == 1000
    assert message.extra["text_truncated"] == "1000" and int(message.extra["text_chars"]) > 30000
    assert message.extra["subject"] == "Aduan jalan"
    assert message.received_at == NOW and message.extra["provider_time"].startswith("9999-12-31")


def test_an_attachment_name_with_nul_and_surrogates_is_cleaned(tmp_path: Path) -> None:
    mail = EmailMessage()
    mail["From"] = "Budi <budi.santoso@contoh.test>"
    mail["To"] = OURS
    mail["Subject"] = "Foto"
    mail["Message-ID"] = "<foto-0001@contoh.test>"
    mail.set_content("Fotonya terlampir.")
    mail.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="a\x00b.pdf")
    message = _channel(tmp_path).read(mail.as_bytes(), uidvalidity=1, uid=1)
    [attachment] = message.media
    assert attachment.filename is not None and "\x00" not in attachment.filename
