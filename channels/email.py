"""E-mail: the regency's complaint mailbox, read over IMAP (imap-tools), answered over SMTP.

Provider: any IMAP/SMTP server. Settings: IMAP_HOST/PORT/SECURITY/USER/PASSWORD/MAILBOX,
SMTP_HOST/PORT/SECURITY/USER/PASSWORD, EMAIL_ADDRESS (our From, and the address whose mail is
never taken as a complaint), EMAIL_FROM_NAME.

Inbound, polled (`MailboxPoller`, source `email`): the cursor is the mailbox's UIDVALIDITY and
the last UID read (plus the date of the newest mail, for the day UIDVALIDITY changes). A poll
reads up to EMAIL_BATCH_SIZE mails above the cursor, oldest first, without marking them seen or
changing the mailbox; `more` says further mails wait. When UIDVALIDITY changes (the mailbox was
recreated or restored), the UIDs mean nothing any more: the poll reads again everything since
the day of the last mail it had, and the gateway's intake drops what it has by Message-ID.
Between polls `wait_for_news` uses IMAP IDLE when the server offers it (IMAP_IDLE).

Each mail becomes one message (`parse_mail`, pure apart from the attachment spool):
- external id: the `Message-ID` (a hash of the raw mail when it has none); sender the From
  address (lower-case), sender_name its display name; received_at the Date header.
- threading: `extra["tracking_code"]` when the subject carries an `LPR-XXXXXX` code (the
  gateway's first choice), `reply_to` the `In-Reply-To` id, `extra["references"]` the
  `References` chain, `thread_ref` the mail's own Message-ID (what a reply's In-Reply-To names).
- text: the plain part (else the HTML part as text) with quoted replies and the signature cut
  off; `extra["subject"]`; the mail as received is the poll's raw record (`PollResult.raw`).
- attachments: every file part is a `Media`; images and PDFs and anything else up to
  EMAIL_ATTACHMENT_MAX_BYTES are copied into the spool (DATA_DIR/mail, by SHA-256) with
  `ref="mail:<sha256>"`, and `url` an RFC 5092 IMAP URL of the part, so `download()` serves the
  spool first and otherwise fetches the part from the mailbox again (any instance can). Larger
  parts are listed with their size and stay in the mailbox.
- automatic mail: `extra["automatic"]` names why (Auto-Submitted other than "no",
  Precedence bulk/list/junk, X-Auto-Response-Suppress, X-Loop, a bounce or DSN, our own From);
  the gateway stores such a mail and never answers it, so two auto-responders cannot loop.
- broken MIME, an unknown charset, no text at all: the mail is kept with what could be read and
  `extra["defects"]` says what was wrong.

Outbound (`send`, DIRECT only): one mail with a plain-text and a simple HTML part, From
EMAIL_ADDRESS, `In-Reply-To`/`References` = `reply_to` (the Message-ID of the citizen's mail),
the subject from `template_variables["subject"]` with `template_variables["tracking_code"]` put
in front when missing, `Auto-Submitted: auto-replied` (RFC 3834, so autoresponders stay quiet),
and a Message-ID derived from the idempotency key (a retry sends the same Message-ID); the
message's `files` (documents, e.g. the Ombudsman package's XLSX) are attached. SMTP with
STARTTLS or SSL (`smtplib`, in a thread); a refused recipient is permanent, a 4xx or a
connection failure is retried.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import html
import imaplib
import json
import logging
import re
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.parser import HeaderParser
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from imap_tools import AND, BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted, MailMessage
from imap_tools.errors import MailboxLoginError

from channels.base import (
    Channel,
    InboundMessage,
    Media,
    MediaError,
    OutboundMessage,
    PayloadError,
    Poller,
    PollError,
    PollResult,
    RawRequest,
    ReplyMode,
    SendResult,
    SignatureError,
    Unreadable,
)
from channels.sanitize import ID_MAX, clean_text, finish_message, reading
from config.settings import Settings

logger = logging.getLogger(__name__)

TRACKING_CODE = re.compile(r"\bLPR-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}\b")
RAW_KEEP_BYTES = 256 * 1024  # the raw record keeps the headers and this much of the mail
IMAP_TIMEOUT_FALLBACK = 30.0


# --- reading one mail (pure) ----------------------------------------------------------------


@dataclass(frozen=True)
class Attachment:
    filename: str | None
    content_type: str
    payload: bytes
    index: int  # position among the mail's attachments (the IMAP URL's part)


@dataclass(frozen=True)
class ParsedMail:
    message: InboundMessage
    attachments: tuple[Attachment, ...] = ()
    original_text: str = ""


def _address(value: str) -> tuple[str, str]:
    name, address = email.utils.parseaddr(value or "")
    return name.strip(), address.strip().lower()


def _header(mail: MailMessage, name: str) -> str:
    values = mail.headers.get(name.lower()) or ()
    return " ".join(v.strip() for v in values).strip()


def _ids(value: str) -> list[str]:
    return re.findall(r"<[^<>\s]+>", value or "")


def content_type_is_report(mail: MailMessage) -> bool:
    return _header(mail, "content-type").lower().startswith("multipart/report")


def automatic_reason(mail: MailMessage, our_address: str) -> str | None:
    """Why this mail is not a person writing to us (and must never be answered), or None."""
    auto = _header(mail, "auto-submitted").lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = _header(mail, "precedence").lower()
    if precedence in ("bulk", "list", "junk"):
        return f"Precedence: {precedence}"
    if _header(mail, "x-auto-response-suppress"):
        return "X-Auto-Response-Suppress"
    if _header(mail, "x-loop"):
        return "X-Loop"
    content_type = _header(mail, "content-type").lower()
    if content_type.startswith("multipart/report"):
        return "delivery report (DSN)"
    _, sender = _address(_header(mail, "from"))
    local = sender.split("@", 1)[0]
    if local in ("mailer-daemon", "postmaster") or _header(mail, "return-path") == "<>":
        return "bounce"
    if our_address and sender == our_address.lower():
        return "our own address"
    return None


_QUOTE_HEADS = [
    re.compile(r"^\s*On .{0,200}wrote:\s*$", re.IGNORECASE),
    re.compile(r"^\s*Pada .{0,200}menulis:\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*(Original Message|Pesan Asli|Forwarded message)\s*-{2,}\s*$", re.I),
    re.compile(r"^\s*_{10,}\s*$"),  # Outlook's rule above the quoted header block
    re.compile(r"^\s*(From|Dari):\s.+$"),
]
_SIGNATURE_HEADS = [
    re.compile(r"^-- ?$"),
    re.compile(r"^\s*(Sent from|Dikirim dari|Get Outlook for)\b.*$", re.IGNORECASE),
]


def strip_reply(text: str) -> str:
    """The new words of a mail: quoted replies and the signature cut off."""
    kept: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if any(p.match(line) for p in _QUOTE_HEADS + _SIGNATURE_HEADS):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    cleaned = "\n".join(kept).strip()
    return re.sub(r"\n{3,}", "\n\n", cleaned)


class _HtmlText(HTMLParser):
    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self.skip += 1
        elif tag == "blockquote":
            self.parts.append("\n> ")
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self.skip = max(0, self.skip - 1)

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    parser = _HtmlText()
    parser.feed(markup)
    lines = [" ".join(line.split()) for line in "".join(parser.parts).split("\n")]
    return "\n".join(lines).strip()


def _defects(mail: MailMessage) -> list[str]:
    found: list[str] = []
    for part in mail.obj.walk():
        found.extend(type(defect).__name__ for defect in getattr(part, "defects", []))
        charset = part.get_content_charset()
        if charset:
            try:
                "".encode(charset)
            except LookupError:
                found.append(f"unknown charset {charset}")
    return sorted(set(found))


def _decode(data: bytes, charset: str | None) -> str:
    """A part's text in its charset; an unknown or lying charset falls back to UTF-8, then to
    Windows-1252 (every byte means something there), so no word is dropped."""
    for candidate in (charset, "utf-8"):
        if not candidate:
            continue
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("cp1252", errors="replace")


def _body_text(mail: MailMessage, subtype: str) -> str:
    """The text of the mail's inline text/<subtype> parts."""
    texts = []
    for part in mail.obj.walk():
        if part.is_multipart() or part.get_content_type() != f"text/{subtype}":
            continue
        if part.get_content_disposition() == "attachment":
            continue
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            texts.append(_decode(data, part.get_content_charset()))
    if not texts and subtype == "plain" and mail.obj.get_content_maintype() == "multipart":
        body = mail.obj.get_payload()
        if isinstance(body, str):  # a multipart without its boundary: the body is all there is
            texts.append(body)
    return "\n".join(texts).replace("\r\n", "\n").strip()


def returned_message_ids(mail: MailMessage) -> list[str]:
    """A delivery report's (RFC 3464) returned message: the Message-ID of the mail that could
    not be delivered, from its `message/rfc822` or `text/rfc822-headers` part — so a bounce of
    one of our replies finds the complaint it was about."""
    found: list[str] = []
    for part in mail.obj.walk():
        kind = part.get_content_type()
        headers: Any = None
        if kind == "message/rfc822":
            inner = part.get_payload()
            headers = inner[0] if isinstance(inner, list) and inner else None
        elif kind == "text/rfc822-headers":
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                headers = HeaderParser().parsestr(data.decode("utf-8", errors="replace"))
        if headers is not None:
            found += [i for i in _ids(str(headers.get("Message-ID") or "")) if len(i) <= ID_MAX]
    return found


def _received_at(mail: MailMessage, fallback: datetime) -> datetime:
    try:
        parsed = email.utils.parsedate_to_datetime(_header(mail, "date"))
    except (TypeError, ValueError, IndexError, OverflowError):
        return fallback
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_mail(
    raw: bytes, *, our_address: str, now: datetime, max_chars: int = 20000
) -> ParsedMail:
    """One mail as it sits in the mailbox → the message, its attachments, its full text.
    `PayloadError` for a mail the e-mail package cannot read at all; the text is cut to
    `max_chars` (EMAIL_MAX_CHARS) and cleaned like every channel's (`channels.sanitize`)."""
    with reading("unreadable mail"):
        parsed = _parse_mail(raw, our_address=our_address, now=now)
        message = finish_message(parsed.message, max_chars=max_chars, now=now)
    return replace(parsed, message=message, original_text=clean_text(parsed.original_text))


def _parse_mail(raw: bytes, *, our_address: str, now: datetime) -> ParsedMail:
    mail = MailMessage.from_bytes(raw)
    name, sender = _address(_header(mail, "from"))
    if len(sender) > ID_MAX:  # no address is that long: keep the mail, not the address
        sender = ""
    # A Message-ID longer than the column is no usable id: the mail's own hash is.
    message_ids = [i for i in _ids(_header(mail, "message-id")) if len(i) <= ID_MAX]
    external_id = message_ids[0] if message_ids else "sha256:" + hashlib.sha256(raw).hexdigest()
    subject = mail.subject.strip()
    original = _body_text(mail, "plain") or html_to_text(_body_text(mail, "html"))
    text = strip_reply(original)
    extra: dict[str, str] = {"subject": subject}
    code = TRACKING_CODE.search(subject)
    if code:
        extra["tracking_code"] = code.group(0)
    references = _ids(_header(mail, "references"))
    if content_type_is_report(mail):
        # A bounce: the mail it returns is part of the thread (our reply, usually).
        returned = returned_message_ids(mail)
        references += [i for i in returned if i not in references]
        if returned:
            extra["returned_message_id"] = returned[0]
    if references:
        extra["references"] = " ".join(references)
    reason = automatic_reason(mail, our_address)
    if reason:
        extra["automatic"] = reason
    defects = _defects(mail)
    if defects:
        extra["defects"] = ", ".join(defects)
    if not original:
        extra["no_text"] = "true"
    attachments = tuple(
        Attachment(
            filename=part.filename or None,
            content_type=(part.content_type or "application/octet-stream").lower(),
            payload=part.payload or b"",
            index=index,
        )
        for index, part in enumerate(mail.attachments)
    )
    in_reply_to = [i for i in _ids(_header(mail, "in-reply-to")) if len(i) <= ID_MAX]
    message = InboundMessage(
        channel=EmailChannel.name,
        external_id=external_id,
        sender=sender,
        received_at=_received_at(mail, now),
        text=text,
        sender_name=name or None,
        reply_to=in_reply_to[0] if in_reply_to else None,
        extra=extra,
        thread_ref=message_ids[0] if message_ids else None,
    )
    return ParsedMail(message, attachments, original)


def raw_record(raw: bytes) -> str:
    """What the gateway keeps as the raw payload: the mail, cut at RAW_KEEP_BYTES."""
    text = clean_text(raw[:RAW_KEEP_BYTES].decode("utf-8", errors="replace"))  # no NUL kept
    return text if len(raw) <= RAW_KEEP_BYTES else text + "\n[... cut: the mail stays in IMAP]"


# --- where an attachment lives --------------------------------------------------------------


def imap_part_url(
    user: str, host: str, mailbox: str, uidvalidity: int, uid: int, index: int
) -> str:
    """RFC 5092 IMAP URL of the `index`-th attachment of a mail (the part index is ours)."""
    return (
        f"imap://{quote(user, safe='')}@{host}/{quote(mailbox)};UIDVALIDITY={uidvalidity}"
        f"/;UID={uid}/;SECTION=attachment.{index}"
    )


def parse_part_url(url: str) -> tuple[str, int, int, int]:
    """(mailbox, uidvalidity, uid, attachment index) of an `imap_part_url`."""
    match = re.match(
        r"^/(?P<box>[^;]+);UIDVALIDITY=(?P<v>\d+)/;UID=(?P<uid>\d+)/;SECTION=attachment\.(?P<i>\d+)$",
        urlsplit(url).path,
    )
    if not match:
        raise MediaError("not an IMAP part URL", retryable=False)
    return unquote(match["box"]), int(match["v"]), int(match["uid"]), int(match["i"])


@dataclass
class Spool:
    """Attachments read from mail, by SHA-256, until the gateway stores them."""

    root: Path

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self.root / digest[:2] / digest
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(path)
        return f"mail:{digest}"

    def get(self, ref: str) -> bytes | None:
        digest = ref.removeprefix("mail:")
        if not re.fullmatch(r"[0-9a-f]{64}", digest):
            return None
        path = self.root / digest[:2] / digest
        return path.read_bytes() if path.exists() else None


# --- the cursor -------------------------------------------------------------------------------


@dataclass(frozen=True)
class UidCursor:
    uidvalidity: int
    uid: int  # the last UID read
    day: date | None = None  # the day of the newest mail read (for a UIDVALIDITY change)

    def dumps(self) -> str:
        values: dict[str, Any] = {"uidvalidity": self.uidvalidity, "uid": self.uid}
        if self.day:
            values["day"] = self.day.isoformat()
        return json.dumps(values, sort_keys=True)

    @classmethod
    def loads(cls, text: str | None) -> UidCursor | None:
        if not text:
            return None
        try:
            values = json.loads(text)
            day = values.get("day")
            return cls(
                int(values["uidvalidity"]),
                int(values["uid"]),
                date.fromisoformat(day) if day else None,
            )
        except (ValueError, KeyError, TypeError):
            raise PollError(f"unreadable mailbox cursor {text!r}", retryable=False) from None


# --- IMAP -----------------------------------------------------------------------------------


def _imap_failure(exc: Exception) -> PollError:
    if isinstance(exc, MailboxLoginError):
        return PollError("the mail server refused IMAP_USER/IMAP_PASSWORD", retryable=False)
    if isinstance(exc, ssl.SSLError):
        return PollError(
            f"IMAP TLS failed ({exc.reason}): check IMAP_SECURITY/IMAP_PORT", retryable=False
        )
    if isinstance(exc, imaplib.IMAP4.error) and "select" in str(exc).lower():
        return PollError(f"IMAP mailbox cannot be opened: {exc}", retryable=False)
    return PollError(f"IMAP unreachable: {type(exc).__name__}: {exc}")


class MailboxPoller(Poller):
    name = "email"
    channel = "email"

    def __init__(self, mail: EmailChannel) -> None:
        self.mail = mail
        self.interval_seconds = mail.settings.email_poll_seconds
        self._idle_supported: bool | None = None

    def __repr__(self) -> str:
        return "<MailboxPoller email>"

    async def fetch(self, cursor: str | None) -> PollResult:
        state = UidCursor.loads(cursor)
        return await asyncio.to_thread(self._fetch, state)

    def _fetch(self, state: UidCursor | None) -> PollResult:
        s = self.mail.settings
        try:
            with self.mail.connect() as box:
                status = box.folder.status(s.imap_mailbox, ["UIDVALIDITY", "UIDNEXT"])
                validity = int(status["UIDVALIDITY"])
                if state is None:  # start from now: mails already there are not ours to take
                    start = UidCursor(validity, int(status["UIDNEXT"]) - 1, self.mail.now().date())
                    return PollResult([], start.dumps(), cost=0)
                box.folder.set(s.imap_mailbox, readonly=True)
                if validity != state.uidvalidity:
                    logger.warning("email: UIDVALIDITY changed; reading again since %s", state.day)
                    criteria = AND(date_gte=state.day) if state.day else AND(all=True)
                    uids = sorted(int(u) for u in box.uids(criteria))
                else:
                    uids = sorted(
                        u
                        for u in map(int, box.uids(AND(uid=f"{state.uid + 1}:*")))
                        if u > state.uid
                    )
                batch = uids[: s.email_batch_size]
                raws: dict[int, bytes] = {}
                if batch:
                    for fetched in box.fetch(
                        AND(uid=",".join(map(str, batch))), mark_seen=False, bulk=True
                    ):
                        raws[int(fetched.uid or 0)] = fetched.obj.as_bytes()
        except (MailboxLoginError, imaplib.IMAP4.error, OSError, EOFError) as exc:
            raise _imap_failure(exc) from None
        messages: list[InboundMessage] = []
        raw: dict[str, str] = {}
        unreadable: list[Unreadable] = []
        day = state.day
        last = state.uid if validity == state.uidvalidity else 0
        for uid in batch:
            data = raws.get(uid)
            if data is None:  # expunged between SEARCH and FETCH
                last = max(last, uid)
                continue
            try:
                message = self.mail.read(data, validity, uid)
            except PayloadError as exc:  # one poison mail must not stop the mailbox
                logger.warning("email: mail UID %s unreadable, handed over raw", uid)
                unreadable.append(Unreadable(raw_record(data), str(exc)))
                last = max(last, uid)
                continue
            messages.append(message)
            raw[message.external_id] = raw_record(data)
            last = max(last, uid)
            day = max(day, message.received_at.date()) if day else message.received_at.date()
        cursor = UidCursor(validity, last, day)
        return PollResult(
            messages,
            cursor.dumps(),
            more=len(uids) > len(batch),
            cost=len(batch),
            raw=raw,
            unreadable=tuple(unreadable),
        )

    async def wait_for_news(self, timeout: float) -> None:
        if not self.mail.settings.imap_idle or self._idle_supported is False:
            await asyncio.sleep(timeout)
            return
        try:
            self._idle_supported = await asyncio.to_thread(self._idle, timeout)
        except (MailboxLoginError, imaplib.IMAP4.error, OSError, EOFError) as exc:
            logger.info("email: IDLE failed (%s); sleeping instead", type(exc).__name__)
            await asyncio.sleep(timeout)

    def _idle(self, timeout: float) -> bool:
        """Block until the server announces a change or `timeout`; False if it has no IDLE."""
        with self.mail.connect() as box:
            if "IDLE" not in box.client.capabilities:
                return False
            box.folder.set(self.mail.settings.imap_mailbox, readonly=True)
            box.idle.wait(timeout=max(1, int(timeout)))
        return True


# --- the channel ---------------------------------------------------------------------------------


class EmailChannel(Channel):
    name = "email"

    def __init__(
        self, settings: Settings, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.settings = settings
        self.now = now
        self.spool = Spool(settings.mail_spool_dir)

    def __repr__(self) -> str:
        return "<EmailChannel email>"

    @property
    def can_poll(self) -> bool:
        s = self.settings
        return bool(s.imap_host and s.imap_user and s.imap_password)

    def pollers(self) -> list[Poller]:
        return [MailboxPoller(self)] if self.can_poll else []

    def connect(self) -> BaseMailBox:
        """A logged-in IMAP connection (use as a context manager: it logs out)."""
        s = self.settings
        timeout = s.email_timeout_seconds or IMAP_TIMEOUT_FALLBACK
        box: BaseMailBox
        if s.imap_security == "ssl":
            box = MailBox(s.imap_host, s.imap_port, timeout=timeout)
        elif s.imap_security == "starttls":
            box = MailBoxStartTls(s.imap_host, s.imap_port, timeout=timeout)
        else:
            box = MailBoxUnencrypted(s.imap_host, s.imap_port, timeout=timeout)
        password = s.imap_password.get_secret_value() if s.imap_password else ""
        return box.login(s.imap_user, password, initial_folder=None)

    def read(self, raw: bytes, uidvalidity: int, uid: int) -> InboundMessage:
        """A fetched mail as a message, its attachments in the spool (or left in the mailbox)."""
        s = self.settings
        parsed = parse_mail(
            raw, our_address=s.email_address, now=self.now(), max_chars=s.email_max_chars
        )
        media = []
        for part in parsed.attachments:
            url = imap_part_url(
                s.imap_user, s.imap_host, s.imap_mailbox, uidvalidity, uid, part.index
            )
            size = len(part.payload)
            ref = self.spool.put(part.payload) if size <= s.email_attachment_max_bytes else None
            media.append(
                Media(
                    url=url,
                    ref=ref,
                    content_type=part.content_type,
                    size=size,
                    filename=part.filename,
                )
            )
        extra = dict(parsed.message.extra)
        if any(m.ref is None for m in media):
            extra["large_attachments"] = "left in the mailbox"
        message = replace(parsed.message, media=tuple(media), extra=extra)
        # Again, now with the attachments (their names come from the mail too).
        return finish_message(message, max_chars=s.email_max_chars, now=self.now())

    # E-mail pushes nothing through the webhook route.
    def verify(self, raw: RawRequest) -> None:
        raise SignatureError("e-mail arrives over IMAP, not through a webhook")

    def parse(self, raw: RawRequest) -> list[InboundMessage]:
        raise PayloadError("e-mail arrives over IMAP, not through a webhook")

    async def download(self, media: Media, max_bytes: int) -> tuple[bytes, str | None]:
        if media.size is not None and media.size > max_bytes:
            raise MediaError(
                f"mail attachment: {media.size} bytes is over the {max_bytes}-byte limit "
                "(it stays in the mailbox)",
                retryable=False,
            )
        data = self.spool.get(media.ref) if media.ref else None
        if data is None:
            if not media.url:
                raise MediaError("mail attachment without a place to read it", retryable=False)
            data = await asyncio.to_thread(self._fetch_part, media.url)
        if len(data) > max_bytes:
            raise MediaError(f"mail attachment over the {max_bytes}-byte limit", retryable=False)
        return data, media.content_type

    def _fetch_part(self, url: str) -> bytes:
        mailbox, validity, uid, index = parse_part_url(url)
        try:
            with self.connect() as box:
                status = box.folder.status(mailbox, ["UIDVALIDITY"])
                if int(status["UIDVALIDITY"]) != validity:
                    raise MediaError("the mailbox was recreated: the mail is gone", retryable=False)
                box.folder.set(mailbox, readonly=True)
                for fetched in box.fetch(AND(uid=str(uid)), mark_seen=False):
                    attachments = fetched.attachments
                    if index < len(attachments):
                        return attachments[index].payload
        except (MailboxLoginError, imaplib.IMAP4.error, OSError, EOFError) as exc:
            raise MediaError(
                f"mail attachment: IMAP failed ({type(exc).__name__})", retryable=True
            ) from None
        raise MediaError("mail attachment: the mail is no longer in the mailbox", retryable=False)

    # --- outbound ---

    def compose(self, message: OutboundMessage) -> EmailMessage:
        """The reply as a MIME mail (pure)."""
        s = self.settings
        variables = message.template_variables
        subject = (variables.get("subject") or "LAPOR!").strip()
        code = variables.get("tracking_code")
        if code and code not in subject:
            subject = f"[{code}] {subject}"
        domain = (s.email_address.rsplit("@", 1)[-1] or "lapor.invalid").strip()
        digest = hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]
        mail = EmailMessage()
        mail["From"] = email.utils.formataddr((s.email_from_name, s.email_address))
        mail["To"] = message.recipient
        mail["Subject"] = subject
        mail["Date"] = email.utils.format_datetime(self.now())
        mail["Message-ID"] = f"<{digest}@{domain}>"
        mail["Auto-Submitted"] = "auto-replied"  # RFC 3834: autoresponders do not answer it
        mail["X-Auto-Response-Suppress"] = "All"
        mail["Content-Language"] = message.language
        if message.reply_to:
            chain = [r for r in variables.get("references", "").split() if r]
            if message.reply_to not in chain:
                chain.append(message.reply_to)
            mail["In-Reply-To"] = message.reply_to
            mail["References"] = " ".join(chain)
        mail.set_content(message.text)
        paragraphs = "".join(
            f"<p>{html.escape(block).replace(chr(10), '<br>')}</p>"
            for block in message.text.split("\n\n")
            if block.strip()
        )
        mail.add_alternative(
            f'<!doctype html><html lang="{html.escape(message.language)}"><body '
            f'style="font-family:sans-serif;line-height:1.5">{paragraphs}</body></html>',
            subtype="html",
        )
        for file in message.files:
            maintype, _, subtype = file.content_type.partition("/")
            mail.add_attachment(
                file.data,
                maintype=maintype or "application",
                subtype=subtype or "octet-stream",
                filename=file.filename,
            )
        return mail

    async def send(self, message: OutboundMessage) -> SendResult:
        s = self.settings
        if message.reply_mode is not ReplyMode.DIRECT:
            return SendResult.permanent(f"e-mail has no {message.reply_mode.value} replies")
        if not (s.smtp_host and s.email_address):
            return SendResult.permanent("SMTP_HOST and EMAIL_ADDRESS must be set to send e-mail")
        _, recipient = _address(message.recipient)
        if "@" not in recipient:
            return SendResult.permanent(f"not an e-mail address: {message.recipient!r}")
        mail = self.compose(message)
        try:
            await asyncio.to_thread(self._submit, mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = {code for code, _ in exc.recipients.values()}
            text = f"the mail server refused the recipient ({', '.join(map(str, codes))})"
            return (
                SendResult.retry(text)
                if all(400 <= c < 500 for c in codes)
                else SendResult.permanent(text)
            )
        except smtplib.SMTPAuthenticationError:
            return SendResult.retry("the mail server refused SMTP_USER/SMTP_PASSWORD")
        except smtplib.SMTPResponseException as exc:
            text = f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"
            return SendResult.retry(text) if exc.smtp_code < 500 else SendResult.permanent(text)
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            return SendResult.retry(f"SMTP unreachable: {type(exc).__name__}")
        return SendResult.sent(str(mail["Message-ID"]))

    def _submit(self, mail: EmailMessage) -> None:
        s = self.settings
        timeout = s.email_timeout_seconds
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.smtp_security == "ssl":
            smtp = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=timeout)
        with smtp:
            if s.smtp_security == "starttls":
                smtp.starttls(context=context)
            if s.smtp_user:
                password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                smtp.login(s.smtp_user, password)
            smtp.send_message(mail)
