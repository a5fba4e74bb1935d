"""The demo's mail (`make run`): the whole e-mail loop on one machine, with no account.

- **The mail network**: an SMTP server (aiosmtpd) on 127.0.0.1:DEMO_SMTP_PORT plays "the
  internet's mail". Mail to the regency's address (`pengaduan@lapor.test`) is delivered into the
  regency's mailbox; mail to anybody else (the gateway's replies to citizens) is kept under
  `DATA_DIR/demo-mail/sent/` and shown at `/_demo`. The gateway sends through it exactly as it
  sends through a real submission server (SMTP_HOST/SMTP_PORT point at it).
- **The regency's mailbox**: Debian's Dovecot under `DATA_DIR/demo-mailbox/` on
  127.0.0.1:DEMO_IMAP_PORT when it is installed (`make run` tries `make mail-deps` first), read
  by the gateway's real IMAP poller with IDLE (IMAP_* point at it). Without Dovecot (a machine
  where it cannot be installed) the demo falls back to handing each mail for the regency
  straight to the gateway's intake, through the same `EmailChannel.read` the poller uses: the
  parsing, threading, automatic-mail rules and replies are the same; only the IMAP hop is
  missing, and the start-up log says so.
- **The citizen**: `lapor-gateway send-mail` writes a mail to the regency through the network;
  `--reply` answers the last mail the gateway sent to that address, in its thread.

Demo mail runs only in demo mode and only while no IMAP_HOST or SMTP_HOST is set
(DEMO_MAIL=false turns it off). The mailbox password is fixed, public and useless elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import email.utils
import imaplib
import logging
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

from channels.email import raw_record
from channels.fakes.mailserver import Dovecot, dovecot_binary
from config.settings import Settings
from gateway.intake import inbound as intake

if TYPE_CHECKING:
    from aiosmtpd.controller import Controller

    from gateway.parts import Intake

log = logging.getLogger(__name__)

DEMO_MAILBOX = "pengaduan@lapor.test"
DEMO_MAILBOX_PASSWORD = "demo-mailbox-not-a-secret"  # noqa: S105 - public demo value
DEMO_FROM_NAME = "LAPOR! Kabupaten Rembang (demo)"


def wanted(settings: Settings) -> bool:
    """Demo mail: on in demo mode unless a real mail server is configured."""
    return settings.demo_mail and not settings.imap_host and not settings.smtp_host


def settings_update(settings: Settings) -> dict[str, Any]:
    """The settings that point the gateway's e-mail channel at the demo's servers."""
    from pydantic import SecretStr

    update: dict[str, Any] = {
        "email_address": settings.email_address or DEMO_MAILBOX,
        "email_from_name": DEMO_FROM_NAME,
        "smtp_host": "127.0.0.1",
        "smtp_port": settings.demo_smtp_port,
        "smtp_security": "none",
    }
    if dovecot_binary() is not None:
        update |= {
            "imap_host": "127.0.0.1",
            "imap_port": settings.demo_imap_port,
            "imap_security": "none",
            "imap_user": DEMO_MAILBOX,
            "imap_password": SecretStr(DEMO_MAILBOX_PASSWORD),
        }
    return update


def mail_root(settings: Settings) -> Path:
    return Path(settings.data_dir) / "demo-mail"


def sent_dir(settings: Settings) -> Path:
    """Where the mail network keeps what it delivered to citizens (one .eml each)."""
    return mail_root(settings) / "sent"


class MailNetwork:
    """aiosmtpd handler: the regency's mail into its mailbox, everyone else's into `sent/`."""

    def __init__(self, sent: Path, regency: str, deliver: Any) -> None:
        self.sent = sent
        self.regency = regency.lower()
        self.deliver = deliver  # Callable[[bytes], None], run in a thread

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        data = raw if isinstance(raw, bytes) else str(raw).encode()
        for recipient in envelope.rcpt_tos:
            if recipient.lower() == self.regency:
                try:
                    await asyncio.to_thread(self.deliver, data)
                except Exception:
                    log.exception("demo mail: delivery to the regency's mailbox failed")
                    return "451 delivery failed, try again"
            else:
                await asyncio.to_thread(self._keep, recipient, data)
        return "250 delivered"

    def _keep(self, recipient: str, data: bytes) -> None:
        self.sent.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:6]}.eml"
        header = f"X-Demo-Delivered-To: {recipient}\r\n".encode()
        (self.sent / name).write_bytes(header + data)


class DemoMail:
    """The demo's mail servers, started beside the gateway and stopped with it."""

    def __init__(self, gateway: Intake) -> None:
        self.gateway = gateway
        self.settings = gateway.settings
        self.dovecot: Dovecot | None = None
        self.controller: Controller | None = None
        self._seq = 0

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        s = self.settings
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: every connection
        deliver = self._into_intake
        if s.imap_host:
            try:
                self.dovecot = Dovecot(Path(s.data_dir) / "demo-mailbox", port=s.demo_imap_port)
                self.dovecot.start()
                self.dovecot.add_user(DEMO_MAILBOX, DEMO_MAILBOX_PASSWORD)
                deliver = self._into_imap
                log.info("demo mail: Dovecot IMAP on 127.0.0.1:%s", s.demo_imap_port)
            except (OSError, RuntimeError) as exc:
                log.warning("demo mail: Dovecot did not start (%s); mail goes to intake", exc)
                self.dovecot = None
        else:
            log.warning(
                "demo mail: Dovecot is not installed (make mail-deps): mail to %s goes straight "
                "to the intake, without IMAP",
                s.email_address,
            )
        network = MailNetwork(sent_dir(s), s.email_address, deliver)
        self.controller = Controller(network, hostname="127.0.0.1", port=s.demo_smtp_port)
        try:
            self.controller.start()
        except (OSError, RuntimeError) as exc:
            log.warning("demo mail: SMTP port %s unavailable (%s)", s.demo_smtp_port, exc)
            self.controller = None
            return
        log.info("demo mail: SMTP on 127.0.0.1:%s", s.demo_smtp_port)

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
        if self.dovecot is not None:
            self.dovecot.stop()
            self.dovecot = None

    def _into_imap(self, data: bytes) -> None:
        assert self.dovecot is not None
        client = imaplib.IMAP4("127.0.0.1", self.dovecot.port, timeout=10)
        try:
            client.login(DEMO_MAILBOX, DEMO_MAILBOX_PASSWORD)
            when = imaplib.Time2Internaldate(time.time())
            client.append("INBOX", None, when, data)
        finally:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                client.logout()

    def _into_intake(self, data: bytes) -> None:
        """No IMAP: the mail is read as the poller would read it, then stored and processed."""
        from channels.base import PayloadError
        from channels.email import EmailChannel

        channel = self.gateway.channels.get("email")
        assert isinstance(channel, EmailChannel)
        self._seq += 1
        try:
            message = channel.read(data, 0, self._seq)
        except PayloadError as exc:
            intake.keep_unreadable(
                self.gateway.db,
                "email",
                data,
                content_type="message/rfc822",
                reason=str(exc),
            )
            return
        accepted = intake.accept(
            self.gateway.db,
            message,
            raw_payload=raw_record(data),
            raw_content_type="message/rfc822",
        )
        if accepted.duplicate:
            return
        run = self.gateway.hand_over(
            [(accepted.inbound_id, intake.sender_key("email", message.sender))]
        )
        if run is not None:
            run()


# --- what the citizen sees and writes ---------------------------------------------------------


@dataclass(frozen=True)
class SentMail:
    at: datetime
    to: str
    subject: str
    text: str
    message_id: str
    references: str


def _text_of(mail: email.message.Message) -> str:
    body = mail.get_body(("plain",)) if isinstance(mail, EmailMessage) else None
    if body is None:
        return ""
    content = body.get_content()
    return content if isinstance(content, str) else ""


def read_sent(settings: Settings, limit: int = 200) -> list[SentMail]:
    """What the gateway sent to citizens through the demo's network, newest first."""
    folder = sent_dir(settings)
    if not folder.exists():
        return []
    mails = []
    for path in sorted(folder.glob("*.eml"), reverse=True)[:limit]:
        mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        try:
            at = email.utils.parsedate_to_datetime(str(mail["Date"]))
        except (TypeError, ValueError):
            at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        mails.append(
            SentMail(
                at=at if at.tzinfo else at.replace(tzinfo=UTC),
                to=str(mail["X-Demo-Delivered-To"] or mail["To"] or ""),
                subject=str(mail["Subject"] or ""),
                text=_text_of(mail),
                message_id=str(mail["Message-ID"] or ""),
                references=str(mail["References"] or ""),
            )
        )
    return mails


def citizen_mail(
    settings: Settings,
    *,
    sender: str,
    text: str,
    subject: str | None,
    reply: bool,
    automatic: bool = False,
    attachments: list[Path] | None = None,
    photo: bytes | None = None,
) -> EmailMessage:
    """A citizen's mail to the regency; with `reply`, in the thread of the last mail the
    gateway sent to `sender` (its subject, In-Reply-To and References)."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = settings.email_address or DEMO_MAILBOX
    mail["Date"] = email.utils.format_datetime(datetime.now(UTC))
    mail["Message-ID"] = email.utils.make_msgid(domain=sender.rsplit("@", 1)[-1] or "warga.test")
    if reply:
        last = next((m for m in read_sent(settings) if m.to.lower() == sender.lower()), None)
        if last is None:
            raise LookupError(f"the gateway has sent nothing to {sender} yet")
        mail["Subject"] = subject or (
            last.subject if re.match(r"(?i)^re:", last.subject) else f"Re: {last.subject}"
        )
        mail["In-Reply-To"] = last.message_id
        mail["References"] = " ".join(filter(None, [last.references, last.message_id]))
    else:
        mail["Subject"] = subject or "Laporan"
    if automatic:
        mail["Auto-Submitted"] = "auto-replied"  # an out-of-office, as a mail client sends it
    mail.set_content(text)
    if photo:
        mail.add_attachment(photo, maintype="image", subtype="jpeg", filename="foto.jpg")
    for path in attachments or []:
        data = path.read_bytes()
        kind = "image/jpeg" if path.suffix.lower() in (".jpg", ".jpeg") else "application/pdf"
        if path.suffix.lower() == ".png":
            kind = "image/png"
        maintype, subtype = kind.split("/")
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=path.name)
    return mail
