"""SMS 1708 through Twilio: citizens text the complaint number, the bot answers by SMS.

Provider: Twilio Programmable Messaging. Credentials: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN;
sender TWILIO_SMS_NUMBER. The number's "A message comes in" webhook points at
`<public base>/webhooks/twilio_sms` (POST); delivery receipts come to `.../twilio_sms/status`.

Inbound: `MessageSid` is the external id, `From` the sender (E.164); an empty SMS is ignored.
Shared Twilio handling (signature, form, statuses, ack) is in `channels.twilio_common`.

Replies (`TWILIO_REPLY_MODE`): the gateway acknowledges a webhook before the bot has thought of a
reply, so replies always go through the REST API; `twiml` mode only makes the acknowledgement an
empty `<Response/>` instead of a 204 (see `TwilioChannel.ack`).

Long replies: one API call per *message*, and Twilio concatenates each message from up to
TWILIO_SMS_MAX_SEGMENTS segments (153 GSM-7 / 67 UCS-2 septets or units each), which the phone
shows as one SMS in order. Only replies longer than that are cut, by `split_sms`, at sentence or
word boundaries, into several messages. Sending the segments as separate one-segment messages
instead would cost the same but could arrive out of order, and a failure halfway would make the
outbox resend the parts already delivered; one message per reply keeps "one copy of each reply".
`SendResult.parts` is the number of segments billed. Outbound media and buttons are not sent
(no MMS on Indonesian networks, no buttons in SMS): the text must stand alone.
"""

from __future__ import annotations

from datetime import datetime

from channels.addresses import to_e164
from channels.base import InboundMessage, OutboundMessage, SendResult
from channels.sms_segments import count_segments, split_sms
from channels.twilio_common import TwilioChannel, TwilioMessageForm


class TwilioSmsChannel(TwilioChannel):
    name = "twilio_sms"

    def inbound_message(self, form: TwilioMessageForm) -> InboundMessage | None:
        media, extra = self.media_and_card(form)  # an MMS may carry a contact card too
        return InboundMessage(
            channel=self.name,
            external_id=form.message_sid,
            # Alphanumeric senders (operator notices) are no phone number: keep them as sent.
            sender=to_e164(form.sender, self.settings.phone_default_region) or form.sender,
            received_at=self.now(),
            text=form.body,
            media=media,
            extra={**extra, "to": form.to},
        )

    def _messages(self, text: str) -> list[str]:
        return split_sms(text, max_segments=self.settings.twilio_sms_max_segments)

    async def send(self, message: OutboundMessage) -> SendResult:
        parts = self._messages(message.text)
        if not parts:
            return SendResult.permanent("nothing to send: the SMS text is empty")
        if not self.settings.twilio_sms_number:
            return SendResult.permanent("TWILIO_SMS_NUMBER is not set")
        first_sid: str | None = None
        segments = 0
        for index, part in enumerate(parts):
            result = await self.sender.create(
                to=message.recipient,
                from_=self.settings.twilio_sms_number,
                body=part,
                status_callback=self.status_callback_url(),
            )
            if not result.ok:
                if index == 0:
                    return result
                # Rare (a reply over ~1500 characters): say which parts already went out.
                error = f"{result.error} (after {index} of {len(parts)} messages were sent)"
                return SendResult(ok=False, retryable=result.retryable, error=error)
            first_sid = first_sid or result.provider_message_id
            segments += count_segments(part)
        return SendResult.sent(first_sid, parts=segments)

    async def find_sent(self, message: OutboundMessage, since: datetime) -> str | None:
        found = await self.sent_candidates(message, since)
        return found[0] if found else None

    async def sent_candidates(self, message: OutboundMessage, since: datetime) -> list[str] | None:
        parts = self._messages(message.text)
        if not parts or not self.settings.twilio_sms_number:
            return None
        return await self.sender.find_all(
            to=message.recipient,
            sender=self.settings.twilio_sms_number,
            since=since,
            body=parts[0],
        )
