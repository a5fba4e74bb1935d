"""Instagram and Facebook direct messages: the Messenger Platform, shared by both channels.

Inbound (`entry[].messaging[]`): a message's external id is its `mid`, the sender its
Page-/Instagram-scoped id (PSID/IGSID), the time its `timestamp`. Text; attachments `image`,
`video`, `audio` and `file` as `Media` with the CDN URL (signed, expiring: the gateway fetches
them promptly, no token needed); a legacy `location` attachment as `Location`; a quick reply or a
postback as a BUTTON message (`button_payload`); `reply_to.mid` as `reply_to`.
Recognised and not turned into messages: echoes of our own sends (`is_echo`), deleted and
unsupported messages, stickers, likes, story mentions, shares, reactions, referrals, opt-ins;
deliveries (Messenger `delivery.mids`) and reads (Instagram `read.mid`) become delivery
statuses instead; Messenger's `read.watermark` names no message and is dropped.
Events for another Page/account (when ours is configured) are skipped.

Outbound (`send`), by `OutboundMessage.reply_mode`:
- DIRECT: the Send API, `POST /me/messages` with the channel's token. Inside the 24-hour
  window (less META_WINDOW_MARGIN_SECONDS) as `messaging_type=RESPONSE`; outside it with the
  message tag configured for the message kind (`<channel>_MESSAGE_TAGS`), or not at all
  (permanent failure, said why). Attachments first (each its own message, by URL), then the text
  in parts of at most `text_limit` characters; buttons become quick replies on the last part.
- PRIVATE_REPLY: Meta's private reply to the comment `reply_to` (`recipient.comment_id`): one
  message per comment, within 7 days of it, text only. Meta answers with the commenter's
  PSID/IGSID, returned as `SendResult.recipient`; their direct messages come from that id.
- PUBLIC: a public reply under the comment `reply_to` (the subclass names the edge). Text only;
  the gateway makes it neutral.
"""

from __future__ import annotations

import logging
from typing import Any

from channels.base import (
    DeliveryState,
    DeliveryStatus,
    InboundMessage,
    Location,
    Media,
    MediaError,
    MessageKind,
    OutboundMessage,
    ReplyMode,
    SendResult,
)
from channels.meta.base import MetaChannel
from channels.meta.graph import GraphError, read_answer
from channels.meta.payloads import (
    CreatedObject,
    Entry,
    MessagingEvent,
    MessengerSendResponse,
    Notification,
)
from channels.meta.webhook import from_epoch
from channels.text_split import split_text

# Attachment types that carry a file, and what they claim to be until the download says better.
MEDIA_ATTACHMENTS: dict[str, str | None] = {
    "image": "image/jpeg",
    "video": "video/mp4",
    "audio": "audio/mp4",
    "file": None,
}
# Known attachment types that are no complaint content.
IGNORED_ATTACHMENTS = frozenset(
    {"like_heart", "story_mention", "share", "ig_post", "ig_reel", "reel", "fallback", "template"}
)
QUICK_REPLY_TITLE_MAX = 20  # characters Meta shows on a quick reply
QUICK_REPLIES_MAX = 13

logger = logging.getLogger(__name__)


class MessengerChannel(MetaChannel):
    """Direct messages on Instagram or a Facebook Page; subclasses add public comments."""

    text_limit: int  # characters per message

    @property
    def account_id(self) -> str:
        """Our Page or Instagram account id ("" when not configured: then not checked)."""
        raise NotImplementedError

    def message_tags(self) -> dict[str, str]:
        raise NotImplementedError

    def public_reply_path(self, comment_id: str) -> str:
        """The Graph edge a public reply to this comment is posted to."""
        raise NotImplementedError

    # --- inbound -----------------------------------------------------------------------------

    def inbound_messages(self, notification: Notification) -> list[InboundMessage]:
        messages: list[InboundMessage] = []
        for entry in notification.entry:
            if not self._ours(entry.id):
                # Not lost silently: a wrong *_ACCOUNT_ID/PAGE_ID would drop every message.
                logger.warning("%s entry for another account %s skipped", self.name, entry.id)
                continue
            for event in entry.messaging:
                message = self.direct_message(event)
                if message is not None:
                    messages.append(message)
            messages.extend(self.comment_messages(entry))
        return messages

    def comment_messages(self, entry: Entry) -> list[InboundMessage]:
        """Public comments in the entry's `changes` (the subclass reads its own field)."""
        return []

    def _ours(self, account_id: str) -> bool:
        return not self.account_id or account_id == self.account_id

    def direct_message(self, event: MessagingEvent) -> InboundMessage | None:
        if not self._ours(event.recipient.id):
            return None  # an echo or an event for another Page
        received_at, time_extra = from_epoch(event.timestamp, self.now())
        if event.postback is not None:
            postback = event.postback
            mid = postback.mid or f"postback:{event.sender.id}:{event.timestamp}"
            return InboundMessage(
                channel=self.name,
                external_id=mid,
                sender=event.sender.id,
                received_at=received_at,
                text=postback.title,
                kind=MessageKind.BUTTON,
                button_payload=postback.payload or postback.title,
                extra=time_extra,
            )
        message = event.message
        if message is None:
            return None  # delivery, read, reaction, referral, opt-in...
        if message.is_echo or message.is_deleted or message.is_unsupported:
            return None
        media: list[Media] = []
        location = None
        for attachment in message.attachments:
            payload = attachment.payload
            if attachment.type in MEDIA_ATTACHMENTS and payload and payload.url:
                if payload.sticker_id:  # a sticker arrives as an image
                    continue
                content_type = MEDIA_ATTACHMENTS[attachment.type]
                media.append(Media(url=payload.url, content_type=content_type))
            elif attachment.type == "location" and payload and payload.coordinates:
                where = payload.coordinates
                label = attachment.title or payload.title or None
                location = Location(where.lat, where.long, label=label)
            elif attachment.type not in IGNORED_ATTACHMENTS:
                logger.warning("%s attachment type %r not handled", self.name, attachment.type)
        text = message.text
        if not (text.strip() or media or location):
            return None
        quick = message.quick_reply
        return InboundMessage(
            channel=self.name,
            external_id=message.mid,
            sender=event.sender.id,
            received_at=received_at,
            text=text,
            media=tuple(media),
            location=location,
            kind=MessageKind.BUTTON if quick else MessageKind.MESSAGE,
            button_payload=quick.payload if quick else None,
            reply_to=message.reply_to.mid if message.reply_to else None,
            extra=time_extra,
        )

    def delivery_statuses(self, notification: Notification) -> list[DeliveryStatus]:
        statuses: list[DeliveryStatus] = []
        for entry in notification.entry:
            for event in entry.messaging:
                if event.delivery is not None:
                    statuses.extend(
                        DeliveryStatus(self.name, mid, DeliveryState.DELIVERED)
                        for mid in event.delivery.mids
                    )
                if event.read is not None and event.read.mid:
                    statuses.append(DeliveryStatus(self.name, event.read.mid, DeliveryState.READ))
        return statuses

    # --- outbound ----------------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        if not self.configured:
            return SendResult.permanent(f"{self.name} has no access token configured")
        try:
            if message.reply_mode is ReplyMode.PUBLIC:
                return await self._send_public(message)
            if message.reply_mode is ReplyMode.PRIVATE_REPLY:
                return await self._send_private_reply(message)
            return await self._send_direct(message)
        except GraphError as exc:
            return exc.as_result()

    async def _send_public(self, message: OutboundMessage) -> SendResult:
        if not message.reply_to:
            return SendResult.permanent("a public reply needs the comment id (reply_to)")
        if message.media:
            return SendResult.permanent("a public reply carries text only")
        if not message.text.strip():
            return SendResult.permanent("nothing to send: a public reply needs text")
        answer = await self.graph.post(
            self.public_reply_path(message.reply_to), {"message": message.text}
        )
        return SendResult.sent(read_answer(CreatedObject, answer).id)

    async def _send_private_reply(self, message: OutboundMessage) -> SendResult:
        if not message.reply_to:
            return SendResult.permanent("a private reply needs the comment id (reply_to)")
        if message.media:
            return SendResult.permanent("a private reply carries text only")
        text = message.text.strip()
        if not text:
            return SendResult.permanent("nothing to send: a private reply needs text")
        if len(text) > self.text_limit:
            # Only one private reply per comment: it cannot be split into several messages.
            return SendResult.permanent(
                f"a private reply is one message of at most {self.text_limit} characters"
            )
        body: dict[str, Any] = {"text": text}
        if message.buttons:
            body["quick_replies"] = _quick_replies(message)
        answer = await self.graph.post(
            "me/messages", {"recipient": {"comment_id": message.reply_to}, "message": body}
        )
        sent = read_answer(MessengerSendResponse, answer)
        return SendResult.sent(sent.message_id, recipient=sent.recipient_id)

    async def _send_direct(self, message: OutboundMessage) -> SendResult:
        envelope: dict[str, Any]
        if self.in_window(message.recipient_last_inbound_at):
            envelope = {"messaging_type": "RESPONSE"}
        else:
            tag = self.message_tags().get(message.kind)
            if not tag:
                return SendResult.permanent(
                    f"the {self.name} messaging window is closed and no message tag is "
                    f"configured for message kind '{message.kind}' "
                    f"({self.name.upper()}_MESSAGE_TAGS)"
                )
            envelope = {"messaging_type": "MESSAGE_TAG", "tag": tag}
        if any(not m.url for m in message.media):
            return SendResult.permanent(f"{self.name} media must have a URL Meta can fetch")
        bodies: list[dict[str, Any]] = [_attachment(m) for m in message.media]
        limit = self.text_limit
        texts = split_text(message.text, lambda part: len(part) <= limit)
        bodies.extend({"text": part} for part in texts)
        if not bodies:
            return SendResult.permanent("nothing to send: no text and no media")
        if message.buttons:
            bodies[-1]["quick_replies"] = _quick_replies(message)
        first: str | None = None
        for index, body in enumerate(bodies):
            request = {"recipient": {"id": message.recipient}, **envelope, "message": body}
            try:
                answer = await self.graph.post("me/messages", request)
            except GraphError as exc:
                if index == 0:
                    raise
                return exc.as_result(f"after {index} of {len(bodies)} messages were sent: ")
            first = first or read_answer(MessengerSendResponse, answer).message_id
        return SendResult.sent(first, parts=len(bodies))

    async def download(self, media: Media, max_bytes: int) -> tuple[bytes, str | None]:
        """Attachments are signed CDN links: fetched as they are, without the token."""
        if not media.url:
            raise MediaError(f"{self.name} media has no URL", retryable=False)
        return await self.download_url(media, max_bytes, authenticated=False)


def _attachment(media: Media) -> dict[str, Any]:
    kind = (media.content_type or "").split("/", 1)[0]
    kind = kind if kind in ("image", "video", "audio") else "file"
    return {"attachment": {"type": kind, "payload": {"url": media.url, "is_reusable": True}}}


def _quick_replies(message: OutboundMessage) -> list[dict[str, str]]:
    replies = []
    for button in message.buttons[:QUICK_REPLIES_MAX]:
        title = button.label
        if len(title) > QUICK_REPLY_TITLE_MAX:
            title = title[: QUICK_REPLY_TITLE_MAX - 1].rstrip() + "…"
        replies.append({"content_type": "text", "title": title, "payload": button.payload})
    return replies
