"""Telegram through python-telegram-bot: the citizen chats with the LAPOR! bot.

Provider: Telegram Bot API. Credentials: TELEGRAM_BOT_TOKEN; TELEGRAM_WEBHOOK_SECRET is the
`secret_token` given to `setWebhook` (see `register_webhook`) and required on every update.
Webhook: `<public base>/webhooks/telegram`. Without a public URL, TELEGRAM_MODE=polling: the
gateway runs `poll()` as a background task instead (it deletes the webhook first).

Inbound (`parse`, pure): the update is read with `telegram.Update.de_json`. The external id is the
`update_id`. Private chats only; the sender is the chat id. Text; photo (largest size, caption
as text); document, video, voice and audio as media (`Media.ref` is the file id, fetched through
getFile by `download`); location, and venue (label "title, address"); contact (number as
E.164); `/start` and other commands as plain text; `language_code` as language.

Edits: an `edited_message` carries its own `update_id` but not the original's. Every message's
`extra["message_ref"]` is `"<chat id>:<message id>"`, and an EDITED message's `edits` is that same
ref of the message it replaces, so the gateway finds the original by `extra["message_ref"]`.
(`edits` is thus a message ref, not an update id; Telegram gives nothing better.) `reply_to` is
the ref of the message being replied to.

Inline buttons: a callback query is a BUTTON message with `button_payload` = the callback data,
`text` = the pressed button's label, `extra["callback_query_id"]` for `answer_button()`, which the
gateway calls so the user's spinner stops.

Ignored (return [], answer 200): stickers alone, reactions, chat member changes, polls, service
messages, anything from groups and channels. Parts of a message we do not read are dropped
before python-telegram-bot reads it (`readable_update`), so older genuine shapes of them (a
sticker without `is_animated`) never make an update unreadable, and the parts we read are
checked field by field, because python-telegram-bot checks no types: a photo size without its
width is still a photo, a date past the year 9999 is "now" (`extra["provider_time"]` keeps
Telegram's), a location that is no number is dropped and the rest kept. An update we still
cannot read raises `PayloadError` and the gateway keeps it raw (gateway/intake/webhooks.py); every
message passes `channels.sanitize.finish` (no NUL, CHAT_MAX_CHARS, ids within 200).

Outbound (`send`): through `telegram.Bot` with `base_url` at TELEGRAM_API_BASE_URL. Media first
(one photo with the text as caption when it fits 1024 characters; several as a media group),
then the text in parts of at most 4096 characters; the keyboard goes on the last message:
inline buttons from `OutboundMessage.buttons`, or a one-time reply keyboard with a "share
location" button when `request_location`; otherwise the reply keyboard is removed.
`provider_message_id` is the ref of the first message sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import warnings
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatType, MessageLimit
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning, PTBUserWarning

from channels.addresses import to_e164
from channels.base import (
    Channel,
    InboundMessage,
    Location,
    Media,
    MediaError,
    MessageKind,
    OutboundMessage,
    PayloadError,
    RawRequest,
    SendResult,
    SignatureError,
)
from channels.media import fetch_media, media_policy
from channels.sanitize import (
    LOCATION_DROPPED,
    MEDIA_DROPPED,
    PROVIDER_TIME,
    check_body_size,
    coordinate,
    finish,
    load_json,
    reading,
    secrets_match,
)
from channels.text_split import split_text
from config.settings import Settings

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
# What we ask Telegram for (setWebhook / getUpdates); everything else is ignored anyway.
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
MEDIA_GROUP_MAX = 10
LOCATION_BUTTON_FALLBACK = "📍"  # only when the gateway gave no label: no words, no language

# Telegram error descriptions that are BadRequest (400) yet pass with time.
_TRANSIENT_BAD_REQUESTS = ("failed to get http url content", "too many requests")

logger = logging.getLogger(__name__)


def message_ref(chat_id: int | str, message_id: int) -> str:
    """How the gateway names one Telegram message: message ids are only unique per chat."""
    return f"{chat_id}:{message_id}"


def telegram_failure(exc: TelegramError) -> SendResult:
    """A Bot API error as a `SendResult`; one table of exception types, most specific first."""
    text = exc.message
    if isinstance(exc, RetryAfter):
        wait = retry_after_seconds(exc)
        return SendResult.retry(f"Telegram flood control: retry after {wait:.0f}s", wait)
    if isinstance(exc, ChatMigrated):
        return SendResult.permanent(f"the chat moved to {exc.new_chat_id}")
    if isinstance(exc, Forbidden):  # blocked by the user, user deactivated, kicked
        return SendResult.permanent(f"Telegram refused: {text}")
    if isinstance(exc, BadRequest):  # subclass of NetworkError: must come before it
        if any(fragment in text.lower() for fragment in _TRANSIENT_BAD_REQUESTS):
            return SendResult.retry(f"Telegram: {text}")
        return SendResult.permanent(f"Telegram: {text}")
    if isinstance(exc, InvalidToken):
        return SendResult.retry("Telegram rejected TELEGRAM_BOT_TOKEN")
    if isinstance(exc, TimedOut):
        return SendResult.retry("Telegram did not answer in time")
    if isinstance(exc, NetworkError | Conflict):
        return SendResult.retry(f"Telegram unreachable: {text}")
    return SendResult.retry(f"Telegram error: {text}")


def retry_after_seconds(exc: RetryAfter) -> float:
    """`RetryAfter.retry_after` as seconds, whichever type this PTB version returns."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2  # Telegram counts UTF-16 code units


def split_telegram_text(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    return split_text(text, lambda part: _utf16_len(part) <= limit)


@dataclass(frozen=True)
class PolledUpdate:
    """One update fetched by `poll()`: the raw JSON to store and the messages in it.

    It came over our own authenticated getUpdates call, so there is no signature to verify.
    """

    raw: RawRequest
    messages: list[InboundMessage]


class TelegramChannel(Channel):
    name = "telegram"

    def __init__(
        self,
        settings: Settings,
        *,
        bot: Bot | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.now = now
        self._bot = bot  # given (tests): used on every loop
        # PTB's HTTP client holds asyncio locks bound to the loop that first used it, and the
        # gateway uses the channel from several loops (the outbox dispatcher's thread sends,
        # the scheduler's loop downloads photos): one bot per event loop.
        self._bots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Bot] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return "<TelegramChannel telegram>"  # never the token

    @property
    def configured(self) -> bool:
        token = self.settings.telegram_bot_token
        return self._bot is not None or bool(token and token.get_secret_value())

    @property
    def bot(self) -> Bot:
        """The SDK bot of the running event loop, built on first use (the token may be missing
        in a webhook-only test)."""
        if self._bot is not None:
            return self._bot
        loop = asyncio.get_running_loop()
        bot = self._bots.get(loop)
        if bot is None:
            bot = self._bots[loop] = self._build_bot()
        return bot

    def _build_bot(self) -> Bot:
        token = self.settings.telegram_bot_token
        if token is None or not token.get_secret_value():
            raise RuntimeError("TELEGRAM_BOT_TOKEN is not set")
        api = self.settings.telegram_api_base_url.rstrip("/")
        timeout = self.settings.telegram_timeout_seconds
        return Bot(
            token.get_secret_value(),
            base_url=f"{api}/bot",
            base_file_url=f"{api}/file/bot",
            # PTB's default pool holds one connection: outbox sends would queue behind it.
            request=HTTPXRequest(
                connection_pool_size=8,
                connect_timeout=timeout,
                read_timeout=timeout,
                write_timeout=timeout,
                pool_timeout=timeout,
            ),
            get_updates_request=HTTPXRequest(connect_timeout=timeout, read_timeout=timeout),
        )

    async def aclose(self) -> None:
        """Close the HTTP connections of this loop's bot (the gateway's shutdown); another
        loop's bot closes with its loop."""
        bot = self._bot or self._bots.pop(asyncio.get_running_loop(), None)
        if bot is not None:
            await bot.shutdown()

    # --- inbound ---------------------------------------------------------------------------------

    def verify(self, raw: RawRequest) -> None:
        secret = self.settings.telegram_webhook_secret
        if secret is None or not secret.get_secret_value():
            raise SignatureError("TELEGRAM_WEBHOOK_SECRET is not set, so no update can be trusted")
        given = raw.header(SECRET_HEADER)
        if not given:
            raise SignatureError(f"missing {SECRET_HEADER}")
        if not secrets_match(given, secret.get_secret_value()):
            raise SignatureError(f"{SECRET_HEADER} does not match")

    def parse(self, raw: RawRequest) -> list[InboundMessage]:
        check_body_size(raw, self.settings.webhook_max_bytes)
        data = load_json(raw.body, "not a Telegram update")
        if not isinstance(data, dict) or _int(data.get("update_id")) is None:
            raise PayloadError("not a Telegram update: no integer update_id")
        with reading("not a Telegram update"):
            readable, notes = readable_update(data)
            update = Update.de_json(readable, None)
            messages = self.inbound_messages(update, notes)
        return finish(messages, max_chars=self.settings.chat_max_chars, now=self.now())

    def inbound_messages(
        self, update: Update, notes: ReadNotes | None = None
    ) -> list[InboundMessage]:
        """The messages in one update (webhook or polling); [] for what we do not handle."""
        notes = notes or ReadNotes({}, [])
        external_id = str(update.update_id)
        if update.message is not None:
            message = self._from_message(external_id, update.message, MessageKind.MESSAGE, notes)
        elif update.edited_message is not None:
            message = self._from_message(
                external_id, update.edited_message, MessageKind.EDITED, notes
            )
        elif update.callback_query is not None:
            message = self._from_callback(external_id, update.callback_query)
        else:
            message = None
        if message is None:
            if notes.dropped:  # a message whose content we could not read is no sticker
                raise PayloadError(
                    f"not a Telegram update we can read: {', '.join(notes.dropped)} unreadable"
                )
            logger.info("telegram update %s ignored: nothing we handle", external_id)
            return []
        return [message]

    def _from_message(
        self, external_id: str, message: Message, kind: MessageKind, notes: ReadNotes
    ) -> InboundMessage | None:
        if message.chat.type != ChatType.PRIVATE:
            return None
        media = _media_of(message)
        location = _location_of(message)
        contact_phone = None
        extra = {
            **notes.extra,
            "message_ref": message_ref(message.chat.id, message.message_id),
            "message_id": str(message.message_id),
            "chat_id": str(message.chat.id),
        }
        if message.contact is not None:
            contact_phone = to_e164(
                message.contact.phone_number, self.settings.phone_default_region
            )
            if message.from_user and message.contact.user_id == message.from_user.id:
                extra["contact_is_sender"] = "true"
        text = message.text or message.caption or ""
        if not (text or media or location or contact_phone):
            return None  # a sticker, a dice, a service message...
        user = message.from_user
        if user and user.username:
            extra["username"] = user.username
        if message.media_group_id:
            extra["media_group_id"] = message.media_group_id
        when = message.edit_date if kind is MessageKind.EDITED and message.edit_date else None
        return InboundMessage(
            channel=self.name,
            external_id=external_id,
            sender=str(message.chat.id),
            received_at=when or message.date or self.now(),
            text=text,
            sender_name=user.full_name if user else None,
            media=media,
            location=location,
            kind=kind,
            reply_to=(
                message_ref(message.chat.id, message.reply_to_message.message_id)
                if message.reply_to_message
                else None
            ),
            edits=extra["message_ref"] if kind is MessageKind.EDITED else None,
            contact_phone=contact_phone,
            language=user.language_code if user else None,
            extra=extra,
        )

    def _from_callback(self, external_id: str, query: CallbackQuery) -> InboundMessage | None:
        origin = query.message  # None when the message with the buttons is too old
        if origin is not None and origin.chat.type != ChatType.PRIVATE:
            return None
        if query.data is None:
            return None  # a game button, not ours
        chat_id = origin.chat.id if origin is not None else query.from_user.id
        extra = {"callback_query_id": query.id, "chat_id": str(chat_id)}
        label = ""
        if isinstance(origin, Message):
            extra["message_ref"] = message_ref(chat_id, origin.message_id)
            label = _button_label(origin, query.data)
        if query.from_user.username:
            extra["username"] = query.from_user.username
        return InboundMessage(
            channel=self.name,
            external_id=external_id,
            sender=str(chat_id),
            received_at=self.now(),
            text=label,
            sender_name=query.from_user.full_name,
            kind=MessageKind.BUTTON,
            reply_to=extra.get("message_ref"),
            button_payload=query.data,
            language=query.from_user.language_code,
            extra=extra,
        )

    # --- outbound --------------------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        if not self.configured:
            return SendResult.permanent("TELEGRAM_BOT_TOKEN is not set")
        too_long = [b.payload for b in message.buttons if len(b.payload.encode()) > 64]
        if too_long:
            return SendResult.permanent(f"button payload over Telegram's 64 bytes: {too_long[0]}")
        chat_id = message.recipient
        markup = _keyboard(message)
        texts = split_telegram_text(message.text)
        photos = [m for m in message.media if _is_photo(m)]
        documents = [m for m in message.media if not _is_photo(m)]
        if not (texts or message.media):
            return SendResult.permanent("nothing to send: no text and no media")
        if any(not (m.url or m.ref) for m in message.media):
            return SendResult.permanent("a media item has neither a URL nor a Telegram file id")
        sent: list[Message] = []
        try:
            caption_fits = len(texts) == 1 and _utf16_len(texts[0]) <= MessageLimit.CAPTION_LENGTH
            if len(photos) == 1 and not documents and (caption_fits or not texts):
                # The common case: one photo, the text as its caption, the keyboard under it.
                sent.append(
                    await self.bot.send_photo(
                        chat_id,
                        _file(photos[0]),
                        caption=texts[0] if texts else None,
                        reply_markup=markup,
                    )
                )
                texts = []
            else:
                for start in range(0, len(photos), MEDIA_GROUP_MAX):
                    group = photos[start : start + MEDIA_GROUP_MAX]
                    if len(group) == 1:
                        sent.append(await self.bot.send_photo(chat_id, _file(group[0])))
                    else:
                        items = [InputMediaPhoto(_file(m)) for m in group]
                        sent.extend(await self.bot.send_media_group(chat_id, items))
                for document in documents:
                    last = not texts and document is documents[-1]
                    sent.append(
                        await self.bot.send_document(
                            chat_id,
                            _file(document),
                            filename=document.filename,
                            reply_markup=markup if last else None,
                        )
                    )
            for index, text in enumerate(texts):
                last = index == len(texts) - 1
                sent.append(
                    await self.bot.send_message(
                        chat_id, text, reply_markup=markup if last else None
                    )
                )
        except TelegramError as exc:
            result = telegram_failure(exc)
            if sent:  # a retry resends the whole reply; say what the user already has
                return SendResult(
                    ok=False,
                    retryable=result.retryable,
                    error=f"{result.error} (after {len(sent)} messages were sent)",
                )
            return result
        first = sent[0]
        return SendResult.sent(message_ref(first.chat.id, first.message_id), parts=len(sent))

    async def answer_button(self, callback_query_id: str, text: str | None = None) -> bool:
        """Stop the button's spinner (optionally with a short toast); False if Telegram refused.

        Telegram accepts an answer only within about 15 seconds of the press, so a late answer
        failing is normal and harmless.
        """
        try:
            return bool(await self.bot.answer_callback_query(callback_query_id, text=text))
        except TelegramError as exc:
            logger.info("telegram callback answer refused: %s", exc.message)
            return False

    async def download(self, media: Media, max_bytes: int) -> tuple[bytes, str | None]:
        """getFile, then fetch the file URL (it holds the token: never logged, never raised)."""
        if not media.ref:
            raise MediaError("Telegram media has no file id", retryable=False)
        if media.size is not None and media.size > max_bytes:
            raise MediaError(
                f"{media.size} bytes is over the {max_bytes}-byte limit", retryable=False
            )
        try:
            file = await self.bot.get_file(media.ref)
        except TelegramError as exc:
            result = telegram_failure(exc)
            raise MediaError(f"getFile: {result.error}", retryable=result.retryable) from None
        if file.file_size is not None and file.file_size > max_bytes:
            raise MediaError(
                f"{file.file_size} bytes is over the {max_bytes}-byte limit", retryable=False
            )
        if not file.file_path:
            raise MediaError("Telegram gave no file path", retryable=True)
        return await fetch_media(
            file.file_path,
            policy=media_policy(self.settings, "telegram"),
            max_bytes=max_bytes,
            allowed_types=self.settings.media_allowed_types,
            claimed_type=media.content_type,
            describe=f"Telegram file {str(file.file_unique_id)[:40]}",
            timeout=self.settings.media_download_timeout_seconds,
        )

    # --- webhook registration and polling --------------------------------------------------------

    async def register_webhook(self, url: str) -> None:
        """Point Telegram at our webhook, with the secret it must send back on every update."""
        secret = self.settings.telegram_webhook_secret
        if secret is None or not secret.get_secret_value():
            raise RuntimeError("TELEGRAM_WEBHOOK_SECRET is not set")
        await self.bot.set_webhook(
            url, secret_token=secret.get_secret_value(), allowed_updates=list(ALLOWED_UPDATES)
        )

    async def poll(
        self,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_backoff: float = 60.0,
    ) -> AsyncIterator[PolledUpdate]:
        """Long-poll getUpdates forever, yielding each update once the previous one is handled.

        The offset that confirms an update to Telegram is sent with the *next* getUpdates call,
        which happens only after the consumer has taken every update of the batch; a crash
        before that makes Telegram send them again, and the intake's idempotency absorbs it.
        """
        await self.bot.delete_webhook(drop_pending_updates=False)
        offset: int | None = None
        backoff = 1.0
        while True:
            try:
                updates = await self._raw_updates(offset)
            except RetryAfter as exc:
                await sleep(retry_after_seconds(exc))
                continue
            except (NetworkError, Conflict, InvalidToken) as exc:
                logger.warning("telegram getUpdates failed: %s; retrying in %.0fs", exc, backoff)
                await sleep(backoff)
                backoff = min(backoff * 2, max_backoff)
                continue
            backoff = 1.0
            for update in updates:
                body = _update_body(update)
                raw = RawRequest(
                    body=body,
                    headers={"content-type": "application/json"},
                    url="telegram:getUpdates",
                    subpath="polling",
                )
                try:
                    messages = self.parse(raw)
                except PayloadError:
                    messages = []  # the gateway parses it again and keeps it raw
                yield PolledUpdate(raw=raw, messages=messages)
                update_id = update.get("update_id") if isinstance(update, dict) else None
                if isinstance(update_id, int):
                    offset = update_id + 1

    async def _raw_updates(self, offset: int | None) -> Sequence[Any]:
        """getUpdates as Telegram sent it: `Bot.get_updates` builds every update at once and
        raises on the first one this version of python-telegram-bot cannot build (logging the
        whole batch, personal data included), which would stop polling for good on a single
        old-shaped update. Each update is read on its own by `parse` instead."""
        timeout = self.settings.telegram_poll_timeout_seconds
        with warnings.catch_warnings():
            # "use Bot.get_updates instead": we do not, on purpose (see above).
            warnings.simplefilter("ignore", PTBUserWarning)
            result = await self.bot.do_api_request(
                "getUpdates",
                api_kwargs={
                    "offset": offset,
                    "timeout": timeout,
                    "allowed_updates": list(ALLOWED_UPDATES),
                },
                read_timeout=self.settings.telegram_timeout_seconds + timeout,
            )
        return result if isinstance(result, list) else []


def _update_body(update: object) -> bytes:
    """A polled update as the webhook would have carried it. Readable UTF-8 where it can be;
    a lone surrogate (which no UTF-8 encoder takes) is kept as its JSON escape instead, so one
    odd update never stops polling."""
    try:
        return json.dumps(update, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return json.dumps(update).encode()


# --- reading updates of any Bot API version, and poison ones -------------------------------------

# The parts of a message the gateway reads (`_from_message`, `_from_callback`). Everything else
# (stickers, animations, games, polls, entities...) is dropped before python-telegram-bot builds
# its objects: it requires every field the *current* Bot API guarantees, so an older but genuine
# shape of something we ignore anyway (a sticker without `is_animated` or `file_unique_id`, sent
# before Bot API 4.5) would otherwise make the whole update unreadable. The raw update is stored
# verbatim whatever is dropped here.
MESSAGE_FIELDS = frozenset(
    {
        "message_id",
        "date",
        "edit_date",
        "chat",
        "from",
        "text",
        "caption",
        "photo",
        "document",
        "video",
        "voice",
        "audio",
        "location",
        "venue",
        "contact",
        "reply_to_message",
        "media_group_id",
        "reply_markup",
    }
)
_MESSAGE_KEYS = ("message", "edited_message")
_FILE_KINDS = {  # the file objects we read, and the counts python-telegram-bot requires
    "document": (),
    "video": ("width", "height", "duration"),
    "voice": ("duration",),
    "audio": ("duration",),
}
_LAST_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z: datetime goes no further


class UnreadableUpdate(PayloadError):
    """Not a Telegram update we can read at all (no chat, no message id...)."""


@dataclass
class ReadNotes:
    """What `readable_update` had to leave out of the update's message, for `extra`."""

    extra: dict[str, str]
    dropped: list[str]

    def drop(self, name: str, **extra: str) -> None:
        self.dropped.append(name)
        self.extra.update(extra)


def readable_update(data: dict[str, object]) -> tuple[dict[str, object], ReadNotes]:
    """The update as python-telegram-bot can build it (a copy; `data` is kept): each message cut
    down to `MESSAGE_FIELDS`, and every field we read checked, because python-telegram-bot
    checks no types and a poison update (a photo size with a null width, a date past the year
    9999, a location that is no number) would otherwise fail in our code or the database and
    be retried by Telegram for ever. A bad field is dropped or clamped (a photo without its
    size is still a photo; a bad date becomes "now"; a bad location is dropped, the rest of
    the message kept) and noted; a message with no chat or id is `UnreadableUpdate`."""
    notes = ReadNotes({}, [])
    result = dict(data)
    for key in _MESSAGE_KEYS:
        if key in result:
            if not isinstance(result[key], dict):
                raise UnreadableUpdate(f"not a Telegram update: {key} is not an object")
            result[key] = _readable_message(result[key], notes)  # type: ignore[arg-type]
    if "callback_query" in result:
        result["callback_query"] = _readable_callback(result["callback_query"])
    return result, notes


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _count(value: object) -> int:
    number = _int(value)
    return number if number is not None and number >= 0 else 0


def _readable_user(value: object) -> dict[str, object] | None:
    if not isinstance(value, dict) or _int(value.get("id")) is None:
        return None
    user: dict[str, object] = {
        "id": value["id"],
        "is_bot": value.get("is_bot") is True,
        "first_name": _text(value.get("first_name")) or "",
    }
    for key in ("last_name", "username", "language_code"):
        if _text(value.get(key)) is not None:
            user[key] = value[key]
    return user


def _readable_chat(value: object) -> dict[str, object] | None:
    if not isinstance(value, dict) or _int(value.get("id")) is None:
        return None
    if _text(value.get("type")) is None:
        return None
    return {"id": value["id"], "type": value["type"]}


def _readable_point(value: object) -> dict[str, float] | None:
    if not isinstance(value, dict):
        return None
    latitude = coordinate(value.get("latitude"), 90)
    longitude = coordinate(value.get("longitude"), 180)
    if latitude is None or longitude is None:
        return None
    return {"latitude": latitude, "longitude": longitude}


def _readable_photo(value: object) -> list[dict[str, object]]:
    """The photo sizes with a file id; a size missing its dimensions counts as 0×0."""
    sizes = []
    for size in value if isinstance(value, list) else []:
        if not isinstance(size, dict) or not _text(size.get("file_id")):
            continue
        item: dict[str, object] = {
            "file_id": size["file_id"],
            "file_unique_id": _text(size.get("file_unique_id")) or size["file_id"],
            "width": _count(size.get("width")),
            "height": _count(size.get("height")),
        }
        if _int(size.get("file_size")) is not None and size["file_size"] >= 0:
            item["file_size"] = size["file_size"]
        sizes.append(item)
    return sizes


def _readable_file(value: object, counts: tuple[str, ...]) -> dict[str, object] | None:
    if not isinstance(value, dict) or not _text(value.get("file_id")):
        return None
    item: dict[str, object] = {
        "file_id": value["file_id"],
        "file_unique_id": _text(value.get("file_unique_id")) or value["file_id"],
    }
    item.update({key: _count(value.get(key)) for key in counts})
    if _int(value.get("file_size")) is not None and value["file_size"] >= 0:
        item["file_size"] = value["file_size"]
    for key in ("mime_type", "file_name"):
        if _text(value.get(key)) is not None:
            item[key] = value[key]
    return item


def _readable_keyboard(value: object) -> dict[str, object] | None:
    """The inline keyboard's buttons that have a text (for `_button_label`)."""
    rows = value.get("inline_keyboard") if isinstance(value, dict) else None
    if not isinstance(rows, list):
        return None
    kept = []
    for row in rows:
        buttons = []
        for button in row if isinstance(row, list) else []:
            if not isinstance(button, dict) or _text(button.get("text")) is None:
                continue
            item = {"text": button["text"]}
            if _text(button.get("callback_data")) is not None:
                item["callback_data"] = button["callback_data"]
            buttons.append(item)
        kept.append(buttons)
    return {"inline_keyboard": kept}


def _readable_message(message: dict[str, object], notes: ReadNotes | None) -> dict[str, object]:
    """One message with only the fields we read, each of the type python-telegram-bot and our
    code expect. `notes` is None for a message quoted inside another (its faults are dropped
    silently: only the outer message is the citizen's)."""
    notes = notes or ReadNotes({}, [])
    kept = {key: value for key, value in message.items() if key in MESSAGE_FIELDS}
    chat = _readable_chat(kept.get("chat"))
    if chat is None or _int(kept.get("message_id")) is None:
        raise UnreadableUpdate("not a Telegram update: a message without chat or message_id")
    kept["chat"] = chat
    date = kept.get("date")
    if _int(date) is None or not 0 <= date <= _LAST_TIMESTAMP:  # type: ignore[operator]
        if date is not None:  # a bad date is no lost content: the message is simply "now"
            notes.extra[PROVIDER_TIME] = str(date)[:64]
        kept["date"] = None  # python-telegram-bot then has no date: the message is "now"
    edit_date = kept.pop("edit_date", None)
    if _int(edit_date) is not None and 0 <= edit_date <= _LAST_TIMESTAMP:  # type: ignore[operator]
        kept["edit_date"] = edit_date
    if "from" in kept:
        user = _readable_user(kept.pop("from"))
        if user is not None:
            kept["from"] = user
    if "media_group_id" in kept and _text(kept["media_group_id"]) is None:
        del kept["media_group_id"]
    for key in ("text", "caption"):
        if key in kept and _text(kept[key]) is None:
            del kept[key]
            notes.drop(key)
    if "photo" in kept:
        sizes = _readable_photo(kept.pop("photo"))
        if sizes:
            kept["photo"] = sizes
        else:
            notes.drop("photo", **{MEDIA_DROPPED: "1"})
    for key, counts in _FILE_KINDS.items():
        if key in kept:
            item = _readable_file(kept.pop(key), counts)
            if item is not None:
                kept[key] = item
            else:
                notes.drop(key, **{MEDIA_DROPPED: "1"})
    if "location" in kept:
        point = _readable_point(kept.pop("location"))
        if point is not None:
            kept["location"] = point
        else:
            notes.drop("location", **{LOCATION_DROPPED: "true"})
    if "venue" in kept:
        venue = kept.pop("venue")
        point = _readable_point(venue.get("location")) if isinstance(venue, dict) else None
        if point is not None and isinstance(venue, dict):
            title, address = _text(venue.get("title")), _text(venue.get("address"))
            kept["venue"] = {"location": point, "title": title or "", "address": address or ""}
        else:
            notes.drop("venue", **{LOCATION_DROPPED: "true"})
    if "contact" in kept:
        contact = kept.pop("contact")
        if isinstance(contact, dict) and _text(contact.get("phone_number")):
            kept["contact"] = {
                "phone_number": contact["phone_number"],
                "first_name": _text(contact.get("first_name")) or "",
                **({"user_id": contact["user_id"]} if _int(contact.get("user_id")) else {}),
            }
        else:
            notes.drop("contact")
    if "reply_markup" in kept:
        markup = _readable_keyboard(kept.pop("reply_markup"))
        if markup is not None:
            kept["reply_markup"] = markup
    if "reply_to_message" in kept:
        quoted = kept.pop("reply_to_message")
        with contextlib.suppress(UnreadableUpdate):  # not needed to read this one
            if isinstance(quoted, dict):
                kept["reply_to_message"] = _readable_message(quoted, None)
    return kept


def _readable_callback(query: object) -> dict[str, object]:
    if not isinstance(query, dict) or _text(query.get("id")) is None:
        raise UnreadableUpdate("not a Telegram update: a callback_query without id")
    user = _readable_user(query.get("from"))
    if user is None:
        raise UnreadableUpdate("not a Telegram update: a callback_query without from")
    kept: dict[str, object] = {
        "id": query["id"],
        "from": user,
        "chat_instance": _text(query.get("chat_instance")) or "",
    }
    for key in ("data", "inline_message_id"):
        if _text(query.get(key)) is not None:
            kept[key] = query[key]
    if isinstance(query.get("message"), dict):
        # Without it the button still names its chat through `from`.
        with contextlib.suppress(UnreadableUpdate):
            kept["message"] = _readable_message(query["message"], None)
    return kept


# --- helpers -------------------------------------------------------------------------------------


def _media_of(message: Message) -> tuple[Media, ...]:
    if message.photo:
        largest = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        return (Media(ref=largest.file_id, content_type="image/jpeg", size=largest.file_size),)
    for item, default_type in (
        (message.document, "application/octet-stream"),
        (message.video, "video/mp4"),
        (message.voice, "audio/ogg"),
        (message.audio, "audio/mpeg"),
    ):
        if item is not None:
            return (
                Media(
                    ref=item.file_id,
                    content_type=getattr(item, "mime_type", None) or default_type,
                    size=item.file_size,
                    filename=getattr(item, "file_name", None),
                ),
            )
    return ()


def _location_of(message: Message) -> Location | None:
    if message.venue is not None:
        venue = message.venue
        label = ", ".join(p for p in (venue.title, venue.address) if p) or None
        return Location(venue.location.latitude, venue.location.longitude, label)
    if message.location is not None:
        return Location(message.location.latitude, message.location.longitude)
    return None


def _button_label(message: Message, data: str) -> str:
    markup = message.reply_markup
    if markup is None:
        return ""
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return ""


def _is_photo(media: Media) -> bool:
    return media.content_type is None or media.content_type.startswith("image/")


def _file(media: Media) -> str:
    """A URL Telegram fetches itself, or a Telegram file id."""
    value = media.url or media.ref
    assert value, "send() refuses media without url and ref"
    return value


def _keyboard(
    message: OutboundMessage,
) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove:
    """Inline buttons, or the one-time "share location" keyboard, or remove an old keyboard.

    A message takes one keyboard only; when both are asked for, the location keyboard wins and
    the buttons become plain keys under it (pressing one sends its label as text).
    """
    if message.request_location:
        rows = [
            [
                KeyboardButton(
                    message.location_button_label or LOCATION_BUTTON_FALLBACK,
                    request_location=True,
                )
            ]
        ]
        rows.extend([KeyboardButton(b.label)] for b in message.buttons)
        return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)
    if message.buttons:
        return InlineKeyboardMarkup(
            [[InlineKeyboardButton(b.label, callback_data=b.payload)] for b in message.buttons]
        )
    return ReplyKeyboardRemove()
