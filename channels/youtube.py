"""YouTube through google-api-python-client: comments on the regency's channel.

Provider: YouTube Data API v3. Credentials: YOUTUBE_API_KEY reads the public comment threads of
YOUTUBE_CHANNEL_ID; replying needs the channel owner's OAuth (YOUTUBE_OAUTH_CLIENT_ID,
YOUTUBE_OAUTH_CLIENT_SECRET, YOUTUBE_OAUTH_REFRESH_TOKEN, scope `youtube.force-ssl`), exchanged
at YOUTUBE_OAUTH_TOKEN_URI. The client is built from the discovery document shipped inside the
library (`static_discovery=True`: no discovery fetch) with
`client_options={"api_endpoint": YOUTUBE_API_BASE_URL}`, so tests and the demo talk to the local
fake with the real client.

Inbound, polled (`YouTubeCommentsPoller`, source `youtube_comments`):
`commentThreads.list(part="snippet,replies", allThreadsRelatedToChannelId=…, order="time",
textFormat="plainText")`, newest first, 1 quota unit per page. Every top-level comment, and the
replies YouTube includes with a listed thread, becomes a public message: external id the
comment id, sender the author's channel id, `thread_ref` the top-level comment (what
`comments.insert` answers under), `permalink` the video link with `lc=` the comment. Comments by
the regency's own channel are skipped. The cursor is the newest `publishedAt` taken plus the
ids taken at that very second, so a poll neither skips nor repeats a comment; a sweep cut short
(YOUTUBE_MAX_PAGES_PER_POLL) keeps the next page token, as the X sweep does. The quota day is
Pacific time; `quotaExceeded` is a retryable `PollError` until the next Pacific midnight.

Outbound (`send`): PUBLIC only — `comments.insert` under `reply_to` (50 units). YouTube has no
private messages, so the reply points to the other channels and the tracking page.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import google.auth.exceptions
import httplib2
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from pydantic import AwareDatetime, BaseModel, Field, ValidationError

from channels.base import (
    Channel,
    InboundMessage,
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
from channels.sanitize import finish_message, reading, reason
from config.settings import Settings

logger = logging.getLogger(__name__)

SCOPE = "https://www.googleapis.com/auth/youtube.force-ssl"
QUOTA_TIMEZONE = ZoneInfo("America/Los_Angeles")  # YouTube's quota day ends at Pacific midnight
COMMENT_MAX_CHARS = 10_000
QUOTA_REASONS = {
    "quotaExceeded",
    "dailyLimitExceeded",
    "rateLimitExceeded",
    "userRateLimitExceeded",
}


# --- the API's shapes -----------------------------------------------------------------------


class _Model(BaseModel):
    model_config = {"extra": "ignore", "populate_by_name": True}


class AuthorChannel(_Model):
    value: str = ""


class CommentSnippet(_Model):
    author_display_name: str = Field("", alias="authorDisplayName")
    author_channel_url: str = Field("", alias="authorChannelUrl")
    author_channel: AuthorChannel | None = Field(None, alias="authorChannelId")
    text_display: str = Field("", alias="textDisplay")
    video_id: str | None = Field(None, alias="videoId")
    parent_id: str | None = Field(None, alias="parentId")
    # Aware: the cursor compares it with its own times (a naive one would raise TypeError).
    published_at: AwareDatetime = Field(alias="publishedAt")


class Comment(_Model):
    id: str
    snippet: CommentSnippet


class ThreadSnippet(_Model):
    video_id: str | None = Field(None, alias="videoId")
    top_level_comment: Comment = Field(alias="topLevelComment")


class Replies(_Model):
    comments: list[Comment] = Field(default_factory=list)


class CommentThread(_Model):
    id: str
    snippet: ThreadSnippet
    replies: Replies | None = None


class ThreadPage(_Model):
    items: list[dict[str, Any]] = Field(default_factory=list)
    next_page_token: str | None = Field(None, alias="nextPageToken")


# --- pure helpers --------------------------------------------------------------------------


def quota_day(now: datetime) -> date:
    return now.astimezone(QUOTA_TIMEZONE).date()


def seconds_to_quota_reset(now: datetime) -> float:
    local = now.astimezone(QUOTA_TIMEZONE)
    midnight = datetime.combine(
        local.date() + timedelta(days=1), datetime.min.time(), QUOTA_TIMEZONE
    )
    return max(60.0, (midnight - local).total_seconds())


def error_reason(exc: HttpError) -> str:
    """The `reason` of Google's error body (quotaExceeded, keyInvalid...), or ''."""
    try:
        body = json.loads(exc.content)
        errors = body.get("error", {}).get("errors") or []
        return str(errors[0].get("reason", "")) if errors else ""
    except (ValueError, AttributeError, TypeError):
        return ""


def comment_message(
    comment: Comment, thread: CommentThread, our_channel_id: str
) -> InboundMessage | None:
    snippet = comment.snippet
    author = snippet.author_channel.value if snippet.author_channel else ""
    if not author or author == our_channel_id:
        return None
    text = snippet.text_display.strip()
    if not text:
        return None
    video = snippet.video_id or thread.snippet.video_id
    top = thread.snippet.top_level_comment.id
    extra = {"kind": "comment" if comment.id == top else "comment_reply"}
    if video:
        extra["video_id"] = video
    if snippet.author_channel_url:
        extra["author_channel_url"] = snippet.author_channel_url
    return InboundMessage(
        channel=YouTubeChannel.name,
        external_id=comment.id,
        sender=author,
        received_at=snippet.published_at,
        text=text,
        sender_name=snippet.author_display_name or None,
        reply_to=snippet.parent_id,
        extra=extra,
        public=True,
        thread_ref=top,
        permalink=f"https://www.youtube.com/watch?v={video}&lc={comment.id}" if video else None,
    )


def poll_failure(exc: Exception, spent: int, now: datetime) -> PollError:
    if isinstance(exc, HttpError):
        status = exc.resp.status
        reason = error_reason(exc)
        if reason in QUOTA_REASONS or status == 429:
            wait = seconds_to_quota_reset(now) if "aily" in reason or "quota" in reason else 60.0
            return PollError(f"YouTube quota: {reason or status}", retry_after=wait, cost=spent)
        if status >= 500:
            return PollError(f"YouTube server error {status}", cost=spent)
        return PollError(
            f"YouTube refused the request ({status} {reason}): check YOUTUBE_API_KEY and "
            "YOUTUBE_CHANNEL_ID",
            retryable=False,
            cost=spent,
        )
    if isinstance(exc, ValidationError | ValueError):
        return PollError(f"YouTube answered something unreadable: {exc}", cost=spent)
    return PollError(f"YouTube unreachable: {type(exc).__name__}", cost=spent)


# --- the cursor ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommentCursor:
    """Comments published after `since`, or at `since` but not in `taken`, are still to be read;
    `high`/`high_taken` and `resume` carry a sweep that was cut short."""

    since: datetime
    taken: tuple[str, ...] = ()
    high: datetime | None = None
    high_taken: tuple[str, ...] = ()
    resume: str | None = None
    # The oldest thread the unfinished sweep returned: a page token is a position, and when
    # comments arrive meanwhile the next page starts with threads already returned.
    low: datetime | None = None
    low_taken: tuple[str, ...] = ()

    def dumps(self) -> str:
        values: dict[str, Any] = {"since": self.since.isoformat(), "taken": list(self.taken)}
        if self.high is not None:
            values["high"] = self.high.isoformat()
            values["high_taken"] = list(self.high_taken)
        if self.resume:
            values["resume"] = self.resume
        if self.low is not None:
            values["low"] = self.low.isoformat()
            values["low_taken"] = list(self.low_taken)
        return json.dumps(values, sort_keys=True)

    @classmethod
    def loads(cls, text: str | None) -> CommentCursor | None:
        if not text:
            return None
        try:
            values = json.loads(text)
            high = values.get("high")
            low = values.get("low")
            return cls(
                since=datetime.fromisoformat(values["since"]),
                taken=tuple(values.get("taken", ())),
                high=datetime.fromisoformat(high) if high else None,
                high_taken=tuple(values.get("high_taken", ())),
                resume=values.get("resume"),
                low=datetime.fromisoformat(low) if low else None,
                low_taken=tuple(values.get("low_taken", ())),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            raise PollError(f"unreadable YouTube cursor {text!r}", retryable=False) from None

    def is_old(self, comment: Comment) -> bool:
        published = comment.snippet.published_at
        return published < self.since or (published == self.since and comment.id in self.taken)

    def returned_already(self, thread: CommentThread) -> bool:
        """Did the unfinished sweep return this thread on an earlier page?"""
        if self.low is None or self.resume is None:
            return False
        published = thread.snippet.top_level_comment.snippet.published_at
        return published > self.low or (published == self.low and thread.id in self.low_taken)


def _advance(
    high: datetime | None, taken: tuple[str, ...], comments: list[Comment]
) -> tuple[datetime | None, tuple[str, ...]]:
    """The newest publication time among `comments` and what was taken at it."""
    for comment in comments:
        published = comment.snippet.published_at
        if high is None or published > high:
            high, taken = published, (comment.id,)
        elif published == high and comment.id not in taken:
            taken = (*taken, comment.id)
    return high, taken


def _later(
    mark: tuple[datetime, tuple[str, ...]], other: tuple[datetime | None, tuple[str, ...]]
) -> tuple[datetime, tuple[str, ...]]:
    """The later of two (time, ids taken at it) marks; the ids of both when the times tie."""
    if other[0] is None or other[0] < mark[0]:
        return mark
    if other[0] > mark[0]:
        return other[0], other[1]
    return mark[0], tuple(dict.fromkeys(mark[1] + other[1]))


class YouTubeCommentsPoller(Poller):
    name = "youtube_comments"
    channel = "youtube"

    def __init__(self, youtube: YouTubeChannel) -> None:
        self.youtube = youtube
        self.settings = youtube.settings
        self.interval_seconds = youtube.settings.youtube_poll_seconds
        self.daily_budget = youtube.settings.youtube_daily_quota_budget

    def __repr__(self) -> str:
        return "<YouTubeCommentsPoller youtube_comments>"

    def budget_day(self, now: datetime) -> date:
        return quota_day(now)

    async def fetch(self, cursor: str | None) -> PollResult:
        state = CommentCursor.loads(cursor)
        if state is None:  # start from now, without spending a unit
            # From the start of this second: YouTube dates comments to the second, so a comment
            # posted just after this poll may carry this very second.
            since = self.youtube.now().replace(microsecond=0)
            return PollResult([], CommentCursor(since=since).dumps(), cost=0)
        return await asyncio.to_thread(self._sweep, state)

    def _sweep(self, state: CommentCursor) -> PollResult:
        service = self.youtube.reader
        token = state.resume
        pages = 0
        reached = False
        threads: list[tuple[CommentThread, dict[str, Any]]] = []
        fresh: list[tuple[Comment, CommentThread]] = []
        unreadable: list[Unreadable] = []
        try:
            while pages < self.settings.youtube_max_pages_per_poll:
                request = service.commentThreads().list(
                    part="snippet,replies",
                    allThreadsRelatedToChannelId=self.settings.youtube_channel_id,
                    maxResults=100,
                    order="time",
                    textFormat="plainText",
                    pageToken=token,
                )
                page = ThreadPage.model_validate(request.execute(num_retries=0))
                pages += 1
                for raw_thread in page.items:
                    try:
                        thread = CommentThread.model_validate(raw_thread)
                    except ValidationError as exc:  # one poison thread must not stop the source
                        published = _published(raw_thread)
                        if published is not None and published < state.since:
                            reached = True  # taken by an earlier sweep: the sweep ends here
                            break
                        unreadable.append(_unreadable(raw_thread, exc))
                        continue
                    top = thread.snippet.top_level_comment
                    if state.is_old(top):
                        if top.snippet.published_at < state.since:
                            reached = True
                            break
                        continue  # taken already, but a comment of the same second may follow
                    if state.returned_already(thread):
                        continue
                    threads.append((thread, raw_thread))
                    fresh.append((top, thread))
                    replies = thread.replies.comments if thread.replies else []
                    fresh.extend((r, thread) for r in replies if not state.is_old(r))
                token = page.next_page_token
                if reached or not token:
                    break
        except (HttpError, ValidationError, ValueError) as exc:
            raise poll_failure(exc, pages, self.youtube.now()) from None
        except (TimeoutError, httplib2.HttpLib2Error, OSError) as exc:
            raise poll_failure(exc, pages, self.youtube.now()) from None
        done = reached or not token
        high, high_taken = _advance(state.high, state.high_taken, [c for c, _ in fresh])
        if done:
            since, taken = _later((state.since, state.taken), (high, high_taken))
            cursor = CommentCursor(since=since, taken=taken)
        else:
            low, low_taken = state.low, state.low_taken
            for thread, _ in threads:  # newest first: the last is the oldest
                published = thread.snippet.top_level_comment.snippet.published_at
                if low is None or published < low:
                    low, low_taken = published, (thread.id,)
                elif published == low and thread.id not in low_taken:
                    low_taken = (*low_taken, thread.id)
            cursor = replace(
                state, high=high, high_taken=high_taken, resume=token, low=low, low_taken=low_taken
            )
        fresh.sort(key=lambda pair: (pair[0].snippet.published_at, pair[0].id))
        messages: list[InboundMessage] = []
        raw: dict[str, str] = {}
        raw_threads = {thread.id: raw_thread for thread, raw_thread in threads}
        for comment, thread in fresh:
            try:
                with reading("unreadable YouTube comment"):
                    message = comment_message(comment, thread, self.settings.youtube_channel_id)
                    if message is None:
                        continue
                    message = finish_message(
                        message, max_chars=self.settings.chat_max_chars, now=self.youtube.now()
                    )
            except PayloadError as exc:
                unreadable.append(_unreadable(raw_threads[thread.id], exc))
                continue
            messages.append(message)
            raw[message.external_id] = json.dumps(raw_threads[thread.id])
        return PollResult(
            messages,
            cursor.dumps(),
            more=not done,
            cost=pages,
            raw=raw,
            unreadable=tuple(unreadable),
        )


def _published(raw_thread: Any) -> datetime | None:
    """When an unreadable thread was published, read leniently (a time without zone is UTC),
    so the sweep still knows where it stands; None when even that cannot be read."""
    try:
        text = raw_thread["snippet"]["topLevelComment"]["snippet"]["publishedAt"]
        when = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except (KeyError, TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _unreadable(raw_thread: Any, exc: Exception) -> Unreadable:
    logger.warning("youtube thread unreadable, handed over raw: %s", type(exc).__name__)
    return Unreadable(json.dumps(raw_thread, default=str), reason("unreadable YouTube item", exc))


class YouTubeChannel(Channel):
    name = "youtube"

    def __init__(
        self, settings: Settings, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.settings = settings
        self.now = now
        self._reader: Any = None
        self._writer: Any = None
        # httplib2 connections are not thread-safe, and the outbox sends a channel's messages
        # from parallel threads: replies go one at a time through the one writer (they are few;
        # each costs 50 units). The reader is used by its one poller only.
        self._writing = threading.Lock()

    def __repr__(self) -> str:
        return "<YouTubeChannel youtube>"

    @property
    def can_poll(self) -> bool:
        key = self.settings.youtube_api_key
        return bool(self.settings.youtube_channel_id and key and key.get_secret_value())

    @property
    def can_reply(self) -> bool:
        s = self.settings
        return bool(
            s.youtube_oauth_client_id
            and s.youtube_oauth_client_secret
            and s.youtube_oauth_refresh_token
            and s.youtube_oauth_refresh_token.get_secret_value()
        )

    def _http(self) -> httplib2.Http:
        return httplib2.Http(timeout=self.settings.youtube_timeout_seconds)

    def _build(self, **auth: Any) -> Any:
        return build(
            "youtube",
            "v3",
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": self.settings.youtube_api_base_url},
            **auth,
        )

    @property
    def reader(self) -> Any:
        if self._reader is None:
            key = self.settings.youtube_api_key
            if key is None or not key.get_secret_value():
                raise PollError("YOUTUBE_API_KEY is not set", retryable=False)
            self._reader = self._build(developerKey=key.get_secret_value(), http=self._http())
        return self._reader

    @property
    def writer(self) -> Any:
        if self._writer is None:
            s = self.settings
            assert s.youtube_oauth_client_secret and s.youtube_oauth_refresh_token
            credentials = Credentials(
                token=None,
                refresh_token=s.youtube_oauth_refresh_token.get_secret_value(),
                client_id=s.youtube_oauth_client_id,
                client_secret=s.youtube_oauth_client_secret.get_secret_value(),
                token_uri=s.youtube_oauth_token_uri,
                scopes=[SCOPE],
            )
            self._writer = self._build(http=AuthorizedHttp(credentials, http=self._http()))
        return self._writer

    def pollers(self) -> list[Poller]:
        return [YouTubeCommentsPoller(self)] if self.can_poll else []

    # YouTube pushes nothing: the webhook route has nothing to accept for it.
    def verify(self, raw: RawRequest) -> None:
        raise SignatureError("YouTube sends no webhooks; comments are polled")

    def parse(self, raw: RawRequest) -> list[InboundMessage]:
        raise PayloadError("YouTube sends no webhooks; comments are polled")

    async def send(self, message: OutboundMessage) -> SendResult:
        if message.reply_mode is not ReplyMode.PUBLIC:
            return SendResult.permanent(
                "YouTube has no private messages: only a public reply under a comment"
            )
        if not message.reply_to:
            return SendResult.permanent("a YouTube reply needs the comment it answers")
        if not self.can_reply:
            return SendResult.permanent(
                "YouTube OAuth is not set (YOUTUBE_OAUTH_CLIENT_ID, YOUTUBE_OAUTH_CLIENT_SECRET, "
                "YOUTUBE_OAUTH_REFRESH_TOKEN)"
            )
        text = message.text.strip()
        if not text or len(text) > COMMENT_MAX_CHARS:
            return SendResult.permanent(f"a YouTube reply needs 1..{COMMENT_MAX_CHARS} characters")
        body = {"snippet": {"parentId": message.reply_to, "textOriginal": text}}

        def insert() -> dict[str, Any]:
            with self._writing:
                request = self.writer.comments().insert(part="snippet", body=body)
                return request.execute(num_retries=0)

        try:
            created = await asyncio.to_thread(insert)
        except HttpError as exc:
            reason = error_reason(exc)
            status = exc.resp.status
            if reason in QUOTA_REASONS or status == 429 or status >= 500:
                return SendResult.retry(f"YouTube: {status} {reason}")
            if status == 401:
                return SendResult.retry("YouTube refused the OAuth credentials")
            return SendResult.permanent(f"YouTube refused the reply: {status} {reason}")
        except google.auth.exceptions.RefreshError as exc:
            return SendResult.retry(f"YouTube OAuth token refresh failed: {exc.args[0]}")
        except (httplib2.HttpLib2Error, OSError) as exc:
            return SendResult.retry(f"YouTube unreachable: {type(exc).__name__}")
        return SendResult.sent(str(created.get("id")) if created.get("id") else None)
