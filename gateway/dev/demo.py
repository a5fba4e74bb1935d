"""The local demo (`make run`): with no provider account configured, the gateway talks to fake
Twilio and Telegram APIs mounted inside itself and to the built-in SP4N core simulator, so every
path — a complaint by SMS, WhatsApp or Telegram, a liaison's WhatsApp notification, an answer
from the core — can be tried on one machine with no credentials.

Photos: the fixtures name media the fakes never received (a real phone uploads the photo to
WhatsApp or Telegram first), so the demo's fakes answer every unknown media id with one demo
photo (`demo_photo`), fetched by the gateway through the real download paths: Twilio's
authenticated media URL and its CDN redirect, Telegram's getFile and file URL.

Demo mode is on only in development and only while no real Twilio or Telegram credential is
set (DEMO_PROVIDERS=false turns it off). The demo credentials are fixed, public and useless
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

from channels.fakes.telegram_api import FakeTelegram
from channels.fakes.twilio_api import FakeTwilio, StoredMedia
from config.settings import Settings
from gateway.api.pages import render

TWILIO_PREFIX = "/_demo/twilio"
TELEGRAM_PREFIX = "/_demo/telegram"
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


def is_demo(settings: Settings) -> bool:
    return (
        settings.app_env == "development"
        and settings.demo_providers
        and not settings.twilio_account_sid
        and settings.telegram_bot_token is None
    )


def demo_settings(settings: Settings) -> Settings:
    """The settings with the fakes' credentials and addresses, when demo mode is on."""
    if not is_demo(settings):
        return settings
    from pydantic import SecretStr

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
            "twilio_whatsapp_templates": {
                "notification": DEMO_NOTIFICATION_TEMPLATE,
                "reminder": DEMO_REMINDER_TEMPLATE,
                "digest": DEMO_DIGEST_TEMPLATE,
                **settings.twilio_whatsapp_templates,
            },
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


class DemoProviders:
    def __init__(self) -> None:
        photo = demo_photo()
        self.twilio = FakeTwilio(
            account_sid=DEMO_TWILIO_SID,
            auth_token=DEMO_TWILIO_TOKEN,
            any_media=StoredMedia(photo, "image/jpeg"),
        )
        self.telegram = FakeTelegram(token=DEMO_TELEGRAM_TOKEN, any_file=photo)

    def mount(self, app: FastAPI) -> None:
        app.mount(TWILIO_PREFIX, self.twilio.app)
        app.mount(TELEGRAM_PREFIX, self.telegram.app)
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
        """The latest messages of both fakes, newest first."""
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
        rows.sort(key=lambda row: row.at, reverse=True)
        return rows[:limit]


@dataclass(frozen=True)
class Delivery:
    at: datetime
    provider: str
    to: str
    text: str
    media: list[str]


def _template(sid: str | None, variables: str | None) -> str:
    """A template message as the phone would show it: which template, with which values."""
    try:
        values = json.loads(variables or "{}")
    except ValueError:
        values = {}
    shown = "\n".join(f"{key}: {value}" for key, value in sorted(values.items()))
    return f"(template {sid})\n{shown}".strip()
