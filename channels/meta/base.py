"""What every Meta channel does alike: verify, handshake, read the envelope, keep the windows.

A subclass names its webhook `object` ("whatsapp_business_account", "instagram", "page") and
builds its `GraphClient`; it turns entries into messages (`parse`) and receipts
(`parse_statuses`) and sends. Constructing a channel contacts nobody.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from channels.base import (
    Channel,
    DeliveryStatus,
    InboundMessage,
    Media,
    MediaError,
    RawRequest,
    WebhookAck,
)
from channels.media import media_policy
from channels.meta.graph import GraphClient
from channels.meta.payloads import Notification
from channels.meta.webhook import answer_handshake, read_notification, verify_signature
from channels.sanitize import finish, finish_statuses, reading
from config.settings import Settings

# WhatsApp's customer-service window and Messenger's/Instagram's standard messaging window.
MESSAGING_WINDOW = timedelta(hours=24)

logger = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class MetaChannel(Channel):
    """The Meta webhook and Graph API plumbing; see the subclasses for the payloads."""

    object_name: str  # the webhook's `object`

    def __init__(self, settings: Settings, *, now: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings
        self.now = now
        self.graph = self._graph_client()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"  # never a token or the app secret

    def _graph_client(self) -> GraphClient:
        raise NotImplementedError

    @property
    def configured(self) -> bool:
        return self.graph.configured

    # --- inbound -----------------------------------------------------------------------------

    def verify(self, raw: RawRequest) -> None:
        verify_signature(raw, self.settings.meta_app_secret)

    def handshake(self, raw: RawRequest) -> WebhookAck:
        return answer_handshake(raw, self.settings.meta_verify_token)

    def notification(self, raw: RawRequest) -> Notification:
        return read_notification(raw, self.object_name, self.settings.webhook_max_bytes)

    def parse(self, raw: RawRequest) -> list[InboundMessage]:
        notification = self.notification(raw)
        with reading(f"not a {self.name} notification"):
            found = self.inbound_messages(notification)
        messages: list[InboundMessage] = []
        seen: set[str] = set()
        for message in finish(found, max_chars=self.settings.chat_max_chars, now=self.now()):
            if message.external_id in seen:  # Meta may repeat an item inside one batch
                continue
            seen.add(message.external_id)
            messages.append(message)
        if not messages:
            logger.info("%s notification ignored: nothing we handle", self.name)
        return messages

    def inbound_messages(self, notification: Notification) -> list[InboundMessage]:
        raise NotImplementedError

    def parse_statuses(self, raw: RawRequest) -> list[DeliveryStatus]:
        notification = self.notification(raw)
        with reading(f"not a {self.name} notification"):
            return finish_statuses(self.delivery_statuses(notification))

    def delivery_statuses(self, notification: Notification) -> list[DeliveryStatus]:
        return []

    # --- outbound ----------------------------------------------------------------------------

    def in_window(self, last_inbound_at: datetime | None) -> bool:
        """Whether free-form messages may still go to someone who last wrote then."""
        if last_inbound_at is None:
            return False
        if last_inbound_at.tzinfo is None:
            last_inbound_at = last_inbound_at.replace(tzinfo=UTC)
        margin = timedelta(seconds=self.settings.meta_window_margin_seconds)
        return self.now() - last_inbound_at < MESSAGING_WINDOW - margin

    async def download_url(
        self, media: Media, max_bytes: int, *, authenticated: bool
    ) -> tuple[bytes, str | None]:
        if not media.url:
            raise MediaError(f"{self.name} media has no URL", retryable=False)
        return await self.graph.fetch(
            media.url,
            policy=media_policy(self.settings, "meta"),
            max_bytes=max_bytes,
            allowed_types=self.settings.media_allowed_types,
            claimed_type=media.content_type,
            describe=f"{self.name} media",
            authenticated=authenticated,
            timeout=self.settings.media_download_timeout_seconds,
        )
