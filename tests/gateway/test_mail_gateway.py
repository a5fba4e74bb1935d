"""The complaint mailbox end to end, against the real servers on 127.0.0.1: Dovecot (IMAP, read
by the poller through the gateway's runner) and aiosmtpd (SMTP, where the gateway's replies
arrive). A mail becomes a complaint, the receipt answers in its thread with the code in the
subject, replies join the complaint, the core's answer goes back threaded; automatic mail is
never answered; a web-form reporter who left an e-mail address gets answers by e-mail."""

from __future__ import annotations

import asyncio
import email
import email.policy
import email.utils
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from channels.registry import build_pollers
from forwarder.base import CoreEvent, CoreEventKind
from gateway.admin.directory import load_directory, sync_directory
from gateway.complaints.tracking import find_code
from gateway.context import Gateway
from gateway.core import sync as core_sync
from gateway.jobs.pollers import PollerRunner
from gateway.jobs.scheduler import worker_id
from gateway.store.db import Database
from gateway.store.models import (
    Complaint,
    ComplaintEvent,
    InboundMessage,
    InboundStatus,
    OutboxItem,
    Status,
)
from tests.channels.cases import FIXTURES, channel_settings
from tests.channels.conftest import ImapAccount, RunningSmtp
from tests.gateway.factories import verify_and_dispose

OURS = "pengaduan@lapor.test"
CITIZEN = "budi.santoso@contoh.test"
ANSWER = "Jalan di Desa Pasarbanggi sudah ditambal tim DPUPR pada 20 November."


@dataclass
class MailEnv:
    gateway: Gateway
    imap: ImapAccount
    smtp: RunningSmtp
    runner: PollerRunner

    def poll(self) -> list[int]:
        return asyncio.run(self.runner.run_once()).stored

    def dispatch(self) -> int:
        return asyncio.run(self.gateway.dispatcher(worker_id()).drain())

    def deliver(self, mail: EmailMessage | bytes) -> None:
        """The citizen's mail arrives in the regency's mailbox."""
        self.imap.append(mail if isinstance(mail, bytes) else mail.as_bytes())

    def sent(self) -> list[EmailMessage]:
        """What the gateway sent over SMTP, oldest first."""
        return [
            email.message_from_bytes(e.original_content or b"", policy=email.policy.default)  # type: ignore[misc]
            for e in self.smtp.sink.received
        ]


def citizen_mail(
    text: str,
    *,
    subject: str = "Jalan rusak di Desa Pasarbanggi",
    sender: str = CITIZEN,
    in_reply_to: str | None = None,
    references: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = email.utils.formataddr(("Budi Santoso", sender))
    mail["To"] = OURS
    mail["Subject"] = subject
    mail["Date"] = email.utils.format_datetime(datetime.now(UTC))
    mail["Message-ID"] = f"<{uuid.uuid4().hex}@mail.contoh.test>"
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
        mail["References"] = references or in_reply_to
    for name, value in (headers or {}).items():
        mail[name] = value
    mail.set_content(text)
    return mail


def _settings(db_url: str, tmp_path: Path, imap: ImapAccount, smtp: RunningSmtp, **more: Any):  # type: ignore[no-untyped-def]
    return channel_settings(
        database_url=db_url,
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        app_env="test",
        secret_key="test-secret-key-not-for-production",
        core_backend="manual",
        email_address=OURS,
        email_from_name="LAPOR! Rembang",
        imap_host="127.0.0.1",
        imap_port=imap.server.port,
        imap_security="none",
        imap_user=imap.user,
        imap_password=imap.password,
        imap_idle=False,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
        # Only the mailbox is polled here.
        x_user_id="",
        youtube_api_key=None,
        youtube_channel_id="",
        **more,
    )


@pytest.fixture
def env(
    db: Database, db_url: str, tmp_path: Path, imap_account: ImapAccount, smtp_server: RunningSmtp
) -> Iterator[MailEnv]:
    settings = _settings(db_url, tmp_path, imap_account, smtp_server)
    gateway = Gateway.create(settings, db=db)
    with gateway.db.session() as session:
        sync_directory(session, load_directory(settings.agency_directory_file))
        session.commit()
    runner = PollerRunner(gateway, build_pollers(gateway.channels)["email"])
    mail_env = MailEnv(gateway, imap_account, smtp_server, runner)
    mail_env.poll()  # the first poll starts from now
    yield mail_env


def _complaint(gateway: Gateway, code: str) -> Complaint:
    with gateway.db.read_session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert complaint is not None
        return complaint


def _complaints(gateway: Gateway) -> list[Complaint]:
    with gateway.db.read_session() as session:
        return list(session.scalars(select(Complaint).order_by(Complaint.id)))


def _events(gateway: Gateway, complaint_id: int) -> list[ComplaintEvent]:
    with gateway.db.read_session() as session:
        return list(
            session.scalars(
                select(ComplaintEvent)
                .where(ComplaintEvent.complaint_id == complaint_id)
                .order_by(ComplaintEvent.id)
            )
        )


def _verify_dispose(gateway: Gateway, code: str) -> None:
    verify_and_dispose(gateway, code, title="Jalan di Desa Pasarbanggi berlubang")
    with gateway.db.session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert complaint is not None
        complaint.core_ref = f"CORE-{code}"  # what the manual backend's admin typed back
        session.add(complaint)
        session.commit()


def _core_answers(gateway: Gateway, code: str) -> None:
    event = CoreEvent(
        event_id=f"answer-{code}",
        core_id=f"CORE-{code}",
        kind=CoreEventKind.ANSWER,
        occurred_at=datetime.now(UTC),
        text=ANSWER,
    )
    assert core_sync.apply_event(gateway, event, "push") != "unknown report"


def _ids(value: str | None) -> list[str]:
    return (value or "").split()


# --- a mail, its thread, the answer ---------------------------------------------------------


def test_a_mail_becomes_a_complaint_and_every_reply_stays_in_its_thread(env: MailEnv) -> None:
    first = citizen_mail(
        "Selamat siang,\n\nJalan di Desa Pasarbanggi RT 02 berlubang besar sejak sebulan, sudah "
        "dua pengendara motor jatuh. Mohon segera diperbaiki.\n\n-- \nBudi Santoso\n0812 0000 1111"
    )
    env.deliver(first)
    assert len(env.poll()) == 1
    [complaint] = _complaints(env.gateway)
    code = complaint.tracking_code
    assert complaint.origin_channel == "email" and complaint.reply_address == CITIZEN
    assert (
        "Pasarbanggi" in complaint.original_text and "0812 0000 1111" not in complaint.original_text
    )
    assert complaint.original_text.startswith("Jalan rusak di Desa Pasarbanggi")  # the subject

    # The receipt: in the citizen's thread, the code in the subject, plain text and HTML.
    assert env.dispatch() == 1
    [receipt] = env.sent()
    assert receipt["To"] == CITIZEN
    assert receipt["In-Reply-To"] == first["Message-ID"]
    assert first["Message-ID"] in _ids(receipt["References"])
    assert receipt["Subject"] == f"[{code}] Re: Jalan rusak di Desa Pasarbanggi"
    assert receipt["Auto-Submitted"] == "auto-replied"
    plain = receipt.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = receipt.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert f"kode {code}" in plain and code in html and "<p>" in html
    assert find_code(plain) == code

    # A reply without the code in its subject still joins, by In-Reply-To.
    addition = citizen_mail(
        "Tambahan: lubangnya di depan balai desa.\n\n> Laporan Anda sudah kami terima",
        subject="Re: Jalan rusak di Desa Pasarbanggi",
        in_reply_to=receipt["Message-ID"],
        references=f"{first['Message-ID']} {receipt['Message-ID']}",
    )
    env.deliver(addition)
    env.poll()
    assert len(_complaints(env.gateway)) == 1
    notes = [e.note for e in _events(env.gateway, complaint.id) if e.action == "reporter_message"]
    assert notes == ["Tambahan: lubangnya di depan balai desa."]  # the quote cut off
    env.dispatch()
    ack = env.sent()[-1]
    assert ack["In-Reply-To"] == addition["Message-ID"] and code in ack["Subject"]

    # Verified, disposed, answered by the core: the answer goes back in the same thread.
    _verify_dispose(env.gateway, code)
    _core_answers(env.gateway, code)
    env.dispatch()
    answer = next(m for m in env.sent() if ANSWER in m.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert answer["To"] == CITIZEN and code in answer["Subject"]
    assert answer["In-Reply-To"] == addition["Message-ID"]
    assert {first["Message-ID"], receipt["Message-ID"], addition["Message-ID"]} <= set(
        _ids(answer["References"])
    )

    # The citizen answers PUAS by mail, with the code in the subject only: the case closes.
    env.deliver(citizen_mail("PUAS", subject=f"Re: [{code}] Jalan rusak"))
    env.poll()
    assert _complaint(env.gateway, code).status == Status.CLOSED
    assert len(_complaints(env.gateway)) == 1


def test_the_same_mail_read_twice_is_one_complaint_and_one_receipt(env: MailEnv) -> None:
    mail = citizen_mail("Lampu jalan di depan SD 1 Leteh mati sejak seminggu.")
    env.deliver(mail)
    env.deliver(mail)  # the same Message-ID again (a client that sent it twice)
    env.poll()
    assert len(_complaints(env.gateway)) == 1
    assert env.dispatch() == 1


def test_a_stranger_cannot_join_a_complaint_by_its_code(env: MailEnv) -> None:
    env.deliver(citizen_mail("Sampah menumpuk di Pasar Rembang sejak tiga hari."))
    env.poll()
    [first] = _complaints(env.gateway)
    env.deliver(
        citizen_mail(
            "Saya juga mau lapor: got mampet di Jalan Pemuda.",
            subject=f"Re: [{first.tracking_code}] Sampah",
            sender="orang.lain@contoh.test",
        )
    )
    env.poll()
    complaints = _complaints(env.gateway)
    assert len(complaints) == 2 and complaints[1].reply_address == "orang.lain@contoh.test"
    assert not [e for e in _events(env.gateway, first.id) if e.action == "reporter_message"]


# --- automatic mail -------------------------------------------------------------------------

AUTOMATIC = [
    ("auto_reply.eml", "Auto-Submitted"),
    ("bounce_dsn.eml", "DSN"),
    ("bulk_newsletter.eml", "Precedence"),
    ("outlook_suppress.eml", "X-Auto-Response-Suppress"),
    ("own_address.eml", "own"),
]


@pytest.mark.parametrize(("fixture", "why"), AUTOMATIC, ids=[a[0] for a in AUTOMATIC])
def test_automatic_mail_is_kept_and_never_answered(env: MailEnv, fixture: str, why: str) -> None:
    env.deliver((FIXTURES / "email" / fixture).read_bytes())
    assert len(env.poll()) == 1
    assert _complaints(env.gateway) == []
    assert env.dispatch() == 0 and env.sent() == []
    with env.gateway.db.read_session() as session:
        [row] = session.scalars(select(InboundMessage)).all()
    assert row.status == InboundStatus.IGNORED and why.lower() in (row.last_error or "").lower()


def test_an_auto_reply_in_a_thread_is_noted_and_two_responders_cannot_loop(env: MailEnv) -> None:
    first = citizen_mail("Air PDAM di Kelurahan Leteh mati tiga hari, tolong dicek.")
    env.deliver(first)
    env.poll()
    env.dispatch()
    [receipt] = env.sent()
    [complaint] = _complaints(env.gateway)
    # The citizen's out-of-office answers our receipt; and answers again, and again.
    for _ in range(3):
        env.deliver(
            citizen_mail(
                "Saya sedang cuti sampai 25 November.",
                subject=f"Otomatis: {receipt['Subject']}",
                in_reply_to=receipt["Message-ID"],
                headers={"Auto-Submitted": "auto-replied"},
            )
        )
    env.poll()
    assert env.dispatch() == 0 and len(env.sent()) == 1
    noted = [e for e in _events(env.gateway, complaint.id) if e.action == "automatic_mail"]
    assert len(noted) == 3 and "Auto-Submitted" in (noted[0].note or "")
    assert len(_complaints(env.gateway)) == 1
    # The answer goes to the person's own mail, not to their out-of-office.
    _verify_dispose(env.gateway, complaint.tracking_code)
    _core_answers(env.gateway, complaint.tracking_code)
    env.dispatch()
    answer = env.sent()[-1]
    assert ANSWER in answer.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert answer["In-Reply-To"] == first["Message-ID"]


def test_a_bounce_of_our_reply_tells_the_complaint_page(env: MailEnv) -> None:
    env.deliver(citizen_mail("Lampu jalan di depan SD 1 Leteh mati sejak seminggu."))
    env.poll()
    env.dispatch()
    [receipt] = env.sent()
    [complaint] = _complaints(env.gateway)
    # The reporter's mail server returns our receipt (RFC 3464, the returned headers inside).
    bounce = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.contoh.test>\r\n"
        f"To: {OURS}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce-1@mx.contoh.test>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.contoh.test\r\n\r\nFinal-Recipient: rfc822; x\r\nAction: failed\r\n"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {receipt['Message-ID']}\r\nTo: {CITIZEN}\r\n"
        "--b--\r\n"
    ).encode()
    env.deliver(bounce)
    env.poll()
    assert env.dispatch() == 0  # never answered
    noted = _complaint(env.gateway, complaint.tracking_code)
    assert noted.delivery_problem and "DSN" in noted.delivery_problem
    assert [e.action for e in _events(env.gateway, complaint.id)][-1] == "automatic_mail"


# --- not a complaint, and mail that is hard to read -----------------------------------------


def test_thanks_alone_gets_the_not_a_report_answer_and_no_complaint(env: MailEnv) -> None:
    env.deliver(citizen_mail("Terima kasih banyak ya", subject="Terima kasih"))
    env.poll()
    assert _complaints(env.gateway) == []
    env.dispatch()
    [reply] = env.sent()
    assert "tidak kami catat sebagai laporan" in reply.get_body(("plain",)).get_content()  # type: ignore[union-attr]


@pytest.mark.parametrize("fixture", ["broken_mime.eml", "unknown_charset.eml", "no_text.eml"])
def test_hard_to_read_mail_is_kept_and_shown(env: MailEnv, fixture: str) -> None:
    env.deliver((FIXTURES / "email" / fixture).read_bytes())
    assert len(env.poll()) == 1
    with env.gateway.db.read_session() as session:
        [row] = session.scalars(select(InboundMessage)).all()
    assert row.status in (InboundStatus.PROCESSED, InboundStatus.IGNORED)
    assert row.raw_payload  # the mail as it came
    if row.complaint_id is None:  # nothing to file: the sender was asked for the report
        env.dispatch()
        assert len(env.sent()) == 1
    else:
        assert row.extra.get("defects") or row.extra.get("no_text") or row.text


def test_a_huge_attachment_stays_in_the_mailbox_and_is_listed(env: MailEnv) -> None:
    mail = citizen_mail("Foto jalan berlubang di Desa Sumbergirang terlampir.")
    big = b"%PDF-1.4\n" + b"0" * (env.gateway.settings.email_attachment_max_bytes + 10)
    mail.add_attachment(big, maintype="application", subtype="pdf", filename="laporan.pdf")
    env.deliver(mail)
    env.poll()
    [complaint] = _complaints(env.gateway)
    with env.gateway.db.read_session() as session:
        [row] = session.scalars(select(InboundMessage)).all()
    assert row.complaint_id == complaint.id and row.extra["large_attachments"]
    assert row.media[0]["size"] == len(big) and row.media[0]["ref"] is None


# --- web-form reporters with an e-mail address ----------------------------------------------


def test_a_web_form_reporter_with_an_email_gets_the_answer_by_email(env: MailEnv) -> None:
    from channels import webform
    from gateway.intake import inbound as intake

    form, errors = webform.validate_form(
        {
            "description": "Jalan di Desa Pasarbanggi berlubang besar, motor sering jatuh.",
            "location": "Desa Pasarbanggi, Rembang",
            "email": "siti@contoh.test",
            "consent": "1",
        },
        [],
        limits=env.gateway.form_limits,
        lang="id",
    )
    assert form is not None, errors
    message = webform.to_inbound(
        form, submission_id=uuid.uuid4().hex, received_at=datetime.now(UTC)
    )
    accepted = intake.accept(env.gateway.db, message, assign_code=True)
    assert intake.process(env.gateway, accepted.inbound_id)
    code = accepted.tracking_code
    assert code is not None
    _verify_dispose(env.gateway, code)
    _core_answers(env.gateway, code)
    env.dispatch()
    to_siti = [m for m in env.sent() if m["To"] == "siti@contoh.test"]
    answers = [m for m in to_siti if ANSWER in m.get_body(("plain",)).get_content()]  # type: ignore[union-attr]
    assert len(answers) == 1 and code in answers[0]["Subject"]
    # Their private link, where they answer PUAS or TIDAK PUAS (they have no mail thread to us).
    link = env.gateway.reporter_links.url(code)
    assert link in answers[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    with env.gateway.db.read_session() as session:
        rows = session.scalars(select(OutboxItem).where(OutboxItem.channel == "email")).all()
    assert rows and all(r.status == "sent" for r in rows)
