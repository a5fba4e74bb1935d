"""TELEGRAM_MODE=polling: updates fetched over getUpdates go through the same intake and
conversation as webhook updates, and the bot answers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy import func, select

from gateway.intake.webhooks import telegram_polling
from gateway.store.db import Database
from gateway.store.models import InboundMessage, InboundStatus
from tests.conftest import RunningTelegram, RunningTwilio
from tests.gateway.core_env import make_gateway

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "telegram" / "text.json"


def test_polled_updates_reach_the_bot(
    db: Database, db_url: str, tmp_path: Path, twilio: RunningTwilio, telegram: RunningTelegram
) -> None:
    gateway = make_gateway(
        db,
        db_url,
        tmp_path,
        "http://127.0.0.1:1",
        twilio,
        telegram,
        telegram_mode="polling",
        telegram_poll_timeout_seconds=0,
    )
    update = json.loads(FIXTURE.read_text())
    update.pop("update_id", None)
    telegram.fake.push_update(update)
    chat_id = update["message"]["chat"]["id"]

    async def run_until_stored() -> None:
        task = asyncio.create_task(telegram_polling(gateway))
        try:
            for _ in range(200):  # wait for the outcome, not for a fixed time
                with gateway.db.read_session() as session:
                    # processed, not just stored: the bot's reply is queued by then
                    processed = InboundMessage.status == InboundStatus.PROCESSED.value
                    done = select(func.count()).where(processed)
                    if session.scalar(done):
                        return
                await asyncio.sleep(0.05)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(run_until_stored())
    with gateway.db.read_session() as session:
        row = session.scalar(select(InboundMessage))
    assert row is not None and row.channel == "telegram" and row.sender == str(chat_id)
    asyncio.run(gateway.dispatcher("t").drain())
    texts = [c.params.get("text", "") for c in telegram.fake.sent(chat_id)]
    assert any("Balas YA bila setuju" in text for text in texts)


def test_a_polled_update_that_cannot_be_read_is_kept_and_polling_goes_on(
    db: Database, db_url: str, tmp_path: Path, twilio: RunningTwilio, telegram: RunningTelegram
) -> None:
    gateway = make_gateway(
        db,
        db_url,
        tmp_path,
        "http://127.0.0.1:1",
        twilio,
        telegram,
        telegram_mode="polling",
        telegram_poll_timeout_seconds=0,
    )
    for name in ("sticker_old_shape.json", "location_not_numbers.json", "text.json"):
        update = json.loads((FIXTURE.parent / name).read_text())
        update.pop("update_id", None)
        telegram.fake.push_update(update)

    async def run_until_two_stored() -> None:
        task = asyncio.create_task(telegram_polling(gateway))
        try:
            for _ in range(200):
                with gateway.db.read_session() as session:
                    if session.scalar(select(func.count()).select_from(InboundMessage)) == 2:
                        return
                await asyncio.sleep(0.05)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(run_until_two_stored())
    with gateway.db.read_session() as session:
        rows = session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
    assert rows[0].status == InboundStatus.UNREADABLE
    assert "location" in rows[0].raw_payload and rows[1].text.startswith("Jalan di Desa Sumberjo")
