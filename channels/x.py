"""X (Twitter) through tweepy: mentions of the regency's account and its direct messages.

Provider: X API v2. Credentials: X_BEARER_TOKEN (app-only, reads mentions); the regency account's
OAuth 1.0a user context (X_CONSUMER_KEY, X_CONSUMER_SECRET, X_ACCESS_TOKEN,
X_ACCESS_TOKEN_SECRET) reads DMs and posts replies; X_USER_ID is that account's numeric id.

Inbound, polled (`XMentionsPoller`, `XDirectMessagesPoller`, one cursor each):
- mentions: `GET /2/users/:id/mentions` through tweepy's `Client.get_users_mentions` and
  `Paginator`, with `since_id` (or `start_time` before the first post is seen) and the expansions
  `author_id`, `attachments.media_keys`, `geo.place_id`; external id `tweet:<id>`, `public=True`,
  `thread_ref` the tweet id (a PUBLIC reply goes under it), `permalink` its x.com link.
- DMs: `GET /2/dm_events` (user context; no `since_id` there, so the sweep stops at the first
  event at or below the cursor); external id `dm:<event id>`, `thread_ref` the conversation id.
- Retweets and the account's own posts and DMs are skipped (still read, so still counted).
X lists newest first. A sweep reads pages down to the cursor and returns the messages oldest
first; when it is cut short (X_MAX_PAGES_PER_POLL, or the rate-limit window spent) the cursor
keeps the next page's token and the newest id already returned, so the next poll continues
below and only then moves `since_id` up: the cursor never passes a post not returned.
`PollResult.cost` is the number of posts/events read (what X bills); a 429 is
`PollError(retry_after=x-rate-limit-reset - now)` carrying the reads already spent.

Inbound, pushed (deployments with X's webhooks): `handshake` answers the CRC GET
(`crc_token` → `{"response_token": "sha256=<base64 HMAC-SHA256(consumer secret, token)>"}`),
`verify` checks `x-twitter-webhooks-signature` (the same HMAC over the body), `parse` reads the
Account Activity deliveries `tweet_create_events` and `direct_message_events` into the same
messages (same external ids) as the pollers, so a post seen both ways is stored once.

Outbound (`send`): PUBLIC → `POST /2/tweets` replying under `reply_to` (at most 280 weighted
characters; X lets a bot reply only to accounts that mentioned it); DIRECT →
`POST /2/dm_conversations/with/:participant_id/messages`. Media are not sent (the gateway sends
links). `download` fetches a post's photo, or a DM's (signed with the user context).

tweepy has no base-URL option (its `BaseClient.request` writes `https://api.twitter.com` into
every URL), so the client gets an `XApiSession`: a `requests.Session` that rewrites that host to
X_API_BASE_URL *before* the request is prepared, so the OAuth 1.0a signature covers the URL
actually called. Nothing else of tweepy is patched.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import html
import json
import logging
import re
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import requests
import tweepy
from oauthlib.oauth1 import Client as OAuth1Signer
from pydantic import BaseModel, Field, ValidationError

from channels.base import (
    Channel,
    InboundMessage,
    Location,
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
    WebhookAck,
)
from channels.media import fetch_media, media_policy
from channels.sanitize import (
    PROVIDER_TIME,
    check_body_size,
    finish,
    load_json,
    provider_time,
    reading,
    reason,
    secrets_match,
)
from config.settings import Settings

logger = logging.getLogger(__name__)

TWEEPY_HOST = "https://api.twitter.com"  # what tweepy writes into every URL
SIGNATURE_HEADER = "x-twitter-webhooks-signature"
TWEET_MAX_WEIGHT = 280
DM_MAX_CHARS = 10_000
URL_WEIGHT = 23  # X counts every link as a t.co link
# Fallback wait when a 429 carries no x-rate-limit-reset: X's windows are 15 minutes.
RATE_WINDOW_SECONDS = 15 * 60

MENTION_PARAMS: dict[str, Any] = {
    "expansions": ["author_id", "attachments.media_keys", "geo.place_id"],
    "tweet_fields": [
        "author_id",
        "created_at",
        "conversation_id",
        "referenced_tweets",
        "attachments",
        "geo",
        "lang",
    ],
    "user_fields": ["username", "name"],
    "media_fields": ["type", "url", "preview_image_url", "variants"],
    "place_fields": ["full_name", "country", "geo"],
}
DM_PARAMS: dict[str, Any] = {
    "event_types": "MessageCreate",
    "dm_event_fields": [
        "id",
        "event_type",
        "text",
        "sender_id",
        "created_at",
        "dm_conversation_id",
        "attachments",
    ],
    "expansions": ["sender_id", "attachments.media_keys"],
    "user_fields": ["username", "name"],
    "media_fields": ["type", "url", "preview_image_url", "variants"],
}


# --- the v2 response shapes ------------------------------------------------------------------


class _Model(BaseModel):
    model_config = {"extra": "ignore"}


class XUser(_Model):
    id: str
    name: str = ""
    username: str = ""


class XVariant(_Model):
    content_type: str = ""
    url: str = ""
    bit_rate: int = 0


class XMedia(_Model):
    media_key: str
    type: str = "photo"
    url: str | None = None
    preview_image_url: str | None = None
    variants: list[XVariant] = Field(default_factory=list)


class XPlace(_Model):
    id: str
    full_name: str = ""


class XReference(_Model):
    type: str
    id: str


class XAttachments(_Model):
    media_keys: list[str] = Field(default_factory=list)


class XPoint(_Model):
    coordinates: list[float] = Field(default_factory=list)  # [longitude, latitude]


class XGeo(_Model):
    place_id: str | None = None
    coordinates: XPoint | None = None


class XTweet(_Model):
    id: str
    text: str = ""
    author_id: str | None = None
    created_at: datetime | None = None
    conversation_id: str | None = None
    referenced_tweets: list[XReference] = Field(default_factory=list)
    attachments: XAttachments | None = None
    geo: XGeo | None = None
    lang: str | None = None


class XDmEvent(_Model):
    id: str
    event_type: str = ""
    text: str = ""
    sender_id: str | None = None
    created_at: datetime | None = None
    dm_conversation_id: str | None = None
    attachments: XAttachments | None = None


class XIncludes(_Model):
    users: list[XUser] = Field(default_factory=list)
    media: list[XMedia] = Field(default_factory=list)
    places: list[XPlace] = Field(default_factory=list)

    def user(self, user_id: str | None) -> XUser | None:
        return next((u for u in self.users if u.id == user_id), None)

    def media_for(self, attachments: XAttachments | None) -> list[XMedia]:
        keys = attachments.media_keys if attachments else []
        found = {m.media_key: m for m in self.media}
        return [found[key] for key in keys if key in found]

    def place(self, place_id: str | None) -> XPlace | None:
        return next((p for p in self.places if p.id == place_id), None)


class XMeta(_Model):
    result_count: int = 0
    next_token: str | None = None


class XPage(_Model):
    data: list[dict[str, Any]] = Field(default_factory=list)
    includes: XIncludes = Field(default_factory=XIncludes)
    meta: XMeta = Field(default_factory=XMeta)


# --- pure helpers ----------------------------------------------------------------------------


def crc_response_token(consumer_secret: str, crc_token: str) -> str:
    """X's CRC answer: `sha256=` + base64 HMAC-SHA256 of the token with the consumer secret."""
    token = crc_token.encode("utf-8", "surrogatepass")  # any query text, never an exception
    digest = hmac.new(consumer_secret.encode(), token, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def webhook_signature(consumer_secret: str, body: bytes) -> str:
    """The `x-twitter-webhooks-signature` X puts on a delivery of `body`."""
    digest = hmac.new(consumer_secret.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


_URL = re.compile(r"https?://\S+")


def _char_weight(char: str) -> int:
    point = ord(char)
    light = point <= 4351 or 8192 <= point <= 8205 or 8208 <= point <= 8223 or 8242 <= point <= 8247
    return 1 if light else 2


def tweet_weight(text: str) -> int:
    """A post's length as X counts it (twitter-text v3): links 23, CJK and emoji 2, else 1."""
    weight = 0
    for index, piece in enumerate(_URL.split(text)):
        weight += sum(_char_weight(char) for char in piece)
        if index:  # a link stood before this piece
            weight += URL_WEIGHT
    return weight


_LEADING_MENTIONS = re.compile(r"^(?:@\w{1,15}\s+)+")


def complaint_text(text: str) -> str:
    """A post's words without X's HTML escapes and the @handles a reply starts with."""
    plain = html.unescape(text).strip()
    stripped = _LEADING_MENTIONS.sub("", plain).strip()
    return stripped or plain


def _media_of(items: list[XMedia]) -> tuple[Media, ...]:
    media = []
    for item in items:
        if item.type == "photo" and item.url:
            media.append(Media(url=item.url, ref=item.media_key, content_type="image/jpeg"))
            continue
        videos = [v for v in item.variants if v.content_type == "video/mp4" and v.url]
        if videos:
            best = max(videos, key=lambda v: v.bit_rate)
            media.append(Media(url=best.url, ref=item.media_key, content_type="video/mp4"))
        elif item.preview_image_url:  # a video we cannot fetch: its still at least
            media.append(
                Media(url=item.preview_image_url, ref=item.media_key, content_type="image/jpeg")
            )
    return tuple(media)


def _location_of(tweet: XTweet, includes: XIncludes) -> Location | None:
    geo = tweet.geo
    if geo is None:
        return None
    place = includes.place(geo.place_id)
    label = place.full_name if place and place.full_name else None
    point = geo.coordinates.coordinates if geo.coordinates else []
    if len(point) == 2:
        return Location(latitude=point[1], longitude=point[0], label=label)
    return Location(label=label) if label else None


def permalink(username: str | None, tweet_id: str) -> str:
    return f"https://x.com/{username or 'i/web'}/status/{tweet_id}"


def mention_message(
    tweet: XTweet, includes: XIncludes, our_user_id: str, now: datetime
) -> InboundMessage | None:
    """A mention as a public message; None for our own posts and retweets."""
    if tweet.author_id is None or tweet.author_id == our_user_id:
        return None
    if any(ref.type == "retweeted" for ref in tweet.referenced_tweets):
        return None
    author = includes.user(tweet.author_id)
    username = author.username if author else None
    replied = next((r.id for r in tweet.referenced_tweets if r.type == "replied_to"), None)
    extra = {"kind": "mention"}
    if username:
        extra["username"] = username
    if tweet.conversation_id:
        extra["conversation_id"] = tweet.conversation_id
    return InboundMessage(
        channel=XChannel.name,
        external_id=f"tweet:{tweet.id}",
        sender=tweet.author_id,
        received_at=tweet.created_at or now,
        text=complaint_text(tweet.text),
        sender_name=(author.name or None) if author else None,
        media=_media_of(includes.media_for(tweet.attachments)),
        location=_location_of(tweet, includes),
        reply_to=replied,
        language=tweet.lang if tweet.lang in ("id", "en") else None,
        extra=extra,
        public=True,
        thread_ref=tweet.id,
        permalink=permalink(username, tweet.id),
    )


def dm_message(
    event: XDmEvent, includes: XIncludes, our_user_id: str, now: datetime
) -> InboundMessage | None:
    """A received DM as a private message; None for what we sent and for other event types."""
    if event.event_type != "MessageCreate" or not event.sender_id:
        return None
    if event.sender_id == our_user_id:
        return None
    sender = includes.user(event.sender_id)
    media = _media_of(includes.media_for(event.attachments))
    text = html.unescape(event.text).strip()
    if media:  # X appends the attachment's t.co link to the text
        text = re.sub(r"\s*https://t\.co/\w+$", "", text)
    if not (text or media):
        return None
    extra = {"kind": "dm"}
    if sender and sender.username:
        extra["username"] = sender.username
    if event.dm_conversation_id:
        extra["dm_conversation_id"] = event.dm_conversation_id
    return InboundMessage(
        channel=XChannel.name,
        external_id=f"dm:{event.id}",
        sender=event.sender_id,
        received_at=event.created_at or now,
        text=text,
        sender_name=(sender.name or None) if sender else None,
        media=media,
        extra=extra,
        thread_ref=event.dm_conversation_id,
    )


# --- talking to X through tweepy -----------------------------------------------------------------


class XApiSession(requests.Session):
    """A requests session that sends tweepy's `https://api.twitter.com/...` calls to
    X_API_BASE_URL instead. The rewrite happens in `request()`, before `prepare_request` signs
    the request, so OAuth 1.0a signs the URL that is really called."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        text = url.decode() if isinstance(url, bytes) else url
        if text.startswith(TWEEPY_HOST):
            text = self.base_url + text[len(TWEEPY_HOST) :]
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, text, *args, **kwargs)


def _reset_in(response: requests.Response | None, now: float) -> float | None:
    if response is None:
        return None
    reset = response.headers.get("x-rate-limit-reset")
    if reset and reset.isdigit():
        return max(1.0, int(reset) - now)
    return None


def _remaining(response: requests.Response) -> int | None:
    value = response.headers.get("x-rate-limit-remaining")
    return int(value) if value and value.isdigit() else None


def _detail(exc: tweepy.HTTPException) -> str:
    messages = list(exc.api_messages) or [exc.response.reason or ""]
    return f"HTTP {exc.response.status_code}: " + "; ".join(m for m in messages if m)


def poll_failure(exc: Exception, spent: int) -> PollError:
    """A failed X call as a `PollError`: what may pass with time, and what needs an admin."""
    if isinstance(exc, tweepy.TooManyRequests):
        wait = _reset_in(exc.response, time.time()) or RATE_WINDOW_SECONDS
        return PollError(f"X rate limit: {_detail(exc)}", retry_after=wait, cost=spent)
    if isinstance(exc, tweepy.Unauthorized):
        return PollError(
            f"X refused the credentials (X_BEARER_TOKEN / X_ACCESS_TOKEN...): {_detail(exc)}",
            retryable=False,
            cost=spent,
        )
    if isinstance(exc, tweepy.TwitterServerError):
        return PollError(f"X server error: {_detail(exc)}", cost=spent)
    if isinstance(exc, tweepy.HTTPException):  # 400, 403 (no access to the endpoint), 404
        return PollError(f"X refused the request: {_detail(exc)}", retryable=False, cost=spent)
    if isinstance(exc, ValidationError | ValueError):
        return PollError(f"X answered something unreadable: {exc}", cost=spent)
    return PollError(f"X unreachable: {type(exc).__name__}", cost=spent)


def send_failure(exc: Exception) -> SendResult:
    if isinstance(exc, tweepy.TooManyRequests | tweepy.TwitterServerError):
        return SendResult.retry(f"X: {_detail(exc)}")
    if isinstance(exc, tweepy.Unauthorized):
        return SendResult.retry(f"X refused the user-context credentials: {_detail(exc)}")
    if isinstance(exc, tweepy.HTTPException):  # 400/403/404: not allowed, deleted, duplicate
        return SendResult.permanent(f"X: {_detail(exc)}")
    return SendResult.retry(f"X unreachable: {type(exc).__name__}")


class _OAuth1(httpx.Auth):
    """Signs an httpx request with OAuth 1.0a user context (DM media need it)."""

    def __init__(self, signer: OAuth1Signer) -> None:
        self.signer = signer

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        _, headers, _ = self.signer.sign(str(request.url), request.method)
        request.headers["Authorization"] = headers["Authorization"]
        yield request


# --- the cursor of a newest-first listing ----------------------------------------------------


@dataclass(frozen=True)
class SweepCursor:
    """Where a newest-first listing stands. Everything above `since_id` (or, before any post
    was seen, created at or after `since_time`) is still to be read. A sweep cut short keeps
    `resume` (the token of the next, older page) and `high` (the newest id it returned), so the
    next poll reads on from there and only when it reaches `since_id` moves it to `high`."""

    since_id: str | None = None
    since_time: datetime | None = None
    high: str | None = None
    resume: str | None = None

    def dumps(self) -> str:
        values = {
            "since_id": self.since_id,
            "since_time": self.since_time.isoformat() if self.since_time else None,
            "high": self.high,
            "resume": self.resume,
        }
        return json.dumps({k: v for k, v in values.items() if v is not None}, sort_keys=True)

    @classmethod
    def loads(cls, text: str | None) -> SweepCursor | None:
        if not text:
            return None
        if text.isdigit():  # a bare since_id (set by hand, or an older format)
            return cls(since_id=text)
        try:
            values = json.loads(text)
            since_time = values.get("since_time")
            return cls(
                since_id=values.get("since_id"),
                since_time=datetime.fromisoformat(since_time) if since_time else None,
                high=values.get("high"),
                resume=values.get("resume"),
            )
        except (ValueError, TypeError, AttributeError):
            raise PollError(f"unreadable X cursor {text!r}", retryable=False) from None

    def is_old(self, item_id: str, created_at: datetime | None) -> bool:
        """Already taken by an earlier sweep?"""
        if self.since_id is not None:
            return int(item_id) <= int(self.since_id)
        if self.since_time is not None and created_at is not None:
            return created_at < self.since_time
        return False


def _record(raw_item: Any, includes: XIncludes) -> str:
    """An item as X listed it, with what the page included for it: the raw record kept."""
    return json.dumps(
        {"data": raw_item, "includes": includes.model_dump(exclude_defaults=True)}, default=str
    )


def _unreadable(raw_item: Any, includes: XIncludes, exc: Exception) -> Unreadable:
    logger.warning("x item unreadable, handed over raw: %s", type(exc).__name__)
    return Unreadable(_record(raw_item, includes), reason("unreadable X item", exc))


def _newest(*ids: str | None) -> str | None:
    present = [i for i in ids if i]
    return max(present, key=int) if present else None


class _XSweepPoller(Poller):
    """One newest-first X listing read down to its cursor (mentions, DM events)."""

    channel = "x"
    item_model: type[XTweet] | type[XDmEvent]

    def __init__(self, x: XChannel) -> None:
        self.x = x
        self.settings = x.settings
        self.interval_seconds = x.settings.x_poll_seconds
        self.daily_budget = x.settings.x_daily_read_budget

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    def _pages(self, state: SweepCursor) -> tweepy.Paginator:
        raise NotImplementedError

    def _message(self, item: Any, includes: XIncludes) -> InboundMessage | None:
        raise NotImplementedError

    async def fetch(self, cursor: str | None) -> PollResult:
        state = SweepCursor.loads(cursor)
        if state is None:  # start from now: nothing older is taken, and nothing is read
            return PollResult([], SweepCursor(since_time=self.x.now()).dumps(), cost=0)
        return await asyncio.to_thread(self._sweep, state)

    def _sweep(self, state: SweepCursor) -> PollResult:
        found: list[tuple[Any, XIncludes, dict[str, Any]]] = []  # newest first
        unreadable: list[Unreadable] = []
        reads = pages = 0
        next_token = state.resume
        reached = limited = False
        try:
            for response in self._pages(state):
                pages += 1
                page = XPage.model_validate(response.json())
                reads += len(page.data)
                for raw_item in page.data:
                    try:
                        item = self.item_model.model_validate(raw_item)
                        item_id = int(item.id)  # ids are numbers: the cursor compares them
                    except ValueError as exc:  # one poison post must not stop the source
                        unreadable.append(_unreadable(raw_item, page.includes, exc))
                        continue
                    if state.is_old(str(item_id), item.created_at):
                        reached = True
                        break
                    found.append((item, page.includes, raw_item))
                next_token = page.meta.next_token
                if reached or not next_token:
                    break
                if _remaining(response) == 0:  # the window is spent: do not ask for a 429
                    limited = True
                    break
        except tweepy.BadRequest as exc:
            if state.resume and pages == 0:  # the saved page token expired: start again on top
                logger.warning("%s: resume token refused, sweeping from the newest", self.name)
                return self._sweep(replace(state, resume=None))
            raise poll_failure(exc, reads) from None
        except (tweepy.TweepyException, requests.RequestException, ValidationError) as exc:
            raise poll_failure(exc, reads) from None
        newest = _newest(state.high, *(item.id for item, _, _ in found))
        done = reached or not next_token
        if done:
            cursor = SweepCursor(
                since_id=_newest(state.since_id, newest),
                since_time=None if (state.since_id or newest) else state.since_time,
            )
        else:
            cursor = replace(state, high=newest, resume=next_token)
        messages: list[InboundMessage] = []
        raw: dict[str, str] = {}
        for item, includes, raw_item in reversed(found):
            try:
                with reading(f"unreadable X {self.name} item"):
                    message = self._message(item, includes)
                    if message is None:
                        continue
                    [message] = finish(
                        [message], max_chars=self.settings.chat_max_chars, now=self.x.now()
                    )
            except PayloadError as exc:
                unreadable.append(_unreadable(raw_item, includes, exc))
                continue
            messages.append(message)
            raw[message.external_id] = _record(raw_item, includes)
        return PollResult(
            messages,
            cursor.dumps(),
            more=not done and not limited,
            cost=reads,
            raw=raw,
            unreadable=tuple(unreadable),
        )


class XMentionsPoller(_XSweepPoller):
    name = "x_mentions"
    item_model = XTweet

    def _pages(self, state: SweepCursor) -> tweepy.Paginator:
        window: dict[str, Any] = {}
        if state.since_id:
            window["since_id"] = state.since_id
        elif state.since_time:
            window["start_time"] = state.since_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return tweepy.Paginator(
            self.x.reader.get_users_mentions,
            self.settings.x_user_id,
            limit=self.settings.x_max_pages_per_poll,
            pagination_token=state.resume,
            max_results=self.settings.x_page_size,
            user_auth=not self.x.has_bearer,
            **window,
            **MENTION_PARAMS,
        )

    def _message(self, item: Any, includes: XIncludes) -> InboundMessage | None:
        return mention_message(item, includes, self.settings.x_user_id, self.x.now())


class XDirectMessagesPoller(_XSweepPoller):
    name = "x_dm"
    item_model = XDmEvent

    def _pages(self, state: SweepCursor) -> tweepy.Paginator:
        return tweepy.Paginator(
            self.x.writer.get_direct_message_events,
            limit=self.settings.x_max_pages_per_poll,
            pagination_token=state.resume,
            max_results=self.settings.x_page_size,
            user_auth=True,
            **DM_PARAMS,
        )

    def _message(self, item: Any, includes: XIncludes) -> InboundMessage | None:
        return dm_message(item, includes, self.settings.x_user_id, self.x.now())


# --- the channel -------------------------------------------------------------------------------


class XChannel(Channel):
    name = "x"

    def __init__(
        self, settings: Settings, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.settings = settings
        self.now = now
        self._reader: tweepy.Client | None = None
        self._writer: tweepy.Client | None = None

    def __repr__(self) -> str:
        return "<XChannel x>"  # never a token

    # --- credentials and clients ---

    @property
    def has_bearer(self) -> bool:
        token = self.settings.x_bearer_token
        return bool(token and token.get_secret_value())

    @property
    def has_user_context(self) -> bool:
        s = self.settings
        return bool(
            s.x_consumer_key
            and s.x_consumer_secret
            and s.x_access_token
            and s.x_access_token_secret
            and s.x_consumer_secret.get_secret_value()
            and s.x_access_token_secret.get_secret_value()
        )

    @property
    def can_poll_mentions(self) -> bool:
        return bool(self.settings.x_user_id) and (self.has_bearer or self.has_user_context)

    def _client(self, *, user_context: bool) -> tweepy.Client:
        s = self.settings
        secret = s.x_consumer_secret.get_secret_value() if s.x_consumer_secret else None
        token_secret = (
            s.x_access_token_secret.get_secret_value() if s.x_access_token_secret else None
        )
        client = tweepy.Client(
            bearer_token=s.x_bearer_token.get_secret_value()
            if s.x_bearer_token and not user_context
            else None,
            consumer_key=s.x_consumer_key or None,
            consumer_secret=secret,
            access_token=s.x_access_token or None,
            access_token_secret=token_secret,
            return_type=requests.Response,  # the rate-limit headers and the JSON as X sent it
            wait_on_rate_limit=False,  # a 429 is the gateway's to schedule, never a sleep here
        )
        client.session = XApiSession(s.x_api_base_url, s.x_timeout_seconds)
        return client

    @property
    def reader(self) -> tweepy.Client:
        """App-only client for mentions (the user context when no bearer token is set)."""
        if self._reader is None:
            self._reader = self._client(user_context=not self.has_bearer)
        return self._reader

    @property
    def writer(self) -> tweepy.Client:
        """User-context client: DMs and replies."""
        if self._writer is None:
            self._writer = self._client(user_context=True)
        return self._writer

    def pollers(self) -> list[Poller]:
        """The sources this configuration can poll: mentions, and DMs with the user context."""
        found: list[Poller] = []
        if self.can_poll_mentions:
            found.append(XMentionsPoller(self))
        if self.settings.x_user_id and self.has_user_context:
            found.append(XDirectMessagesPoller(self))
        return found

    # --- webhooks (Account Activity deliveries) ---

    def _consumer_secret(self) -> str:
        secret = self.settings.x_consumer_secret
        if secret is None or not secret.get_secret_value():
            raise SignatureError("X_CONSUMER_SECRET is not set, so nothing from X can be trusted")
        return secret.get_secret_value()

    def handshake(self, raw: RawRequest) -> WebhookAck | None:
        token = raw.query.get("crc_token")
        if not token:
            raise PayloadError("a GET on the X webhook needs crc_token")
        body = json.dumps({"response_token": crc_response_token(self._consumer_secret(), token)})
        return WebhookAck(200, body, "application/json")

    def verify(self, raw: RawRequest) -> None:
        secret = self._consumer_secret()
        given = raw.header(SIGNATURE_HEADER)
        if not given:
            raise SignatureError(f"missing {SIGNATURE_HEADER}")
        if not secrets_match(given, webhook_signature(secret, raw.body)):
            raise SignatureError(f"{SIGNATURE_HEADER} does not match")

    def parse(self, raw: RawRequest) -> list[InboundMessage]:
        check_body_size(raw, self.settings.webhook_max_bytes)
        data = load_json(raw.body, "not an X account activity delivery")
        if not isinstance(data, dict) or not isinstance(data.get("for_user_id"), str):
            raise PayloadError("not an X account activity delivery: no for_user_id")
        ours = data["for_user_id"]
        messages: list[InboundMessage] = []
        with reading("garbled X delivery"):
            for tweet in data.get("tweet_create_events") or []:
                message = self._activity_tweet(tweet, ours)
                if message is not None:
                    messages.append(message)
            users = data.get("users") or {}
            for event in data.get("direct_message_events") or []:
                message = self._activity_dm(event, users, ours)
                if message is not None:
                    messages.append(message)
        if not messages:
            logger.info("x delivery ignored: %d keys", len(data))
        return finish(messages, max_chars=self.settings.chat_max_chars, now=self.now())

    def _activity_tweet(self, tweet: dict[str, Any], ours: str) -> InboundMessage | None:
        """A v1.1 tweet object as `mention_message` would read its v2 twin."""
        user = tweet["user"]
        extended = tweet.get("extended_tweet") or {}
        entities = extended.get("extended_entities") or tweet.get("extended_entities") or {}
        refs = []
        if tweet.get("retweeted_status"):
            refs.append(XReference(type="retweeted", id=tweet["retweeted_status"]["id_str"]))
        if tweet.get("in_reply_to_status_id_str"):
            refs.append(XReference(type="replied_to", id=tweet["in_reply_to_status_id_str"]))
        media = [
            XMedia(media_key=m["id_str"], type=m.get("type", "photo"), url=m["media_url_https"])
            for m in entities.get("media", [])
        ]
        point = (tweet.get("coordinates") or {}).get("coordinates")
        place = tweet.get("place") or {}
        geo = None
        if point or place:
            geo = XGeo(
                place_id=place.get("id"), coordinates=XPoint(coordinates=point) if point else None
            )
        v2 = XTweet(
            id=tweet["id_str"],
            text=extended.get("full_text") or tweet.get("text", ""),
            author_id=user["id_str"],
            created_at=datetime.strptime(tweet["created_at"], "%a %b %d %H:%M:%S %z %Y"),
            conversation_id=None,
            referenced_tweets=refs,
            attachments=XAttachments(media_keys=[m.media_key for m in media]),
            geo=geo,
            lang=tweet.get("lang"),
        )
        includes = XIncludes(
            users=[
                XUser(id=user["id_str"], name=user.get("name", ""), username=user["screen_name"])
            ],
            media=media,
            places=[XPlace(id=place["id"], full_name=place.get("full_name", ""))]
            if place.get("id")
            else [],
        )
        return mention_message(v2, includes, ours, self.now())

    def _activity_dm(
        self, event: dict[str, Any], users: dict[str, Any], ours: str
    ) -> InboundMessage | None:
        if event.get("type") != "message_create":
            return None
        create = event["message_create"]
        sender_id = create["sender_id"]
        recipient = create["target"]["recipient_id"]
        data = create.get("message_data") or {}
        attachment = (data.get("attachment") or {}).get("media")
        media = []
        if attachment:
            media.append(
                XMedia(
                    media_key=attachment["id_str"],
                    type=attachment.get("type", "photo"),
                    url=attachment["media_url_https"],
                )
            )
        sender = users.get(sender_id) or {}
        low, high = sorted((sender_id, recipient), key=int)
        # Milliseconds; one past the year 9999 (or no number) is "now", X's value kept.
        created_at, original_time = provider_time(event.get("created_timestamp"), self.now())
        v2 = XDmEvent(
            id=event["id"],
            event_type="MessageCreate",
            text=data.get("text", ""),
            sender_id=sender_id,
            created_at=created_at,
            dm_conversation_id=f"{low}-{high}",
            attachments=XAttachments(media_keys=[m.media_key for m in media]),
        )
        includes = XIncludes(
            users=[
                XUser(
                    id=sender_id,
                    name=sender.get("name", ""),
                    username=sender.get("screen_name", ""),
                )
            ],
            media=media,
        )
        message = dm_message(v2, includes, ours, self.now())
        if message is not None and original_time:
            message = replace(message, extra={**message.extra, PROVIDER_TIME: original_time})
        return message

    # --- outbound ---

    async def send(self, message: OutboundMessage) -> SendResult:
        if not self.has_user_context:
            return SendResult.permanent(
                "X user-context credentials are not set (X_CONSUMER_KEY, X_CONSUMER_SECRET, "
                "X_ACCESS_TOKEN, X_ACCESS_TOKEN_SECRET)"
            )
        text = message.text.strip()
        if not text:
            return SendResult.permanent("nothing to send: no text")
        if message.reply_mode is ReplyMode.PUBLIC:
            if not message.reply_to:
                return SendResult.permanent("a public reply on X needs the post it answers")
            weight = tweet_weight(text)
            if weight > TWEET_MAX_WEIGHT:
                return SendResult.permanent(f"too long for a post on X ({weight}/280)")
            call = lambda: self.writer.create_tweet(  # noqa: E731
                text=text, in_reply_to_tweet_id=message.reply_to, user_auth=True
            )
            key = "id"
        elif message.reply_mode is ReplyMode.DIRECT:
            if len(text) > DM_MAX_CHARS:
                return SendResult.permanent(f"too long for an X DM ({len(text)}/{DM_MAX_CHARS})")
            call = lambda: self.writer.create_direct_message(  # noqa: E731
                participant_id=message.recipient, text=text, user_auth=True
            )
            key = "dm_event_id"
        else:
            return SendResult.permanent(f"X has no {message.reply_mode.value} replies")
        try:
            response = await asyncio.to_thread(call)
            provider_id = str(response.json()["data"][key])
        except (tweepy.TweepyException, requests.RequestException) as exc:
            return send_failure(exc)
        except (ValueError, KeyError, TypeError):
            return SendResult.retry("X answered the send with something unreadable")
        return SendResult.sent(provider_id)

    async def download(self, media: Media, max_bytes: int) -> tuple[bytes, str | None]:
        """A post's photo or video (pbs.twimg.com, video.twimg.com), or a DM's attachment
        (ton.twitter.com, signed with the user context): X_MEDIA_HOSTS only, the signature only
        to the DM media host."""
        if not media.url:
            raise MediaError("X media without a URL", retryable=False)
        policy = media_policy(self.settings, "x")
        auth = None
        if policy.sends_credentials_to(media.url) and self.has_user_context:
            s = self.settings
            assert s.x_consumer_secret and s.x_access_token_secret
            auth = _OAuth1(
                OAuth1Signer(
                    s.x_consumer_key,
                    client_secret=s.x_consumer_secret.get_secret_value(),
                    resource_owner_key=s.x_access_token,
                    resource_owner_secret=s.x_access_token_secret.get_secret_value(),
                )
            )
        return await fetch_media(
            media.url,
            policy=policy,
            max_bytes=max_bytes,
            allowed_types=self.settings.media_allowed_types,
            claimed_type=media.content_type,
            auth=auth,
            describe="X media",
            timeout=self.settings.media_download_timeout_seconds,
        )
