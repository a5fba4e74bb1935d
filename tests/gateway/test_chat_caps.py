"""Issue 13 §11: a chat message over CHAT_MAX_CHARS is cut by the channel, and the reporter
is told how much was kept; a signed 10 MB SMS is refused at the route (413, see
test_hostile_routes)."""

from __future__ import annotations

from sqlalchemy import select

from channels.base import InboundMessage
from gateway.clock import utcnow
from gateway.context import Gateway
from gateway.intake import inbound as intake
from gateway.store.models import OutboxItem


def _send(gateway: Gateway, text: str, extra: dict[str, str]) -> list[str]:
    message = InboundMessage(
        channel="twilio_sms",
        external_id="SM-long-1",
        sender="+6281234567890",
        received_at=utcnow(),
        text=text,
        extra=extra,
    )
    accepted = intake.accept(gateway.db, message)
    intake.process(gateway, accepted.inbound_id)
    with gateway.db.read_session() as session:
        rows = session.scalars(select(OutboxItem).order_by(OutboxItem.id)).all()
    return [row.payload["text"] for row in rows]


def test_the_reporter_is_told_their_long_message_was_cut(gateway: Gateway) -> None:
    replies = _send(gateway, "a" * 4096, {"text_truncated": "4096", "text_chars": "1000000"})
    told = [r for r in replies if "4096" in r and "1000000" in r]
    assert len(told) == 1 and "terlalu panjang" in told[0]


def test_a_message_that_fits_gets_no_such_notice(gateway: Gateway) -> None:
    replies = _send(gateway, "halo", {})
    assert replies and not any("terlalu panjang" in r for r in replies)
