"""Issue 13 defects 4 and 7: after a crash mid-send a reply is matched only to a message that
can be its own (never to an earlier identical reply another row already owns), ambiguous or
unanswerable lookups leave it uncertain instead of guessing or sending twice; and a delivery
receipt never moves a message's state backwards."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from channels.base import DeliveryState, DeliveryStatus
from channels.fakes.server import closed_port_url
from gateway.clock import utcnow
from gateway.context import Gateway
from gateway.intake.webhooks import record_statuses
from gateway.outbox import delivery
from gateway.outbox.payloads import ChannelPayload
from gateway.outbox.queue import OutboxMessage, enqueue
from gateway.store.db import Database
from gateway.store.models import OutboxItem, OutboxStatus
from tests.channels.cases import channel_settings
from tests.conftest import RunningTelegram, RunningTwilio

CITIZEN = "+6281234567890"
TEXT = "Terima kasih. Ceritakan apa yang terjadi, di mana, dan sejak kapan."


def _gateway(db: Database, db_url: str, tmp_path: Path, api_url: str) -> Gateway:
    settings = channel_settings(
        database_url=db_url,
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        app_env="test",
        secret_key="test-secret-key-not-for-production",
        twilio_api_base_url=api_url,
    )
    return Gateway.create(settings, db=db)


def _queue(gateway: Gateway, key: str, text: str = TEXT) -> None:
    with gateway.db.session() as session:
        enqueue(
            session,
            OutboxMessage(
                kind=delivery.REPLY,
                key=key,
                channel="twilio_sms",
                recipient=CITIZEN,
                payload=ChannelPayload(text),
            ),
        )
        session.commit()


def _row(gateway: Gateway, key: str) -> OutboxItem:
    with gateway.db.read_session() as session:
        row = session.scalar(select(OutboxItem).where(OutboxItem.idempotency_key == key))
        assert row is not None
        return row


def _crash_mid_send(gateway: Gateway) -> None:
    """A dispatcher claims what is due and dies before it reaches the provider."""
    assert gateway.dispatcher("dead-worker").claim()


def _recover(gateway: Gateway) -> None:
    later = utcnow() + timedelta(hours=1)  # every lease has expired
    asyncio.run(gateway.dispatcher("w2").run_once(later))


def test_a_reply_cut_off_by_a_crash_is_not_matched_to_an_earlier_identical_one(
    db: Database, db_url: str, tmp_path: Path, twilio: RunningTwilio
) -> None:
    gateway = _gateway(db, db_url, tmp_path, twilio.url)
    _queue(gateway, "turn-1")
    asyncio.run(gateway.dispatcher("w1").drain())
    first = _row(gateway, "turn-1")
    assert first.status == OutboxStatus.SENT and first.provider_message_id
    # The same words again (the reporter started over), and the dispatcher dies mid-send.
    _queue(gateway, "turn-2")
    _crash_mid_send(gateway)
    _recover(gateway)
    second = _row(gateway, "turn-2")
    assert second.status == OutboxStatus.SENT
    assert second.provider_message_id != first.provider_message_id
    assert len(twilio.fake.sent_to(CITIZEN)) == 2  # it really went out


def test_a_reply_that_reached_twilio_before_the_crash_is_found_and_not_sent_again(
    db: Database, db_url: str, tmp_path: Path, twilio: RunningTwilio
) -> None:
    gateway = _gateway(db, db_url, tmp_path, twilio.url)
    _queue(gateway, "turn-1")
    [claimed] = gateway.dispatcher("dying").claim()
    # It reached Twilio; the process died before recording the SID.
    result = asyncio.run(gateway.channels["twilio_sms"].send(delivery.outbound_from(claimed.item)))
    _recover(gateway)
    row = _row(gateway, "turn-1")
    assert row.status == OutboxStatus.SENT and row.provider_message_id == result.provider_message_id
    assert len(twilio.fake.sent_to(CITIZEN)) == 1


def test_two_unowned_identical_messages_leave_the_row_uncertain(
    db: Database, db_url: str, tmp_path: Path, twilio: RunningTwilio
) -> None:
    gateway = _gateway(db, db_url, tmp_path, twilio.url)
    _queue(gateway, "turn-1")
    [claimed] = gateway.dispatcher("dying").claim()
    channel = gateway.channels["twilio_sms"]
    for _ in range(2):  # which one is ours? nobody can say
        asyncio.run(channel.send(delivery.outbound_from(claimed.item)))
    _recover(gateway)
    row = _row(gateway, "turn-1")
    assert row.status == OutboxStatus.DEAD and "uncertain" in (row.last_error or "")
    assert len(twilio.fake.sent_to(CITIZEN)) == 2  # nothing sent a third time


def test_when_twilio_cannot_be_asked_the_row_is_uncertain_not_sent_again(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    gateway = _gateway(db, db_url, tmp_path, closed_port_url())
    _queue(gateway, "turn-1")
    _crash_mid_send(gateway)
    _recover(gateway)
    row = _row(gateway, "turn-1")
    assert row.status == OutboxStatus.DEAD and "uncertain" in (row.last_error or "")


def test_delivery_state_never_goes_backwards(db: Database, db_url: str, tmp_path: Path) -> None:
    gateway = _gateway(db, db_url, tmp_path, closed_port_url())
    _queue(gateway, "r1")
    with gateway.db.session() as session:
        row = session.scalar(select(OutboxItem))
        assert row is not None
        row.status, row.provider_message_id = OutboxStatus.SENT, "SM" + "a" * 32
        session.commit()

    def receipt(state: DeliveryState) -> None:
        record_statuses(gateway, [DeliveryStatus("twilio_sms", "SM" + "a" * 32, state)])

    for state, expected in [
        (DeliveryState.DELIVERED, "delivered"),
        (DeliveryState.READ, "read"),
        (DeliveryState.SENT, "read"),  # late "sent" after "read": kept at read
        (DeliveryState.DELIVERED, "read"),
    ]:
        receipt(state)
        assert _row(gateway, "r1").delivery_state == expected


def test_a_providers_retry_after_is_honoured(
    db: Database, db_url: str, tmp_path: Path, telegram: RunningTelegram
) -> None:
    """Telegram's flood control says "retry after 600 s": the next attempt is not sooner,
    whatever the outbox's own backoff (seconds) would have chosen."""
    settings = channel_settings(
        database_url=db_url,
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        app_env="test",
        secret_key="test-secret-key-not-for-production",
        telegram_api_base_url=telegram.url,
        outbox_backoff_base_seconds=1,
    )
    gateway = Gateway.create(settings, db=db)
    telegram.fake.fail("Too Many Requests: retry after 600", status=429, retry_after=600)
    with gateway.db.session() as session:
        enqueue(
            session,
            OutboxMessage(
                kind=delivery.REPLY,
                key="flood",
                channel="telegram",
                recipient="123456789",
                payload=ChannelPayload("Halo"),
            ),
        )
        session.commit()
    before = utcnow()
    asyncio.run(gateway.dispatcher("w1").run_once())
    row = _row(gateway, "flood")
    assert row.status == OutboxStatus.PENDING
    assert row.next_attempt_at >= before + timedelta(seconds=600)


def test_twilios_retry_after_is_honoured(
    db: Database, db_url: str, tmp_path: Path, twilio: RunningTwilio
) -> None:
    """Twilio answers 429 (error 20429) with `Retry-After: 900`: the SDK raises without the
    headers, yet the next attempt is not sooner than Twilio asked."""
    gateway = _gateway(db, db_url, tmp_path, twilio.url)
    twilio.fake.fail(429, 20429, "Too Many Requests", retry_after="900")
    _queue(gateway, "busy")
    before = utcnow()
    asyncio.run(gateway.dispatcher("w1").run_once())
    row = _row(gateway, "busy")
    assert row.status == OutboxStatus.PENDING and "20429" in (row.last_error or "")
    assert row.next_attempt_at >= before + timedelta(seconds=900)
    assert twilio.fake.sent == []
