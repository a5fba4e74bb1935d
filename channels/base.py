"""The channel contract: what every provider module offers the gateway.

A channel knows nothing of complaints or the database. It turns a provider's webhook request
into `InboundMessage`s (pure: bytes and headers in, messages out) and sends an
`OutboundMessage` back, reporting failure as a `SendResult` instead of raising.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum


class SignatureError(Exception):
    """The request is not signed by the provider (answer 403, store nothing)."""


class PayloadError(Exception):
    """The request cannot be parsed. Signed by the provider, it is the provider's all the same:
    the gateway keeps it raw for the admins and acknowledges it (a 4xx would only make the
    provider retry, then drop it); unsigned input (the web form, the API) is answered 400."""


@dataclass(frozen=True)
class RawRequest:
    """A webhook request as received, before anyone trusts it."""

    body: bytes
    headers: Mapping[str, str]  # keys lower-cased
    url: str  # the full URL as the provider called it (scheme, host, path, query)
    query: Mapping[str, str] = field(default_factory=dict)
    subpath: str = ""  # what follows /webhooks/{channel}/, e.g. "status"

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class MessageKind(StrEnum):
    MESSAGE = "message"  # an ordinary message: text, media, location, contact
    EDITED = "edited"  # an edit of an earlier message (`edits` names it)
    BUTTON = "button"  # a button press / callback query (`button_payload` says which)


@dataclass(frozen=True)
class Media:
    """A photo or document attached to a message: where to fetch it, and what it claims to be."""

    url: str | None = None  # provider URL to download from
    ref: str | None = None  # provider file id, or a local storage key once stored
    content_type: str | None = None
    size: int | None = None
    filename: str | None = None


@dataclass(frozen=True)
class Location:
    latitude: float | None = None
    longitude: float | None = None
    label: str | None = None  # a venue name, a pin's label, or a typed place


@dataclass(frozen=True)
class InboundMessage:
    channel: str
    external_id: str  # unique per channel: provider retries carry the same one
    sender: str  # E.164 phone, Telegram chat id, X user id, e-mail, web session
    received_at: datetime
    text: str = ""
    sender_name: str | None = None
    media: tuple[Media, ...] = ()
    location: Location | None = None
    kind: MessageKind = MessageKind.MESSAGE
    reply_to: str | None = None  # provider id of the message this one answers
    edits: str | None = None  # external id of the message an EDITED message replaces
    button_payload: str | None = None
    contact_phone: str | None = None  # a shared contact card's number (E.164)
    language: str | None = None  # a hint from the provider (Telegram's language_code)
    extra: Mapping[str, str] = field(default_factory=dict)
    # A public post (a comment under the regency's post, a mention on X) rather than a private
    # message: anyone can read it, so every answer to it in public must be neutral (no personal
    # data, no details) and the conversation continues privately where the platform allows.
    public: bool = False
    # The provider object a reply belongs under: the comment id (Instagram/Facebook/YouTube),
    # the tweet id (X), the Message-ID of a mail. `OutboundMessage.reply_to` takes it back.
    thread_ref: str | None = None
    # Where a person can see the original on the platform (a comment's or a tweet's link).
    permalink: str | None = None


class ReplyMode(StrEnum):
    """How an outgoing message reaches its recipient."""

    DIRECT = "direct"  # a private message to `recipient` (chat, DM, SMS, e-mail)
    PUBLIC = "public"  # a public reply under `reply_to` (a comment, a tweet): neutral text only
    PRIVATE_REPLY = "private_reply"  # Meta's private reply to the comment `reply_to`


class DeliveryState(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


@dataclass(frozen=True)
class DeliveryStatus:
    """A provider's receipt for something we sent (a Twilio status callback, say)."""

    channel: str
    provider_message_id: str
    state: DeliveryState
    error: str | None = None


@dataclass(frozen=True)
class Button:
    label: str
    payload: str


@dataclass(frozen=True)
class FileAttachment:
    """A document sent with a message (the e-mail channel attaches it; chat channels, which
    send photos by `Media` URL, do not take files)."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class OutboundMessage:
    channel: str
    recipient: str
    text: str
    idempotency_key: str
    kind: str = "reply"  # reply, question, status, answer, notification, reminder...
    language: str = "id"
    media: tuple[Media, ...] = ()  # `url` must be reachable by the provider, or `ref` a file
    buttons: tuple[Button, ...] = ()
    request_location: bool = False
    # The "share my location" button's text (rendered from a template, in `language`).
    location_button_label: str = ""
    # WhatsApp's 24-hour window: when did this recipient last write to us?
    recipient_last_inbound_at: datetime | None = None
    template_variables: Mapping[str, str] = field(default_factory=dict)
    reply_mode: ReplyMode = ReplyMode.DIRECT
    # With PUBLIC or PRIVATE_REPLY: the provider object to answer (InboundMessage.thread_ref);
    # with DIRECT on e-mail: the Message-ID for In-Reply-To.
    reply_to: str | None = None
    files: tuple[FileAttachment, ...] = ()  # documents (e-mail only), e.g. a report's XLSX


def retry_after_header(value: str | None) -> float | None:
    """A Retry-After header in seconds (the delta form; an HTTP date is read as well)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), 86400))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    seconds = (when - datetime.now(UTC)).total_seconds() if when.tzinfo else None
    return max(0.0, min(seconds, 86400.0)) if seconds is not None else None


@dataclass(frozen=True)
class SendResult:
    ok: bool
    provider_message_id: str | None = None
    retryable: bool = False
    error: str | None = None
    parts: int = 1  # SMS segments or Telegram messages it took
    # The address the provider resolved the recipient to, when we did not know it: Meta's
    # private reply is addressed to a comment and answers with the commenter's PSID/IGSID,
    # the sender id their direct messages will then carry.
    recipient: str | None = None
    # Seconds the provider asked us to wait before trying again (HTTP 429/503 Retry-After,
    # Telegram's flood control); the outbox waits at least this long.
    retry_after: float | None = None

    @classmethod
    def sent(
        cls, provider_message_id: str | None, parts: int = 1, recipient: str | None = None
    ) -> SendResult:
        return cls(
            ok=True, provider_message_id=provider_message_id, parts=parts, recipient=recipient
        )

    @classmethod
    def retry(cls, error: str, retry_after: float | None = None) -> SendResult:
        return cls(ok=False, retryable=True, error=error, retry_after=retry_after)

    @classmethod
    def permanent(cls, error: str) -> SendResult:
        return cls(ok=False, retryable=False, error=error)


@dataclass(frozen=True)
class WebhookAck:
    """What the webhook route answers once messages are stored."""

    status_code: int = 200
    body: str = ""
    media_type: str = "text/plain"


class Channel(ABC):
    name: str

    @abstractmethod
    def verify(self, raw: RawRequest) -> None:
        """Raise `SignatureError` unless the provider signed this request."""

    @abstractmethod
    def parse(self, raw: RawRequest) -> list[InboundMessage]:
        """Messages in the request; [] for events we do not handle. `PayloadError` if garbled."""

    def parse_statuses(self, raw: RawRequest) -> list[DeliveryStatus]:
        """Delivery receipts in the request (most channels have none)."""
        return []

    def ack(self, raw: RawRequest) -> WebhookAck:
        """The answer the provider expects once we have stored what it sent."""
        return WebhookAck()

    def handshake(self, raw: RawRequest) -> WebhookAck | None:
        """Answer a provider's GET set-up check on the webhook URL (Meta's `hub.challenge`,
        X's CRC `crc_token`), or None when the channel has none (the route answers 405).
        Raise `SignatureError` when the check's token or signature is wrong (403)."""
        return None

    @abstractmethod
    async def send(self, message: OutboundMessage) -> SendResult:
        """Send one message; never raise for provider errors."""

    async def find_sent(self, message: OutboundMessage, since: datetime) -> str | None:
        """After a crash mid-send: the provider id if the provider already has this message.

        Returns None when the provider has no trace of it *or cannot be asked*; channels that
        can answer override `can_find_sent`.
        """
        return None

    can_find_sent: bool = False

    async def sent_candidates(self, message: OutboundMessage, since: datetime) -> list[str] | None:
        """After a crash mid-send: the provider ids of every message since `since` that looks
        like this one (same recipient, same text), newest first; `[]` when the provider has
        none, None when it cannot be asked or cannot recognise this message. The gateway
        decides which, if any, is this row's (issue 13: never an earlier identical reply)."""
        return None

    async def download(self, media: Media, max_bytes: int) -> tuple[bytes, str | None]:
        """Fetch an attachment (with the provider's auth); raise `MediaError` on failure."""
        raise MediaError("this channel has no downloadable media", retryable=False)

    async def resolve_contact(self, message: InboundMessage) -> InboundMessage:
        """The message with a shared contact card it only points to read into `contact_phone`
        (`extra["contact_card_url"]`: Twilio's WhatsApp vCards). I/O: the gateway calls it
        after the ack. `MediaError` when the card cannot be fetched. Most channels carry the
        number in the payload itself and return the message as it is."""
        return message


class MediaError(Exception):
    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


# --- pollers: sources that do not push ------------------------------------------------------


class PollError(Exception):
    """A poll failed. `retryable` (network, 5xx, 429, quota) means try again later, after
    `retry_after` seconds when the provider said so; otherwise the credentials or the request
    are wrong and an admin must act (shown on the health page). `cost` is what the failed poll
    still spent (X bills the pages read before a 429), for the daily budget."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = True,
        retry_after: float | None = None,
        cost: int = 0,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.cost = cost


@dataclass(frozen=True)
class Unreadable:
    """An item a poller fetched but cannot read (a poison mail or post): its raw record and
    why. It must not stop the source (the cursor moves past it), and it must not be lost: the
    gateway keeps it like a signed webhook it cannot read (status `unreadable`)."""

    raw: str
    reason: str


@dataclass(frozen=True)
class PollResult:
    """What one poll brought: messages (oldest first), the cursor to store with them in one
    transaction, whether more is waiting now, and what the call cost (API units, reads)."""

    messages: list[InboundMessage]
    cursor: str | None
    more: bool = False
    cost: int = 1
    # The provider's own record of each message by `external_id` (a tweet's JSON, a mail's
    # headers), for the gateway to keep as the raw payload beside the parsed message.
    raw: Mapping[str, str] = field(default_factory=dict)
    # What was fetched and could not be read, for the gateway to keep (never dropped silently).
    unreadable: tuple[Unreadable, ...] = ()


# What a poller's row says while its daily read budget or quota is used up (gateway/jobs/pollers.py
# writes it; the health page reads it).
BUDGET_SPENT = "daily budget spent; polling resumes on the provider's next day"


class Poller(ABC):
    """A source the gateway asks instead of being told (X mentions and DMs, YouTube comments,
    an IMAP mailbox, the core's LAPOR-originated reports). The gateway runs each poller on one
    instance only and stores the cursor in the transaction that stores the messages, so a crash
    fetches again and never skips; intake is idempotent on `external_id`."""

    name: str  # the source's key for its cursor and health: "x_mentions", "email"...
    channel: str  # the channel its messages carry (and whose `send` answers them)
    # Seconds between polls when nothing is waiting (a setting per source).
    interval_seconds: float = 60.0
    # What `cost` may add up to per provider day (`budget_day`); None: no budget. The gateway
    # stops polling the source for the rest of that day once it is spent.
    daily_budget: int | None = None

    @abstractmethod
    async def fetch(self, cursor: str | None) -> PollResult:
        """Messages after `cursor` (None: start from now, not from the beginning of time).
        Raise `PollError` on failure; never return a cursor past a message not returned."""

    def budget_day(self, now: datetime) -> date:
        """The provider's accounting day `now` falls in (UTC unless the provider says else)."""
        return now.astimezone(UTC).date()

    def budget_left(self, day: date | None, used: int, now: datetime) -> int | None:
        """What the source may still spend on the provider's day of `now`, given what was
        spent on `day` (None: the source has no budget)."""
        if self.daily_budget is None:
            return None
        return max(self.daily_budget - (used if day == self.budget_day(now) else 0), 0)

    async def wait_for_news(self, timeout: float) -> None:
        """Wait up to `timeout` seconds before the next poll. Sources that can be told of news
        (IMAP IDLE) return as soon as something arrives; the rest simply sleep."""
        await asyncio.sleep(timeout)

    async def aclose(self) -> None:  # noqa: B027 - most pollers hold nothing to close
        """Release connections (the gateway's shutdown)."""
