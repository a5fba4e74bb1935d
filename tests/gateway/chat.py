"""A chat with the bot that reads like one (errbot's test backend): `send` a message as the
citizen, get back the bot's replies in order; `wait` lets the idle window pass."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select

from channels.base import InboundMessage, Location, Media, MessageKind
from gateway.bot import conversation
from gateway.clock import utcnow
from gateway.context import Gateway
from gateway.intake import inbound as intake
from gateway.store.models import OutboxItem

_ids = itertools.count(1)


class Chat:
    def __init__(
        self,
        gateway: Gateway,
        channel: str = "twilio_sms",
        sender: str = "+6281234567890",
        name: str | None = None,
    ) -> None:
        self.gateway = gateway
        self.channel = channel
        self.sender = sender
        self.name = name
        self._seen = self._reply_ids()
        self.last: list[OutboxItem] = []
        self._waited = timedelta()  # how far `wait` has moved the sweep's clock

    def _reply_ids(self) -> set[int]:
        with self.gateway.db.read_session() as session:
            return set(
                session.scalars(
                    select(OutboxItem.id)
                    .where(OutboxItem.channel == self.channel)
                    .where(OutboxItem.recipient == self.sender)
                ).all()
            )

    def replies(self) -> list[OutboxItem]:
        """Replies queued since the last look, oldest first."""
        with self.gateway.db.read_session() as session:
            rows = session.scalars(
                select(OutboxItem)
                .where(OutboxItem.channel == self.channel)
                .where(OutboxItem.recipient == self.sender)
                .order_by(OutboxItem.id)
            ).all()
        new = [row for row in rows if row.id not in self._seen]
        self._seen.update(row.id for row in new)  # type: ignore[misc]
        return new

    def send(
        self,
        text: str = "",
        *,
        media: Sequence[Media] = (),
        location: Location | None = None,
        button: str | None = None,
        kind: MessageKind = MessageKind.MESSAGE,
        edits: str | None = None,
        message_ref: str | None = None,
        language: str | None = None,
    ) -> list[str]:
        number = next(_ids)
        extra = {"message_ref": message_ref or f"{self.sender}:{number}"}
        message = InboundMessage(
            channel=self.channel,
            external_id=f"test-{number}",
            sender=self.sender,
            sender_name=self.name,
            received_at=utcnow(),
            text=text,
            media=tuple(media),
            location=location,
            kind=kind,
            edits=edits,
            button_payload=button,
            language=language,
            extra=extra,
        )
        accepted = intake.accept(self.gateway.db, message)
        intake.process(self.gateway, accepted.inbound_id)
        self.last = self.replies()
        return [row.payload["text"] for row in self.last]

    def wait(self, minutes: float = 10) -> list[str]:
        self._waited += timedelta(minutes=minutes)
        conversation.idle_sweep(self.gateway, now=utcnow() + self._waited)
        return [row.payload["text"] for row in self.replies()]
