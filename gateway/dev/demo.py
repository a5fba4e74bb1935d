"""The local demo (`make run`): with no provider account configured, the gateway talks to fake
Twilio, Telegram and Meta Graph APIs mounted inside itself and to the built-in SP4N core
simulator, so every path — a complaint by SMS, WhatsApp, Telegram, WhatsApp Cloud, Instagram or
Facebook (a comment included), a liaison's WhatsApp notification, an answer from the core — can
be tried on one machine with no credentials.

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
from datetime import datetime
from functools import lru_cache

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from sqlmodel import col

from channels.fakes.meta_graph import Delivery as MetaDelivery
from channels.fakes.meta_graph import FakeComment, FakeMetaGraph
from channels.fakes.meta_graph import StoredMedia as MetaMedia
from channels.fakes.telegram_api import FakeTelegram
from channels.fakes.twilio_api import FakeTwilio, StoredMedia
from config.settings import Settings
from gateway.api.pages import render
from gateway.store.db import Database

TWILIO_PREFIX = "/_demo/twilio"
TELEGRAM_PREFIX = "/_demo/telegram"
META_PREFIX = "/_demo/meta"
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
        }
    )


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

    def mount(self, app: FastAPI) -> None:
        app.mount(TWILIO_PREFIX, self.twilio.app)
        app.mount(TELEGRAM_PREFIX, self.telegram.app)
        app.mount(META_PREFIX, self.meta.app)
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
        rows.sort(key=lambda row: row.at, reverse=True)
        return rows[:limit]


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
