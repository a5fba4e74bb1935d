"""The local fake Telegram Bot API the gateway sends its replies to during the load benchmark.

It runs in its own process (`python -m bench.load.fakes --port N`) so that answering the
gateway's sends does not take CPU from the gateway process being measured. Besides the fake's
own Bot API it answers `GET /_bench/sends`: how many messages were sent and when (Unix
seconds), which is how the benchmark sees the outbox from outside the gateway.
"""

from __future__ import annotations

import argparse
import time

import uvicorn
from fastapi import FastAPI

from channels.fakes.telegram_api import SEND_METHODS, FakeTelegram

# Fixed and public: only ever valid against this fake on 127.0.0.1.
BOT_TOKEN = "900000001:bench-load-fake-telegram-token-0000"  # noqa: S105


def _demo_channel(meta_sender: str) -> str:
    from gateway.dev import demo

    return {
        demo.DEMO_PHONE_NUMBER_ID: "whatsapp_cloud",
        demo.DEMO_INSTAGRAM_ID: "instagram",
        demo.DEMO_PAGE_ID: "facebook",
    }.get(meta_sender, f"meta:{meta_sender}")


def create_app() -> FastAPI:
    fake = FakeTelegram(token=BOT_TOKEN)
    app = FastAPI(title="bench fake providers")
    # The demo's fake Twilio, Telegram and Meta Graph APIs under the demo's prefixes, for the
    # multi-channel outbox benchmark (bench/load/outbox_channels.py): a gateway in demo mode
    # whose PUBLIC_BASE_URL is this process sends every channel here.
    from gateway.dev.demo import DemoProviders

    providers = DemoProviders()
    providers.mount(app)

    @app.get("/_bench/channel_sends")
    def channel_sends() -> dict[str, object]:
        """Every message the demo fakes received: [channel, recipient, Unix time, text]."""
        sends: list[tuple[str, str, float, str]] = []
        for call in list(providers.telegram.calls):
            if call.method in SEND_METHODS:
                text = str(call.params.get("text") or call.params.get("caption") or "")
                sends.append(("telegram", call.chat_id or "", call.at.timestamp(), text))
        for sms in list(providers.twilio.sent):
            channel = "twilio_whatsapp" if sms.to.startswith("whatsapp:") else "twilio_sms"
            to = sms.to.removeprefix("whatsapp:")
            sends.append((channel, to, sms.date_created.timestamp(), sms.body))
        for delivery in list(providers.meta.deliveries):
            channel = _demo_channel(delivery.sender)
            sends.append((channel, delivery.to, delivery.at.timestamp(), delivery.text))
        return {"sends": sends, "now": time.time()}

    @app.get("/_bench/sends")
    def sends() -> dict[str, object]:
        # BotCall.at is an aware datetime; the benchmark compares Unix seconds.
        times = [call.at.timestamp() for call in list(fake.calls) if call.method in SEND_METHODS]
        return {"count": len(times), "times": times, "now": time.time()}

    app.mount("/", fake.app)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(create_app(), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
