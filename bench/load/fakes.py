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


def create_app() -> FastAPI:
    fake = FakeTelegram(token=BOT_TOKEN)
    app = FastAPI(title="bench fake providers")

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
