"""WhatsApp through Twilio: messages, photos, location pins and button replies from citizens.

Provider: Twilio API for WhatsApp. Credentials: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN; sender
TWILIO_WHATSAPP_NUMBER (with or without the `whatsapp:` prefix). The sender's webhook points at
`<public base>/webhooks/twilio_whatsapp`; delivery and read receipts at `.../status`.
Signatures, the form model, statuses and sending are shared with SMS in `channels.twilio_common`.

Inbound: `From` is `whatsapp:+62...`; the sender is the bare E.164 number (the channel says it
is WhatsApp). Photos and documents (`NumMedia`, `MediaUrl{n}`, `MediaContentType{n}`) become
`Media` to download with Twilio's basic auth (only from TWILIO_MEDIA_HOSTS, `channels.media`); a
shared contact (`MessageType=contacts`: a vCard file) is set apart in `extra["contact_card_url"]`
for `resolve_contact`; a location pin (`Latitude`, `Longitude`, `Label`, `Address`) becomes
`Location` (coordinates that are no numbers are dropped, the text kept); a template
quick-reply (`ButtonPayload`, `ButtonText`) is a BUTTON message; `ProfileName` is the sender's
display name. Stickers and reactions (`MessageType`) and messages with nothing in them are
ignored (200, no message).

Outbound: WhatsApp lets a business write freely only within 24 hours of the person's last
message (the customer-service window, shortened by TWILIO_WHATSAPP_WINDOW_MARGIN_SECONDS since a
reply may wait in the outbox). Inside it: the text, with at most one media per message (WhatsApp
carries one attachment per message, the first one gets the text as caption). Outside it: the
approved template configured for the message kind in TWILIO_WHATSAPP_TEMPLATES, sent as
`ContentSid` + `ContentVariables` (from `OutboundMessage.template_variables`); with no template for
that kind the send fails permanently and says so. Buttons and location requests are not sent:
free-form WhatsApp has neither, so the text must carry the instructions.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from channels.addresses import to_e164
from channels.base import (
    InboundMessage,
    Location,
    MessageKind,
    OutboundMessage,
    SendResult,
)
from channels.sanitize import LOCATION_DROPPED
from channels.twilio_common import TwilioChannel, TwilioMessageForm, location_label

WHATSAPP_PREFIX = "whatsapp:"
CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)
# Known events that are no complaint content (a sticker arrives as an image/webp media).
IGNORED_MESSAGE_TYPES = frozenset({"sticker", "reaction"})


def whatsapp_address(number: str) -> str:
    """`+6281...` → `whatsapp:+6281...` (unchanged when already prefixed)."""
    number = number.strip()
    return number if number.startswith(WHATSAPP_PREFIX) else WHATSAPP_PREFIX + number


def bare_number(address: str) -> str:
    return address.strip().removeprefix(WHATSAPP_PREFIX)


class TwilioWhatsAppChannel(TwilioChannel):
    name = "twilio_whatsapp"

    def inbound_message(self, form: TwilioMessageForm) -> InboundMessage | None:
        if (form.message_type or "").lower() in IGNORED_MESSAGE_TYPES:
            return None
        number = bare_number(form.sender)
        is_button = bool(form.button_payload or form.button_text)
        location = None
        if form.latitude is not None and form.longitude is not None:
            location = Location(
                latitude=form.latitude,
                longitude=form.longitude,
                label=location_label(form.label, form.address),
            )
        media, extra = self.media_and_card(form)
        extra["to"] = form.to
        if form.wa_id:
            extra["wa_id"] = form.wa_id
        if form.message_type:
            extra["message_type"] = form.message_type
        if form.location_unreadable:
            extra[LOCATION_DROPPED] = "true"
        return InboundMessage(
            channel=self.name,
            external_id=form.message_sid,
            sender=to_e164(number, self.settings.phone_default_region) or number,
            received_at=self.now(),
            text=(form.button_text or form.body) if is_button else form.body,
            sender_name=form.profile_name or None,
            media=media,
            location=location,
            kind=MessageKind.BUTTON if is_button else MessageKind.MESSAGE,
            reply_to=form.replied_message_sid,
            button_payload=(form.button_payload or form.button_text) if is_button else None,
            extra=extra,
        )

    def in_window(self, last_inbound_at: datetime | None) -> bool:
        """Whether free-form messages may still be sent to someone who last wrote then."""
        if last_inbound_at is None:
            return False
        if last_inbound_at.tzinfo is None:
            last_inbound_at = last_inbound_at.replace(tzinfo=UTC)
        margin = timedelta(seconds=self.settings.twilio_whatsapp_window_margin_seconds)
        return self.now() - last_inbound_at < CUSTOMER_SERVICE_WINDOW - margin

    async def send(self, message: OutboundMessage) -> SendResult:
        if not self.settings.twilio_whatsapp_number:
            return SendResult.permanent("TWILIO_WHATSAPP_NUMBER is not set")
        common = {
            "to": whatsapp_address(message.recipient),
            "from_": whatsapp_address(self.settings.twilio_whatsapp_number),
            "status_callback": self.status_callback_url(),
        }
        if not self.in_window(message.recipient_last_inbound_at):
            return await self._send_template(message, common)

        if any(not m.url for m in message.media):
            return SendResult.permanent("WhatsApp media must have a URL Twilio can fetch")
        calls: list[dict[str, object]] = []
        urls = [m.url for m in message.media if m.url]
        if message.text.strip() or urls:
            first: dict[str, object] = {"body": message.text} if message.text.strip() else {}
            if urls:
                first["media_url"] = [urls[0]]
            calls.append(first)
        calls.extend({"media_url": [url]} for url in urls[1:])
        if not calls:
            return SendResult.permanent("nothing to send: no text and no media")

        first_sid: str | None = None
        for index, params in enumerate(calls):
            result = await self.sender.create(**common, **params)
            if not result.ok:
                if index == 0:
                    return result
                error = f"{result.error} (after {index} of {len(calls)} messages were sent)"
                return SendResult(ok=False, retryable=result.retryable, error=error)
            first_sid = first_sid or result.provider_message_id
        return SendResult.sent(first_sid, parts=len(calls))

    async def _send_template(self, message: OutboundMessage, common: dict[str, str]) -> SendResult:
        content_sid = self.settings.twilio_whatsapp_templates.get(message.kind)
        if not content_sid:
            return SendResult.permanent(
                f"the 24-hour WhatsApp window is closed and no approved template is configured "
                f"for message kind '{message.kind}' (TWILIO_WHATSAPP_TEMPLATES)"
            )
        return await self.sender.create(
            **common,
            content_sid=content_sid,
            content_variables=json.dumps(dict(message.template_variables), ensure_ascii=False),
        )

    async def find_sent(self, message: OutboundMessage, since: datetime) -> str | None:
        found = await self.sent_candidates(message, since)
        return found[0] if found else None

    async def sent_candidates(self, message: OutboundMessage, since: datetime) -> list[str] | None:
        # A template's body is rendered by Twilio from the approved text, so only free-form
        # messages can be recognised by their body (whether the window is still open or not).
        if not message.text.strip():
            return None
        if not self.settings.twilio_whatsapp_number:
            return None
        return await self.sender.find_all(
            to=whatsapp_address(message.recipient),
            sender=whatsapp_address(self.settings.twilio_whatsapp_number),
            since=since,
            body=message.text,
        )
