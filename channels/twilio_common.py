"""What Twilio SMS and Twilio WhatsApp share: signatures, the webhook form, statuses, sending.

Provider: Twilio Programmable Messaging. Credentials: TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.
Webhooks: incoming messages POST a form to `/webhooks/<channel>`; delivery receipts POST to
`/webhooks/<channel>/status` (we pass that URL as `StatusCallback` on every send).

- Every webhook carries `X-Twilio-Signature`, an HMAC of the public URL Twilio called and the
  form fields; it is checked with the SDK's `RequestValidator` against
  `TWILIO_PUBLIC_BASE_URL` + the path we saw, because behind a proxy the URL we receive is not
  the one Twilio signed.
- The form is parsed into a typed model (`TwilioMessageForm`, `TwilioStatusForm`).
- Statuses map to `DeliveryState` through `TWILIO_STATUS`; Twilio error codes to a retryable or
  permanent failure through `TWILIO_ERRORS`.
- Hostile forms (`NumMedia=dua`, a missing `MediaUrl1`, a body over WEBHOOK_MAX_BYTES) are
  `PayloadError`; messages pass `channels.sanitize.finish` (CHAT_MAX_CHARS, no NUL). Media and
  contact cards are fetched from Twilio's media hosts only, the Basic auth sent to the API host
  only (`download`, `resolve_contact`).
- Sending goes through the real SDK `Client`. Its `http_client` is `ApiBaseHttpClient`, a
  `TwilioHttpClient` that rewrites `https://*.twilio.com` to `TWILIO_API_BASE_URL` (a local
  fake in tests and in the demo, a proxy in some deployments). The SDK is synchronous; each call
  runs in a worker thread (`asyncio.to_thread`), see `TwilioSender`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from abc import abstractmethod
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import requests
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from channels.addresses import to_e164
from channels.base import (
    Channel,
    DeliveryState,
    DeliveryStatus,
    InboundMessage,
    Media,
    MediaError,
    PayloadError,
    RawRequest,
    SendResult,
    SignatureError,
    WebhookAck,
    retry_after_header,
)
from channels.media import fetch_media, media_policy
from channels.sanitize import (
    check_body_size,
    coordinate,
    finish,
    finish_message,
    finish_statuses,
    reading,
)
from channels.vcard import CONTACT_CARD_URL, VCARD_MAX_BYTES, VCARD_TYPES, is_vcard, read_vcard
from config.settings import Settings

TWILIO_DEFAULT_API = "https://api.twilio.com"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

logger = logging.getLogger(__name__)

# The SDK logs every request's query at INFO, phone numbers included: keep that out of our logs.
_sdk_logger = logging.getLogger("channels.twilio_sdk")
_sdk_logger.setLevel(logging.WARNING)


def utc_now() -> datetime:
    return datetime.now(UTC)


# --- the webhook form ---------------------------------------------------------------------------


class _FormParams(dict[str, list[str]]):
    """Form fields for `RequestValidator`, which reads repeated keys through `getall`."""

    def getall(self, name: str) -> list[str]:
        return self[name]


def form_params(body: bytes) -> _FormParams:
    """The form as Twilio signed it, read leniently (a garbled body just fails the signature)."""
    params = _FormParams()
    for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        params.setdefault(key, []).append(value)
    return params


def parse_form(body: bytes) -> dict[str, str]:
    """The form strictly: `PayloadError` unless it is UTF-8 `application/x-www-form-urlencoded`."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError(f"not a Twilio form body: {exc}") from None
    return dict(pairs)  # Twilio never repeats a field


class TwilioMedia(BaseModel):
    url: str
    content_type: str | None = None


class TwilioMessageForm(BaseModel):
    """An incoming message webhook (SMS or WhatsApp), the fields we use."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    message_sid: str = Field(alias="MessageSid", min_length=1)
    account_sid: str = Field(default="", alias="AccountSid")
    sender: str = Field(alias="From", min_length=1)
    to: str = Field(default="", alias="To")
    body: str = Field(default="", alias="Body")
    num_media: int = Field(default=0, alias="NumMedia", ge=0, le=10)
    media: tuple[TwilioMedia, ...] = ()
    profile_name: str | None = Field(default=None, alias="ProfileName")
    wa_id: str | None = Field(default=None, alias="WaId")
    message_type: str | None = Field(default=None, alias="MessageType")
    latitude: float | None = Field(default=None, alias="Latitude")
    longitude: float | None = Field(default=None, alias="Longitude")
    location_unreadable: bool = False  # a pin was sent, its coordinates were no numbers
    address: str | None = Field(default=None, alias="Address")
    label: str | None = Field(default=None, alias="Label")
    button_text: str | None = Field(default=None, alias="ButtonText")
    button_payload: str | None = Field(default=None, alias="ButtonPayload")
    replied_message_sid: str | None = Field(default=None, alias="OriginalRepliedMessageSid")

    @model_validator(mode="before")
    @classmethod
    def _collect_media(cls, data: Any) -> Any:
        """`MediaUrl0..n` / `MediaContentType0..n` become one tuple of `TwilioMedia`."""
        if not isinstance(data, Mapping):
            return data
        count = str(data.get("NumMedia") or "0")
        if not count.isdigit():
            return data  # the int field reports it
        media = []
        for n in range(min(int(count), 10)):
            url = data.get(f"MediaUrl{n}")
            if not url:
                raise ValueError(f"NumMedia is {count} but MediaUrl{n} is missing")
            media.append({"url": url, "content_type": data.get(f"MediaContentType{n}") or None})
        return {**data, "media": media}

    @model_validator(mode="before")
    @classmethod
    def _readable_location(cls, data: Any) -> Any:
        """A pin whose coordinates are no numbers or out of range (`Latitude=abc`) is left out
        and noted, so the rest of the message is still read."""
        if not isinstance(data, Mapping):
            return data
        given = (data.get("Latitude"), data.get("Longitude"))
        if all(value in (None, "") for value in given):
            return data
        rest = {k: v for k, v in data.items() if k not in ("Latitude", "Longitude")}
        latitude, longitude = coordinate(given[0], 90), coordinate(given[1], 180)
        if latitude is None or longitude is None:
            return {**rest, "location_unreadable": True}
        return {**rest, "Latitude": latitude, "Longitude": longitude}

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> TwilioMessageForm:
        try:
            return cls.model_validate(dict(form))
        except ValidationError as exc:
            raise PayloadError(f"not a Twilio message webhook: {_first_error(exc)}") from None


class TwilioStatusForm(BaseModel):
    """A status callback for a message we sent."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    message_sid: str = Field(alias="MessageSid", min_length=1)
    message_status: str = Field(alias="MessageStatus", min_length=1)
    error_code: int | None = Field(default=None, alias="ErrorCode")
    error_message: str | None = Field(default=None, alias="ErrorMessage")

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> TwilioStatusForm:
        cleaned = {k: v for k, v in form.items() if v != ""}  # ErrorCode is sent empty
        try:
            return cls.model_validate(cleaned)
        except ValidationError as exc:
            raise PayloadError(f"not a Twilio status callback: {_first_error(exc)}") from None


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "body"
    return f"{where}: {error['msg']}"


def is_status_callback(raw: RawRequest, form: Mapping[str, str]) -> bool:
    """Status callbacks come to `/status`, or carry `MessageStatus` and no message `Body`."""
    return raw.subpath.strip("/") == "status" or ("MessageStatus" in form and "Body" not in form)


# --- statuses and errors: the two tables ---------------------------------------------------------

# Twilio's MessageStatus values → ours; None: not about a message we sent.
TWILIO_STATUS: dict[str, DeliveryState | None] = {
    "accepted": DeliveryState.QUEUED,
    "scheduled": DeliveryState.QUEUED,
    "queued": DeliveryState.QUEUED,
    "sending": DeliveryState.QUEUED,
    "sent": DeliveryState.SENT,
    "delivered": DeliveryState.DELIVERED,
    "partially_delivered": DeliveryState.DELIVERED,
    "read": DeliveryState.READ,
    "undelivered": DeliveryState.FAILED,
    "failed": DeliveryState.FAILED,
    "canceled": DeliveryState.FAILED,
    "receiving": None,
    "received": None,
}

# Twilio error code → (what the admin reads, whether sending again later may succeed).
TWILIO_ERRORS: dict[int, tuple[str, bool]] = {
    20003: ("Twilio rejected our credentials (check TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN)", True),
    20429: ("Twilio rate limit reached", True),
    20500: ("Twilio internal error", True),
    20503: ("Twilio service unavailable", True),
    21211: ("invalid 'To' phone number", False),
    21214: ("'To' number cannot be reached", False),
    21408: ("sending to this region is not enabled on the Twilio account", False),
    21606: ("the 'From' number cannot send this kind of message", False),
    21610: ("the recipient has unsubscribed (replied STOP)", False),
    21612: ("Twilio cannot route a message to this number", False),
    21614: ("'To' is not a mobile number", False),
    21617: ("the message body is too long", False),
    21655: ("the WhatsApp template (ContentSid) is invalid", False),
    21656: ("the WhatsApp template variables are invalid", False),
    30001: ("Twilio queue overflow", True),
    30003: ("the handset is unreachable", False),
    30004: ("the message was blocked", False),
    30005: ("unknown destination handset", False),
    30006: ("landline or unreachable carrier", False),
    30007: ("filtered by the carrier", False),
    30008: ("unknown delivery error", False),
    63003: ("the recipient cannot be reached on WhatsApp", False),
    63016: ("outside WhatsApp's 24-hour window: an approved template is required", False),
    63018: ("WhatsApp rate limit reached", True),
    63024: ("invalid WhatsApp recipient", False),
}


def describe_error(code: int | None, fallback: str = "") -> str:
    known = TWILIO_ERRORS.get(code) if code is not None else None
    text = known[0] if known else (fallback or "error")
    return f"Twilio {code}: {text}" if code is not None else f"Twilio: {text}"


def delivery_statuses(channel: str, raw: RawRequest, max_bytes: int) -> list[DeliveryStatus]:
    """The status callback in `raw` as a `DeliveryStatus`; [] for an incoming message."""
    check_body_size(raw, max_bytes)
    form = parse_form(raw.body)
    if not is_status_callback(raw, form):
        return []
    status = TwilioStatusForm.from_form(form)
    state = TWILIO_STATUS.get(status.message_status.lower())
    if state is None:
        return []
    error = None
    if state is DeliveryState.FAILED:
        error = describe_error(status.error_code, status.error_message or status.message_status)
    return finish_statuses([DeliveryStatus(channel, status.message_sid, state, error)])


def send_failure(exc: Exception, retry_after: float | None = None) -> SendResult:
    """A failed SDK call as a `SendResult`: rate limits, 5xx and the network retry, not before
    the answer's `Retry-After` (seconds) when it had one."""
    if isinstance(exc, TwilioRestException | TwilioServiceException):
        status = int(exc.status)
        code = int(exc.code) if exc.code is not None else None
        detail = exc.msg if isinstance(exc, TwilioRestException) else (exc.detail or exc.title)
        if code in TWILIO_ERRORS:
            text, retryable = TWILIO_ERRORS[code]
            error = f"Twilio {code}: {text}"
        else:
            retryable = False
            error = f"Twilio {code or status}: {detail}"
        if status == 429 or status >= 500:
            retryable = True
        return SendResult.retry(error, retry_after) if retryable else SendResult.permanent(error)
    if isinstance(exc, requests.Timeout):
        return SendResult.retry("Twilio did not answer in time")
    if isinstance(exc, requests.RequestException):
        return SendResult.retry(f"Twilio unreachable ({type(exc).__name__})")
    return SendResult.retry(f"Twilio call failed ({type(exc).__name__})")


# --- pointing the SDK somewhere else -------------------------------------------------------------


def rebase_twilio_url(url: str, api_base: str) -> str:
    """`https://api.twilio.com/2010-04-01/...` → `<api_base>/2010-04-01/...` (other hosts kept)."""
    if api_base.rstrip("/") == TWILIO_DEFAULT_API:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host != "twilio.com" and not host.endswith(".twilio.com"):
        return url
    base = urlsplit(api_base)
    return urlunsplit(
        (base.scheme, base.netloc, base.path.rstrip("/") + parts.path, parts.query, "")
    )


class ApiBaseHttpClient(TwilioHttpClient):
    """The SDK's own HTTP client, sending to `api_base` instead of Twilio's hosts, and keeping
    each thread's last answer's `Retry-After`.

    The SDK builds absolute `https://api.twilio.com/...` URLs (pagination links included);
    rewriting them at the one place every request passes keeps the rest of the SDK untouched.
    The SDK's `TwilioRestException` carries no headers, so a 429's `Retry-After` would be lost;
    every answer passes here, in the thread that made the call (sends run one per worker
    thread), so a thread-local keeps it for that call without mixing up concurrent sends.
    """

    def __init__(self, api_base: str, timeout: float) -> None:
        super().__init__(timeout=timeout, logger=_sdk_logger)
        self.api_base = api_base
        self._answers = threading.local()

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        self._answers.retry_after = None
        response = super().request(method, rebase_twilio_url(url, self.api_base), *args, **kwargs)
        headers = response.headers or {}
        self._answers.retry_after = retry_after_header(headers.get("Retry-After"))
        return response

    def last_retry_after(self) -> float | None:
        """The `Retry-After` (seconds) of this thread's last answer; None when it had none."""
        return getattr(self._answers, "retry_after", None)


def public_url(received_url: str, public_base: str | None) -> str:
    """The URL Twilio signed: the public base, then the path and query we received."""
    if not public_base:
        return received_url
    seen = urlsplit(received_url)
    base = urlsplit(public_base)
    return urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + seen.path, seen.query, ""))


# --- sending -------------------------------------------------------------------------------------


class TwilioSender:
    """The SDK `Client`, called from a worker thread so the event loop never blocks.

    Why threads rather than the SDK's aiohttp client: that client holds an aiohttp session bound
    to the loop that created it and must be closed explicitly, while the gateway sends from the
    outbox job and the CLI from their own loops; sends are few and short (a timeout bounds each),
    so a worker thread per call costs nothing that matters and the `requests` pool is reused.
    """

    def __init__(self, settings: Settings) -> None:
        token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
        self.configured = bool(settings.twilio_account_sid and token)
        self._http = ApiBaseHttpClient(
            settings.twilio_api_base_url, settings.twilio_timeout_seconds
        )
        self._client = Client(
            username=settings.twilio_account_sid or "unconfigured",
            password=token or "unconfigured",
            http_client=self._http,
        )

    def __repr__(self) -> str:
        return "<TwilioSender>"  # never the credentials

    async def create(self, **params: Any) -> SendResult:
        """POST one Message; the result carries its SID or the classified failure."""
        if not self.configured:
            return SendResult.permanent("Twilio is not configured (TWILIO_ACCOUNT_SID/AUTH_TOKEN)")
        return await asyncio.to_thread(self._create, params)

    def _create(self, params: dict[str, Any]) -> SendResult:
        """In the worker thread: the create, and on failure the answer's `Retry-After`, read
        in the same thread that made the call."""
        try:
            message = self._client.messages.create(**params)
        except (TwilioException, requests.RequestException) as exc:
            return send_failure(exc, retry_after=self._http.last_retry_after())
        return SendResult.sent(message.sid)

    async def find(self, *, to: str, sender: str, since: datetime, body: str) -> str | None:
        """The SID of the newest message with this body sent to `to` from `sender` since
        `since`; None when there is none or Twilio cannot be asked."""
        found = await self.find_all(to=to, sender=sender, since=since, body=body)
        return found[0] if found else None

    async def find_all(
        self, *, to: str, sender: str, since: datetime, body: str
    ) -> list[str] | None:
        """The SIDs of every message with this body sent to `to` from `sender` since `since`,
        newest first; None when Twilio cannot be asked.

        Filters on To/From and then on `date_created` here rather than with `DateSent>=`:
        Twilio filters DateSent by whole days, and a message still queued has no DateSent yet.
        The list is newest first, so the last 50 are far more than a crash can leave behind.
        """
        if not self.configured:
            return None
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        wanted = body.strip()

        def lookup() -> list[str]:
            found = []
            for message in self._client.messages.list(to=to, from_=sender, limit=50):
                created = message.date_created
                if created is not None and created < since:
                    break
                if (message.body or "").strip() == wanted:
                    found.append(message.sid)
            return found

        try:
            return await asyncio.to_thread(lookup)
        except (TwilioException, requests.RequestException):
            return None  # the provider cannot be asked: nobody can tell


# --- the shared channel --------------------------------------------------------------------------


class TwilioChannel(Channel):
    """Verify, parse and ack Twilio webhooks; subclasses turn the form into messages and send."""

    can_find_sent = True

    def __init__(
        self,
        settings: Settings,
        *,
        now: Callable[[], datetime] = utc_now,
        sender: TwilioSender | None = None,
    ) -> None:
        self.settings = settings
        self.now = now
        self.sender = sender or TwilioSender(settings)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    # inbound

    def verify(self, raw: RawRequest) -> None:
        token = self.settings.twilio_auth_token
        if token is None or not token.get_secret_value():
            raise SignatureError(
                "TWILIO_AUTH_TOKEN is not set, so no Twilio request can be trusted"
            )
        signature = raw.header("X-Twilio-Signature")
        if not signature:
            raise SignatureError("missing X-Twilio-Signature")
        url = public_url(raw.url, self.settings.twilio_public_base_url)
        validator = RequestValidator(token.get_secret_value())
        if not validator.validate(url, form_params(raw.body), signature):
            raise SignatureError(f"X-Twilio-Signature does not match a request to {url}")

    def parse(self, raw: RawRequest) -> list[InboundMessage]:
        check_body_size(raw, self.settings.webhook_max_bytes)
        form = parse_form(raw.body)
        if is_status_callback(raw, form):
            TwilioStatusForm.from_form(form)  # a garbled receipt is a 400 whichever is asked
            return []
        typed = TwilioMessageForm.from_form(form)
        with reading(f"not a {self.name} message"):
            message = self.inbound_message(typed)
        if message is None or not (
            message.text.strip()
            or message.media
            or message.location
            or message.button_payload
            or message.extra.get(CONTACT_CARD_URL)
        ):
            if typed.location_unreadable:  # a pin we cannot read is no empty message
                raise PayloadError(f"a {self.name} location whose coordinates are no numbers")
            logger.info("%s message ignored: nothing we handle", self.name)
            return []
        return finish([message], max_chars=self.settings.chat_max_chars, now=self.now())

    @abstractmethod
    def inbound_message(self, form: TwilioMessageForm) -> InboundMessage | None:
        """The channel's reading of one incoming message form; None for one we ignore."""

    def parse_statuses(self, raw: RawRequest) -> list[DeliveryStatus]:
        return delivery_statuses(self.name, raw, self.settings.webhook_max_bytes)

    @staticmethod
    def media_and_card(form: TwilioMessageForm) -> tuple[tuple[Media, ...], dict[str, str]]:
        """The form's attachments, and a shared contact card set apart: a WhatsApp contact
        arrives as a vCard file (`MessageType=contacts`, `text/vcard`), read by
        `resolve_contact`, not stored as a photo or document."""
        media: list[Media] = []
        extra: dict[str, str] = {}
        for item in form.media:
            if is_vcard(item.content_type) and CONTACT_CARD_URL not in extra:
                extra[CONTACT_CARD_URL] = item.url
            else:
                media.append(Media(url=item.url, content_type=item.content_type))
        return tuple(media), extra

    async def resolve_contact(self, message: InboundMessage) -> InboundMessage:
        """The message with its contact card read: `contact_phone` the card's first number
        (E.164), `extra["contact_name"]` its name, `extra["contact_is_sender"]` when it is the
        sender's own WhatsApp number. The card is fetched like any media (Twilio's hosts, the
        Basic auth to the API host only), at most `VCARD_MAX_BYTES`; `MediaError` when it
        cannot be (retryable or not). A message without a card is returned as it is."""
        url = message.extra.get(CONTACT_CARD_URL)
        if not url:
            return message
        data, _ = await self.download(
            Media(url=url, content_type="text/vcard"), VCARD_MAX_BYTES, VCARD_TYPES
        )
        card = read_vcard(data)
        region = self.settings.phone_default_region
        numbers = [to_e164(number, region) for number in card.phones]
        extra = {k: v for k, v in message.extra.items() if k != CONTACT_CARD_URL}
        extra["contact_card"] = "read"
        if card.name:
            extra["contact_name"] = card.name[:200]
        sender_id = message.extra.get("wa_id") or message.sender.lstrip("+")
        if sender_id and sender_id in card.wa_ids:
            extra["contact_is_sender"] = "true"
        resolved = replace(
            message, contact_phone=next((n for n in numbers if n), None), extra=extra
        )
        return finish_message(
            resolved, max_chars=self.settings.chat_max_chars, now=message.received_at
        )

    def ack(self, raw: RawRequest) -> WebhookAck:
        """Empty TwiML in `twiml` mode, else 204: replies are sent later, through the REST API.

        The gateway acknowledges before any slow work, so no reply exists yet when the webhook
        answers; in both modes the bot's replies therefore go out through `send()`. `twiml` mode
        only changes the acknowledgement into the documented "no reply" TwiML document.
        """
        if raw.subpath.strip("/") == "status":
            return WebhookAck(status_code=204)
        if self.settings.twilio_reply_mode == "twiml":
            return WebhookAck(body=EMPTY_TWIML, media_type="text/xml")
        return WebhookAck(status_code=204)

    # outbound helpers

    def status_callback_url(self) -> str:
        base = self.settings.twilio_public_base_url or self.settings.public_base_url
        return f"{base.rstrip('/')}/webhooks/{self.name}/status"

    async def download(
        self, media: Media, max_bytes: int, allowed_types: Collection[str] | None = None
    ) -> tuple[bytes, str | None]:
        """Fetch a `MediaUrl`: only from Twilio's media hosts (TWILIO_MEDIA_HOSTS), the
        account's Basic auth only to the API host; Twilio then redirects to its CDN, which
        gets no credentials (`channels.media`)."""
        if not media.url:
            raise MediaError("Twilio media has no URL", retryable=False)
        token = self.settings.twilio_auth_token
        if not self.settings.twilio_account_sid or token is None:
            raise MediaError("Twilio is not configured, media cannot be fetched", retryable=True)
        url = rebase_twilio_url(media.url, self.settings.twilio_api_base_url)
        return await fetch_media(
            url,
            policy=media_policy(self.settings, "twilio"),
            max_bytes=max_bytes,
            allowed_types=self.settings.media_allowed_types
            if allowed_types is None
            else allowed_types,
            claimed_type=media.content_type,
            auth=(self.settings.twilio_account_sid, token.get_secret_value()),
            describe=f"Twilio media {url.rsplit('/', 1)[-1][:40]}",
            timeout=self.settings.media_download_timeout_seconds,
        )


def location_label(label: str | None, address: str | None) -> str | None:
    """A pin's label and address as one line ("Pasar Kota, Jl. Pemuda 12")."""
    parts = [p.strip() for p in (label, address) if p and p.strip()]
    return ", ".join(dict.fromkeys(parts)) or None
