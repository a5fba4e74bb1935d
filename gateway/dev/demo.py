"""The local demo (`make run`): with no provider account configured, the gateway talks to fake
Twilio, Telegram, Meta Graph, X and YouTube APIs mounted inside itself and to the built-in SP4N
core simulator, so every path — a complaint by SMS, WhatsApp, Telegram, WhatsApp Cloud,
Instagram or Facebook (a comment included), an X mention and its DMs, a YouTube comment, a
liaison's WhatsApp notification, an answer from the core — can be tried on one machine with no
credentials.

X and YouTube push nothing: the gateway polls them (gateway/jobs/pollers.py), here every
`DEMO_POLL_SECONDS`. What a citizen would post there is created with a POST to the demo
(`/_demo/x/mention`, `/_demo/x/dm`, `/_demo/youtube/comment`: text and a handle), which adds
it to the fake API; the next poll reads it through tweepy or google-api-python-client as it
would read X or YouTube. Each fills in only while its own credentials are unset.

Photos: the fixtures name media the fakes never received (a real phone uploads the photo to
WhatsApp or Telegram first), so the demo's fakes answer every unknown media id with one demo
photo (`demo_photo`), fetched by the gateway through the real download paths: Twilio's
authenticated media URL and its CDN redirect, Telegram's getFile and file URL, WhatsApp Cloud's
media id lookup and its bearer-authenticated URL.

Meta's private reply to a comment answers with the commenter's messaging id, which Meta knows
from the comment. The demo's fake knows only comments it was told of, so it reads the author of
any other comment from the gateway's own record of it (`_DemoComments`): a comment sent with
`send-fixture` then continues in the DMs of the same sender.

Demo mode is on only in development and only while no real Twilio, Telegram or Meta credential
is set (DEMO_PROVIDERS=false turns it off). The demo credentials are fixed, public and useless
anywhere but against these fakes; `lapor-gateway send-fixture` signs requests with them.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlmodel import col

from channels.fakes.meta_graph import Delivery as MetaDelivery
from channels.fakes.meta_graph import FakeComment, FakeMetaGraph
from channels.fakes.meta_graph import StoredMedia as MetaMedia
from channels.fakes.telegram_api import FakeTelegram
from channels.fakes.twilio_api import FakeTwilio, StoredMedia
from channels.fakes.x_api import FakeX
from channels.fakes.youtube_api import FakeYouTube
from config.settings import Settings
from gateway.api.pages import render
from gateway.store.db import Database

TWILIO_PREFIX = "/_demo/twilio"
TELEGRAM_PREFIX = "/_demo/telegram"
META_PREFIX = "/_demo/meta"
X_PREFIX = "/_demo/x/api"
YOUTUBE_PREFIX = "/_demo/youtube/api"
DEMO_TWILIO_SID = "AC" + "d" * 32
DEMO_TWILIO_TOKEN = "demo-twilio-auth-token-not-a-secret"  # noqa: S105 - public demo value
DEMO_TELEGRAM_TOKEN = "100000001:demo-telegram-token-not-a-secret"  # noqa: S105
DEMO_TELEGRAM_SECRET = "demo-telegram-webhook-secret-not-a-secret"  # noqa: S105
DEMO_SMS_NUMBER = "+15005550006"  # Twilio's documented magic test number
DEMO_WHATSAPP_NUMBER = "+14155238886"  # Twilio's WhatsApp sandbox number
# Liaison officers never wrote to the gateway, so their WhatsApp window is closed: notices go
# out as an approved template. The fake accepts any Content SID; this one is for the demo only.
DEMO_NOTIFICATION_TEMPLATE = "HX" + "d" * 32
DEMO_REMINDER_TEMPLATE = "HX" + "e" * 32  # deadline reminders to liaison officers
DEMO_DIGEST_TEMPLATE = "HX" + "f" * 32  # the koordinators' daily digest
# Meta: one app (its secret signs the webhooks), three accounts with their own tokens. The ids
# are the fixtures' (tests/fixtures/{whatsapp_cloud,instagram,facebook}/).
DEMO_META_APP_SECRET = "demo-meta-app-secret-not-a-secret"  # noqa: S105
DEMO_META_VERIFY_TOKEN = "demo-meta-verify-token-not-a-secret"  # noqa: S105
DEMO_WHATSAPP_CLOUD_TOKEN = "demo-whatsapp-cloud-token-not-a-secret"  # noqa: S105
DEMO_INSTAGRAM_TOKEN = "demo-instagram-token-not-a-secret"  # noqa: S105
DEMO_FACEBOOK_TOKEN = "demo-facebook-token-not-a-secret"  # noqa: S105
DEMO_PHONE_NUMBER_ID = "106540352242922"
DEMO_WABA_ID = "102290129340398"
DEMO_INSTAGRAM_ID = "17841400000001708"
DEMO_PAGE_ID = "108000000001708"
# X: the regency's account and its app's keys (the fake checks the OAuth 1.0a signatures).
DEMO_X_USER_ID = "1500000000000001708"
DEMO_X_USERNAME = "LaporRembangDemo"
DEMO_X_BEARER = "demo-x-bearer-not-a-secret"
DEMO_X_CONSUMER_KEY = "demo-x-consumer-key"
DEMO_X_CONSUMER_SECRET = "demo-x-consumer-secret-not-a-secret"  # noqa: S105
DEMO_X_ACCESS_TOKEN = DEMO_X_USER_ID + "-demo-x-access-token"
DEMO_X_ACCESS_SECRET = "demo-x-access-secret-not-a-secret"  # noqa: S105
# YouTube: the regency's channel, the API key and the owner's OAuth client.
DEMO_YOUTUBE_KEY = "demo-youtube-key-not-a-secret"
DEMO_YOUTUBE_CHANNEL = "UCdemoRembangChannel0001"
DEMO_YOUTUBE_CLIENT_ID = "demo-client.apps.googleusercontent.com"
DEMO_YOUTUBE_CLIENT_SECRET = "demo-youtube-client-secret-not-a-secret"  # noqa: S105
DEMO_YOUTUBE_REFRESH = "demo-youtube-refresh-token-not-a-secret"
DEMO_YOUTUBE_VIDEO = "demoRembang01"
# The demo polls often so a post shows up within seconds; the fakes cost nothing.
DEMO_POLL_SECONDS = 5.0
# The regency's Instagram post the comment fixtures are under, and where it is.
DEMO_INSTAGRAM_POST = "18030000000000001"
DEMO_INSTAGRAM_PERMALINK = "https://www.instagram.com/p/DEMO1708/"


def is_demo(settings: Settings) -> bool:
    return (
        settings.app_env == "development"
        and settings.demo_providers
        and not settings.twilio_account_sid
        and settings.telegram_bot_token is None
        and settings.meta_app_secret is None
        and settings.whatsapp_cloud_access_token is None
        and settings.instagram_access_token is None
        and settings.facebook_page_access_token is None
    )


def demo_settings(settings: Settings) -> Settings:
    """The settings with the fakes' credentials and addresses, when demo mode is on."""
    if not is_demo(settings):
        return settings
    from pydantic import SecretStr

    from gateway.dev import demo_mail

    mail = demo_mail.settings_update(settings) if demo_mail.wanted(settings) else {}

    base = settings.public_base_url
    return settings.model_copy(
        update={
            "twilio_account_sid": DEMO_TWILIO_SID,
            "twilio_auth_token": SecretStr(DEMO_TWILIO_TOKEN),
            "twilio_sms_number": DEMO_SMS_NUMBER,
            "twilio_whatsapp_number": DEMO_WHATSAPP_NUMBER,
            "twilio_api_base_url": base + TWILIO_PREFIX,
            "telegram_bot_token": SecretStr(DEMO_TELEGRAM_TOKEN),
            "telegram_webhook_secret": SecretStr(DEMO_TELEGRAM_SECRET),
            "telegram_api_base_url": base + TELEGRAM_PREFIX,
            "meta_app_secret": SecretStr(DEMO_META_APP_SECRET),
            "meta_verify_token": SecretStr(DEMO_META_VERIFY_TOKEN),
            "meta_graph_base_url": base + META_PREFIX,
            "instagram_graph_base_url": None,
            "whatsapp_cloud_phone_number_id": DEMO_PHONE_NUMBER_ID,
            "whatsapp_cloud_waba_id": DEMO_WABA_ID,
            "whatsapp_cloud_access_token": SecretStr(DEMO_WHATSAPP_CLOUD_TOKEN),
            "instagram_account_id": DEMO_INSTAGRAM_ID,
            "instagram_access_token": SecretStr(DEMO_INSTAGRAM_TOKEN),
            "facebook_page_id": DEMO_PAGE_ID,
            "facebook_page_access_token": SecretStr(DEMO_FACEBOOK_TOKEN),
            # Outside the 24-hour window: approved templates (WhatsApp) and tags (Messenger,
            # Instagram) for what the gateway sends on its own: answers, statuses, notices.
            "whatsapp_cloud_templates": {
                kind: f"lapor_{kind}"
                for kind in ("answer", "status", "reply", "notification", "reminder", "digest")
            }
            | settings.whatsapp_cloud_templates,
            "facebook_message_tags": {"answer": "ACCOUNT_UPDATE", "status": "ACCOUNT_UPDATE"}
            | settings.facebook_message_tags,
            "instagram_message_tags": {"answer": "HUMAN_AGENT", "status": "HUMAN_AGENT"}
            | settings.instagram_message_tags,
            "twilio_whatsapp_templates": {
                "notification": DEMO_NOTIFICATION_TEMPLATE,
                "reminder": DEMO_REMINDER_TEMPLATE,
                "digest": DEMO_DIGEST_TEMPLATE,
                **settings.twilio_whatsapp_templates,
            },
            **mail,
            **_x_demo(settings),
            **_youtube_demo(settings),
        }
    )


def _x_demo(settings: Settings) -> dict[str, object]:
    """The fake X API's account, unless X is configured. Set with model_copy, so the demo's
    poll interval may be shorter than X_POLL_SECONDS allows."""
    if settings.x_user_id or settings.x_bearer_token is not None or settings.x_consumer_key:
        return {}
    from pydantic import SecretStr

    return {
        "x_api_base_url": settings.public_base_url + X_PREFIX,
        "x_user_id": DEMO_X_USER_ID,
        "x_bearer_token": SecretStr(DEMO_X_BEARER),
        "x_consumer_key": DEMO_X_CONSUMER_KEY,
        "x_consumer_secret": SecretStr(DEMO_X_CONSUMER_SECRET),
        "x_access_token": DEMO_X_ACCESS_TOKEN,
        "x_access_token_secret": SecretStr(DEMO_X_ACCESS_SECRET),
        "x_poll_seconds": DEMO_POLL_SECONDS,
    }


def _youtube_demo(settings: Settings) -> dict[str, object]:
    if settings.youtube_api_key is not None or settings.youtube_channel_id:
        return {}
    from pydantic import SecretStr

    base = settings.public_base_url + YOUTUBE_PREFIX
    return {
        "youtube_api_base_url": base,
        "youtube_oauth_token_uri": base + "/token",
        "youtube_api_key": SecretStr(DEMO_YOUTUBE_KEY),
        "youtube_channel_id": DEMO_YOUTUBE_CHANNEL,
        "youtube_oauth_client_id": DEMO_YOUTUBE_CLIENT_ID,
        "youtube_oauth_client_secret": SecretStr(DEMO_YOUTUBE_CLIENT_SECRET),
        "youtube_oauth_refresh_token": SecretStr(DEMO_YOUTUBE_REFRESH),
        "youtube_poll_seconds": DEMO_POLL_SECONDS,
        # A poll every few seconds spends more units than YouTube's day would allow.
        "youtube_daily_quota_budget": 100_000,
    }


@lru_cache(maxsize=1)
def demo_photo() -> bytes:
    """The photo every demo media id shows: a grey road with a pothole, drawn with Pillow (no
    file to ship, and nothing personal in it)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 480), (120, 124, 128))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 640, 150), fill=(150, 190, 230))  # sky
    draw.polygon([(250, 150), (390, 150), (640, 480), (0, 480)], fill=(70, 72, 75))  # road
    draw.ellipse((230, 300, 430, 390), fill=(35, 30, 25))  # the pothole
    draw.text((12, 12), "FOTO DEMO lapor-gateway", fill=(20, 20, 20))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


class _DemoMedia(dict):
    """WhatsApp Cloud media ids: the demo photo for every id the fake was never given (a real
    phone uploads the photo to Meta first), except the posts whose permalink it knows."""

    def __init__(self, photo: bytes, posts: dict[str, str]) -> None:
        super().__init__()
        self.photo = MetaMedia(photo, "image/jpeg")
        self.posts = posts

    def get(self, key: str, default: object = None) -> object:
        found = super().get(key)
        if found is None and key not in self.posts:
            return self.photo
        return found


class _DemoComments(dict):
    """Who wrote a comment, for the private reply's answer: the fake's own list, else the
    gateway's record of the comment (the demo runs in the gateway's process)."""

    def __init__(self, db: Database | None) -> None:
        super().__init__()
        self.db = db

    def get(self, key: str, default: object = None) -> object:
        found = super().get(key)
        if found is not None or self.db is None:
            return found
        from sqlalchemy import select

        from gateway.store.models import InboundMessage

        with self.db.read_session() as session:
            author = session.scalar(
                select(col(InboundMessage.sender))
                .where(col(InboundMessage.channel).in_(("instagram", "facebook")))
                .where(col(InboundMessage.external_id) == key)
            )
        return FakeComment(author_id=author) if author else default


class DemoProviders:
    def __init__(self, db: Database | None = None, settings: Settings | None = None) -> None:
        self.settings = settings  # where the demo's mail network keeps what it delivered
        photo = demo_photo()
        self.twilio = FakeTwilio(
            account_sid=DEMO_TWILIO_SID,
            auth_token=DEMO_TWILIO_TOKEN,
            any_media=StoredMedia(photo, "image/jpeg"),
        )
        self.telegram = FakeTelegram(token=DEMO_TELEGRAM_TOKEN, any_file=photo)
        posts = {DEMO_INSTAGRAM_POST: DEMO_INSTAGRAM_PERMALINK}
        self.meta = FakeMetaGraph(
            tokens={
                DEMO_WHATSAPP_CLOUD_TOKEN: DEMO_PHONE_NUMBER_ID,
                DEMO_INSTAGRAM_TOKEN: DEMO_INSTAGRAM_ID,
                DEMO_FACEBOOK_TOKEN: DEMO_PAGE_ID,
            },
            media=_DemoMedia(photo, posts),
            comments=_DemoComments(db),
            permalinks=posts,
        )
        self.x = FakeX(
            user_id=DEMO_X_USER_ID,
            username=DEMO_X_USERNAME,
            bearer_token=DEMO_X_BEARER,
            consumer_key=DEMO_X_CONSUMER_KEY,
            consumer_secret=DEMO_X_CONSUMER_SECRET,
            access_token=DEMO_X_ACCESS_TOKEN,
            access_token_secret=DEMO_X_ACCESS_SECRET,
        )
        self.youtube = FakeYouTube(
            api_key=DEMO_YOUTUBE_KEY,
            channel_id=DEMO_YOUTUBE_CHANNEL,
            client_id=DEMO_YOUTUBE_CLIENT_ID,
            client_secret=DEMO_YOUTUBE_CLIENT_SECRET,
            refresh_token=DEMO_YOUTUBE_REFRESH,
            quota_left=10**9,
        )

    def mount(self, app: FastAPI) -> None:
        app.mount(TWILIO_PREFIX, self.twilio.app)
        app.mount(TELEGRAM_PREFIX, self.telegram.app)
        app.mount(META_PREFIX, self.meta.app)
        app.mount(X_PREFIX, self.x.app)
        app.mount(YOUTUBE_PREFIX, self.youtube.app)
        for path, endpoint in (
            ("/_demo/x/mention", self.x_mention),
            ("/_demo/x/dm", self.x_dm),
            ("/_demo/youtube/comment", self.youtube_comment),
        ):
            app.add_api_route(path, endpoint, methods=["POST"], include_in_schema=False)
        app.add_api_route(
            "/_demo",
            self.page,
            methods=["GET"],
            include_in_schema=False,
            response_class=HTMLResponse,
        )

    def page(self, request: Request) -> HTMLResponse:
        """What the fake providers delivered: the messages a phone would have received."""
        return render(request, "demo.html", {"deliveries": self.deliveries()})

    # --- what a citizen posts on X or YouTube (the gateway's next poll reads it) ---------------

    def _x_user(self, handle: str) -> str:
        """The fake X user with this handle (made up on first use, with a stable id)."""
        handle = _handle(handle)
        for user_id, user in self.x.users.items():
            if user["username"] == handle:
                return user_id
        user_id = str(1_700_000_000_000_000_000 + len(self.x.users) + 1)
        self.x.add_user(user_id, handle, handle.replace("_", " ").title())
        return user_id

    def x_mention(
        self, text: str = Form(max_length=280), user: str = Form("warga_demo")
    ) -> JSONResponse:
        """A post mentioning the regency's account, by `@user`."""
        author = self._x_user(user)
        tweet = self.x.add_mention(
            {"text": f"@{DEMO_X_USERNAME} {text}", "author_id": author, "created_at": _now()}
        )
        return JSONResponse(
            {"id": tweet["id"], "author_id": author, "poll_seconds": DEMO_POLL_SECONDS}
        )

    def x_dm(
        self, text: str = Form(max_length=10_000), user: str = Form("warga_demo")
    ) -> JSONResponse:
        """A direct message from `@user` to the regency's account."""
        sender = self._x_user(user)
        event = self.x.add_dm({"text": text, "sender_id": sender, "created_at": _now()})
        return JSONResponse(
            {"id": event["id"], "sender_id": sender, "poll_seconds": DEMO_POLL_SECONDS}
        )

    def youtube_comment(
        self, text: str = Form(max_length=10_000), user: str = Form("WargaDemo")
    ) -> JSONResponse:
        """A comment on the regency's demo video, by the channel `@user`."""
        thread = self.youtube.comment(
            _handle(user), text, datetime.now(UTC), video=DEMO_YOUTUBE_VIDEO
        )
        return JSONResponse({"id": thread["id"], "poll_seconds": DEMO_POLL_SECONDS})

    def deliveries(self, limit: int = 200) -> list[Delivery]:
        """The latest messages of the fakes, newest first."""
        rows = [
            Delivery(
                at=message.date_created,
                provider="WhatsApp" if message.to.startswith("whatsapp:") else "SMS",
                to=message.to,
                text=message.body or _template(message.content_sid, message.content_variables),
                media=[str(url) for url in message.media_urls],
            )
            for message in self.twilio.sent[-limit:]
        ]
        for call in self.telegram.sent()[-limit:]:
            text = call.params.get("text") or call.params.get("caption") or f"({call.method})"
            media = [str(call.params[k]) for k in ("photo", "document") if call.params.get(k)]
            rows.append(Delivery(call.at, "Telegram", str(call.chat_id), str(text), media))
        for sent in self.meta.deliveries[-limit:]:
            rows.append(_meta_delivery(sent))
        if self.settings is not None:
            from gateway.dev.demo_mail import read_sent

            for mail in read_sent(self.settings, limit):
                rows.append(
                    Delivery(mail.at, "Email", mail.to, f"{mail.subject}\n\n{mail.text}", [])
                )
        rows += self._x_deliveries(limit) + self._youtube_deliveries(limit)
        # Newest first; the fakes date to the second, so within one second a source's own
        # order (the order it was sent in) decides.
        order = sorted(range(len(rows)), key=lambda i: (rows[i].at, i), reverse=True)
        return [rows[i] for i in order[:limit]]

    def _x_deliveries(self, limit: int) -> list[Delivery]:
        users = self.x.users
        rows = [
            Delivery(
                _parse(post.get("created_at")),
                "X",
                str(post.get("in_reply_to_tweet_id") or ""),
                str(post["text"]),
                [],
                where="demo.under_post",
            )
            for post in self.x.posted[-limit:]
        ]
        for dm in self.x.dms_sent[-limit:]:
            to = users.get(dm["participant_id"], {}).get("username")
            rows.append(
                Delivery(
                    _parse(dm.get("created_at")),
                    "X DM",
                    f"@{to}" if to else dm["participant_id"],
                    str(dm["text"]),
                    [],
                )
            )
        return rows

    def _youtube_deliveries(self, limit: int) -> list[Delivery]:
        return [
            Delivery(
                _parse(reply["snippet"].get("publishedAt")),
                "YouTube",
                str(reply["snippet"].get("parentId")),
                str(reply["snippet"].get("textOriginal")),
                [],
                where="demo.under_comment",
            )
            for reply in self.youtube.replies_posted[-limit:]
        ]


def _handle(text: str) -> str:
    """A handle as X and YouTube allow them: letters, digits, underscores, at most 15."""
    cleaned = "".join(
        c for c in text.strip().lstrip("@") if c.isascii() and (c.isalnum() or c == "_")
    )
    return cleaned[:15] or "warga_demo"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _parse(stamp: object) -> datetime:
    if isinstance(stamp, str) and stamp:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return datetime.now(UTC)


@dataclass(frozen=True)
class Delivery:
    at: datetime
    provider: str
    to: str
    text: str
    media: list[str]
    # A catalog key saying where it went when it is not a private message to `to`: a public
    # reply under the comment `to`, or the private reply to it.
    where: str = ""


META_PROVIDERS = {
    DEMO_PHONE_NUMBER_ID: "WhatsApp Cloud",
    DEMO_INSTAGRAM_ID: "Instagram",
    DEMO_PAGE_ID: "Facebook",
}


def _meta_delivery(sent: MetaDelivery) -> Delivery:
    where = {"public_reply": "demo.under_comment", "private_reply": "demo.private_reply"}
    media = []
    if sent.kind == "whatsapp":
        item = sent.body.get(str(sent.body.get("type"))) or {}
        if isinstance(item, dict) and item.get("link"):
            media.append(str(item["link"]))
    return Delivery(
        at=sent.at,
        provider=META_PROVIDERS.get(sent.sender, "Meta"),
        to=("+" + sent.to) if sent.kind == "whatsapp" else sent.to,
        text=sent.text,
        media=media,
        where=where.get(sent.kind, ""),
    )


def _template(sid: str | None, variables: str | None) -> str:
    """A template message as the phone would show it: which template, with which values."""
    try:
        values = json.loads(variables or "{}")
    except ValueError:
        values = {}
    shown = "\n".join(f"{key}: {value}" for key, value in sorted(values.items()))
    return f"(template {sid})\n{shown}".strip()
