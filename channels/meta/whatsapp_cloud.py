"""WhatsApp through Meta's own WhatsApp Cloud API (not Twilio).

Provider: WhatsApp Cloud API. Credentials: META_APP_SECRET, META_VERIFY_TOKEN,
WHATSAPP_CLOUD_PHONE_NUMBER_ID, WHATSAPP_CLOUD_WABA_ID, WHATSAPP_CLOUD_ACCESS_TOKEN (a system
user's token). Webhook: the Meta app's WhatsApp product calls
`<public base>/webhooks/whatsapp_cloud` (object `whatsapp_business_account`, field `messages`).

Inbound (`entry[].changes[].value`): changes for another phone number or WABA than ours (when
configured) are skipped. Each message's external id is its `wamid`; the sender is `from` as
E.164 (`extra["wa_id"]` keeps Meta's form), its name the matching `contacts[].profile.name`,
the time its `timestamp`. Text; image, audio, voice, video and document as `Media` whose `ref`
is the media id (`download` resolves it to a URL at download time: the URLs expire within
minutes), caption as text; location (label "name, address"); a shared contact card
(`contact_phone`); template quick-reply buttons and interactive button/list replies as BUTTON
messages (`button_payload` the id, text the title); `context.id` as `reply_to`. Ignored:
reactions, stickers, `unsupported`, `system` and other types (logged).
Statuses (`value.statuses[]`): sent/delivered/read/failed through `WHATSAPP_STATUS`, failed ones
with Meta's error code and meaning; `deleted` and unknown ones dropped.

Outbound (`send`, `POST /{phone-number-id}/messages`): inside the 24-hour customer-service
window, free-form: each attachment by link (the text as the first one's caption when it fits),
then the text in parts of 4096 characters; up to 3 buttons as interactive reply buttons, up to
10 as a list; `request_location` as a location request. Outside the window: the approved
template configured for the message kind (WHATSAPP_CLOUD_TEMPLATES), its body parameters from
`template_variables` (positional for "1", "2"...; named otherwise); no template for the kind is
a permanent failure that says so. Meta's closed-window error (131047) is permanent.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from channels.addresses import to_e164
from channels.base import (
    DeliveryState,
    DeliveryStatus,
    InboundMessage,
    Location,
    Media,
    MediaError,
    MessageKind,
    OutboundMessage,
    PayloadError,
    ReplyMode,
    SendResult,
)
from channels.meta.base import MetaChannel
from channels.meta.graph import GRAPH_ERRORS, GraphClient, GraphError, media_error, read_answer
from channels.meta.payloads import (
    MediaInfo,
    Notification,
    WaError,
    WaMessage,
    WaSendResponse,
    WaValue,
    first_error,
)
from channels.meta.webhook import from_epoch
from channels.text_split import split_text

# Meta's status values → ours; None: known, not a delivery state.
WHATSAPP_STATUS: dict[str, DeliveryState | None] = {
    "sent": DeliveryState.SENT,
    "delivered": DeliveryState.DELIVERED,
    "read": DeliveryState.READ,
    "played": DeliveryState.READ,
    "failed": DeliveryState.FAILED,
    "deleted": None,
    "warning": None,
}
MEDIA_TYPES = ("image", "audio", "voice", "video", "document")
IGNORED_TYPES = frozenset({"reaction", "sticker", "unsupported", "system", "ephemeral"})
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
BUTTONS_MAX = 3
LIST_ROWS_MAX = 10
BUTTON_TITLE_MAX = 20
ROW_TITLE_MAX = 24
LIST_BUTTON_LABEL = "Menu"  # the same word in Indonesian and English

logger = logging.getLogger(__name__)


def describe_wa_error(error: WaError) -> str:
    known = GRAPH_ERRORS.get(error.code)
    meaning = known[0] if known else error.title or "error"
    details = error.details
    if details and details != meaning:
        return f"WhatsApp {error.code}: {meaning} ({details})"
    return f"WhatsApp {error.code}: {meaning}"


class WhatsAppCloudChannel(MetaChannel):
    name = "whatsapp_cloud"
    object_name = "whatsapp_business_account"

    def _graph_client(self) -> GraphClient:
        settings = self.settings
        return GraphClient(
            settings.meta_graph_base_url,
            settings.meta_graph_api_version,
            settings.whatsapp_cloud_access_token,
            timeout=settings.meta_timeout_seconds,
            name="WhatsApp Cloud",
        )

    # --- inbound -----------------------------------------------------------------------------

    def _values(self, notification: Notification) -> list[WaValue]:
        values = []
        waba = self.settings.whatsapp_cloud_waba_id
        phone_id = self.settings.whatsapp_cloud_phone_number_id
        for entry in notification.entry:
            if waba and entry.id != waba:
                logger.warning("whatsapp_cloud entry for another WABA %s skipped", entry.id)
                continue
            for change in entry.changes:
                if change.field != "messages":
                    logger.info("whatsapp_cloud change %r ignored", change.field)
                    continue
                try:
                    value = WaValue.model_validate(change.value)
                except ValidationError as exc:
                    raise PayloadError(f"whatsapp_cloud change: {first_error(exc)}") from None
                if phone_id and value.metadata.phone_number_id != phone_id:
                    logger.warning("whatsapp_cloud change for another phone number skipped")
                    continue
                for error in value.errors:
                    logger.warning("whatsapp_cloud webhook error: %s", describe_wa_error(error))
                values.append(value)
        return values

    def inbound_messages(self, notification: Notification) -> list[InboundMessage]:
        messages = []
        for value in self._values(notification):
            names = {c.wa_id: c.profile.name for c in value.contacts if c.profile}
            for wa_message in value.messages:
                message = self._inbound(wa_message, names.get(wa_message.sender), value)
                if message is not None:
                    messages.append(message)
        return messages

    def _inbound(
        self, message: WaMessage, name: str | None, value: WaValue
    ) -> InboundMessage | None:
        kind = message.type
        if kind in IGNORED_TYPES:
            return None
        for error in message.errors:
            logger.warning("whatsapp_cloud message error: %s", describe_wa_error(error))
        region = self.settings.phone_default_region
        text = ""
        media: tuple[Media, ...] = ()
        location = None
        contact_phone = None
        button_payload = None
        extra = {
            "wa_id": message.sender,
            "message_type": kind,
            "phone_number_id": value.metadata.phone_number_id,
        }
        if kind == "text" and message.text is not None:
            text = message.text.body
        elif kind in MEDIA_TYPES and getattr(message, kind) is not None:
            item = getattr(message, kind)
            text = item.caption or ""
            media = (Media(ref=item.id, content_type=item.mime_type, filename=item.filename),)
        elif kind == "location" and message.location is not None:
            where = message.location
            label = ", ".join(p.strip() for p in (where.name, where.address) if p and p.strip())
            location = Location(where.latitude, where.longitude, label=label or None)
        elif kind == "contacts" and message.contacts:
            card = message.contacts[0]
            for phone in card.phones:
                number = phone.phone or phone.wa_id or ""
                contact_phone = to_e164(number, region)
                if contact_phone:
                    break
            if card.name and card.name.formatted_name:
                extra["contact_name"] = card.name.formatted_name
            if message.sender in {p.wa_id for p in card.phones}:
                extra["contact_is_sender"] = "true"
        elif kind == "button" and message.button is not None:
            text = message.button.text
            button_payload = message.button.payload or message.button.text
        elif kind == "interactive" and message.interactive is not None:
            reply = message.interactive.button_reply or message.interactive.list_reply
            if reply is None:
                logger.info("whatsapp_cloud interactive %r ignored", message.interactive.type)
                return None
            text, button_payload = reply.title, reply.id
        else:
            logger.warning("whatsapp_cloud message type %r not handled", kind)
            return None
        if not (text.strip() or media or location or contact_phone or button_payload):
            return None
        received_at, time_extra = from_epoch(message.timestamp, self.now())
        extra.update(time_extra)
        return InboundMessage(
            channel=self.name,
            external_id=message.id,
            sender=to_e164(message.sender, region) or message.sender,
            received_at=received_at,
            text=text,
            sender_name=name,
            media=media,
            location=location,
            kind=MessageKind.BUTTON if button_payload else MessageKind.MESSAGE,
            reply_to=message.context.id if message.context else None,
            button_payload=button_payload,
            contact_phone=contact_phone,
            extra=extra,
        )

    def delivery_statuses(self, notification: Notification) -> list[DeliveryStatus]:
        statuses = []
        for value in self._values(notification):
            for status in value.statuses:
                state = WHATSAPP_STATUS.get(status.status)
                if state is None:
                    if status.status not in WHATSAPP_STATUS:
                        logger.warning("whatsapp_cloud status %r unknown", status.status)
                    continue
                error = None
                if state is DeliveryState.FAILED:
                    error = (
                        "; ".join(describe_wa_error(e) for e in status.errors) or "WhatsApp: failed"
                    )
                statuses.append(DeliveryStatus(self.name, status.id, state, error))
        return statuses

    # --- outbound ----------------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        phone_id = self.settings.whatsapp_cloud_phone_number_id
        if not (self.configured and phone_id):
            return SendResult.permanent(
                "WhatsApp Cloud is not configured "
                "(WHATSAPP_CLOUD_PHONE_NUMBER_ID, WHATSAPP_CLOUD_ACCESS_TOKEN)"
            )
        if message.reply_mode is not ReplyMode.DIRECT:
            return SendResult.permanent("WhatsApp has no public or private replies to comments")
        to = message.recipient.lstrip("+")
        if self.in_window(message.recipient_last_inbound_at):
            bodies = self._free_form(message)
            if isinstance(bodies, SendResult):
                return bodies
        else:
            template = self._template(message)
            if isinstance(template, SendResult):
                return template
            bodies = [template]
        first: str | None = None
        for index, body in enumerate(bodies):
            request = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to}
            try:
                answer = await self.graph.post(f"{phone_id}/messages", {**request, **body})
                sent = read_answer(WaSendResponse, answer).messages[0].id
            except GraphError as exc:
                prefix = f"after {index} of {len(bodies)} messages were sent: " if index else ""
                return exc.as_result(prefix)
            first = first or sent
        return SendResult.sent(first, parts=len(bodies))

    def _free_form(self, message: OutboundMessage) -> list[dict[str, Any]] | SendResult:
        if any(not m.url for m in message.media):
            return SendResult.permanent("WhatsApp media must have a URL Meta can fetch")
        texts = split_text(message.text, lambda part: len(part) <= TEXT_LIMIT)
        bodies: list[dict[str, Any]] = []
        for media in message.media:
            kind = _media_kind(media)
            item: dict[str, Any] = {"link": media.url}
            if kind == "document" and media.filename:
                item["filename"] = media.filename
            caption_fits = (
                not bodies
                and len(texts) == 1
                and len(texts[0]) <= CAPTION_LIMIT
                and kind != "audio"
                and not (message.buttons or message.request_location)
            )
            if caption_fits:
                item["caption"] = texts.pop()
            bodies.append({"type": kind, kind: item})
        for index, text in enumerate(texts):
            last = index == len(texts) - 1
            bodies.append(self._text_body(message, text) if last else _text(text))
        if not bodies:
            return SendResult.permanent("nothing to send: no text and no media")
        return bodies

    def _text_body(self, message: OutboundMessage, text: str) -> dict[str, Any]:
        """The last text part, with the buttons or the location request when there are any."""
        if message.buttons and len(text) <= CAPTION_LIMIT:
            buttons = message.buttons[:LIST_ROWS_MAX]
            if len(buttons) <= BUTTONS_MAX:
                action: dict[str, Any] = {
                    "buttons": [
                        {
                            "type": "reply",
                            "reply": {"id": b.payload, "title": _clip(b.label, BUTTON_TITLE_MAX)},
                        }
                        for b in buttons
                    ]
                }
                kind = "button"
            else:
                rows = [{"id": b.payload, "title": _clip(b.label, ROW_TITLE_MAX)} for b in buttons]
                action = {"button": LIST_BUTTON_LABEL, "sections": [{"rows": rows}]}
                kind = "list"
            interactive = {"type": kind, "body": {"text": text}, "action": action}
            return {"type": "interactive", "interactive": interactive}
        if message.request_location and len(text) <= CAPTION_LIMIT:
            interactive = {
                "type": "location_request_message",
                "body": {"text": text},
                "action": {"name": "send_location"},
            }
            return {"type": "interactive", "interactive": interactive}
        return _text(text)

    def _template(self, message: OutboundMessage) -> dict[str, Any] | SendResult:
        configured = self.settings.whatsapp_cloud_templates.get(message.kind)
        if not configured:
            return SendResult.permanent(
                f"the 24-hour WhatsApp window is closed and no approved template is configured "
                f"for message kind '{message.kind}' (WHATSAPP_CLOUD_TEMPLATES)"
            )
        name, _, language = configured.partition(":")
        template: dict[str, Any] = {
            "name": name.strip(),
            "language": {"code": language.strip() or message.language},
        }
        parameters = _template_parameters(message.template_variables)
        if parameters:
            template["components"] = [{"type": "body", "parameters": parameters}]
        return {"type": "template", "template": template}

    async def download(self, media: Media, max_bytes: int) -> tuple[bytes, str | None]:
        """Resolve the media id to its short-lived URL now, then fetch it with the token."""
        if not media.ref:
            raise MediaError("WhatsApp media has no media id", retryable=False)
        if not self.configured:
            raise MediaError("WhatsApp Cloud is not configured", retryable=True)
        try:
            info = MediaInfo.model_validate(await self.graph.get(media.ref))
        except GraphError as exc:
            raise media_error(exc, f"WhatsApp media {media.ref}") from None
        except ValidationError:
            raise MediaError(f"WhatsApp media {media.ref}: no URL", retryable=True) from None
        if info.file_size is not None and info.file_size > max_bytes:
            raise MediaError(
                f"{info.file_size} bytes is over the {max_bytes}-byte limit", retryable=False
            )
        return await self.download_url(
            Media(url=info.url, content_type=info.mime_type or media.content_type),
            max_bytes,
            authenticated=True,
        )


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": {"body": text, "preview_url": "http" in text}}


def _clip(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def _media_kind(media: Media) -> str:
    kind = (media.content_type or "").split("/", 1)[0]
    return kind if kind in ("image", "video", "audio") else "document"


def _template_parameters(variables: dict[str, str] | Any) -> list[dict[str, str]]:
    """Body parameters: positional for keys "1", "2"... (in order), named otherwise."""
    items = dict(variables)
    if all(key.isdigit() for key in items):
        return [{"type": "text", "text": items[k]} for k in sorted(items, key=int)]
    return [{"type": "text", "parameter_name": k, "text": v} for k, v in items.items()]
