"""Typed models of Meta's webhook notifications and Graph API answers.

Written from Meta's documentation (WhatsApp Cloud API webhooks, Messenger Platform webhook
events, Instagram webhooks, Page `feed` webhooks) and checked against Courier's
`handlers/meta` structs. Unknown fields are ignored: Meta adds fields without notice. Fields a
message cannot do without (an id, a sender) are required, so a garbled payload is a
`ValidationError`, which the channels turn into `PayloadError`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


def first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "body"
    return f"{where}: {error['msg']}"


# --- the envelope -----------------------------------------------------------------------------


class Party(_Model):
    id: str = Field(min_length=1)


class QuickReply(_Model):
    payload: str


class ReplyTo(_Model):
    mid: str | None = None


class Coordinates(_Model):
    lat: float
    long: float


class AttachmentPayload(_Model):
    url: str | None = None
    sticker_id: int | None = None
    coordinates: Coordinates | None = None
    title: str | None = None


class Attachment(_Model):
    type: str
    title: str | None = None  # a shared location's label
    payload: AttachmentPayload | None = None


class MessengerMessage(_Model):
    mid: str = Field(min_length=1)
    text: str = ""
    is_echo: bool = False
    is_deleted: bool = False
    is_unsupported: bool = False
    quick_reply: QuickReply | None = None
    reply_to: ReplyTo | None = None
    attachments: list[Attachment] = Field(default_factory=list)


class Postback(_Model):
    mid: str | None = None
    title: str = ""
    payload: str = ""


class Delivery(_Model):
    mids: list[str] = Field(default_factory=list)
    watermark: int | None = None


class Read(_Model):
    mid: str | None = None  # Instagram names the message read ...
    watermark: int | None = None  # ... Messenger only says "everything up to then"


class MessagingEvent(_Model):
    """One `entry[].messaging[]` item of the Messenger Platform (Facebook and Instagram)."""

    sender: Party
    recipient: Party
    timestamp: int | None = None
    message: MessengerMessage | None = None
    postback: Postback | None = None
    delivery: Delivery | None = None
    read: Read | None = None
    reaction: dict[str, Any] | None = None
    referral: dict[str, Any] | None = None
    optin: dict[str, Any] | None = None


class Change(_Model):
    """One `entry[].changes[]` item: which field changed, and its value (read per field)."""

    field: str
    value: dict[str, Any]


class Entry(_Model):
    id: str = Field(min_length=1)  # the Page, the Instagram account or the WhatsApp account
    time: int | None = None
    changes: list[Change] = Field(default_factory=list)
    messaging: list[MessagingEvent] = Field(default_factory=list)


class Notification(_Model):
    object: str
    entry: list[Entry]


# --- public comments ---------------------------------------------------------------------------


class IgCommentAuthor(_Model):
    id: str = Field(min_length=1)
    username: str | None = None


class IgCommentMedia(_Model):
    id: str
    media_product_type: str | None = None


class IgComment(_Model):
    """The value of an Instagram `comments` change: a comment under one of our media."""

    id: str = Field(min_length=1)
    author: IgCommentAuthor = Field(alias="from")
    text: str = ""
    media: IgCommentMedia | None = None
    parent_id: str | None = None


class FeedAuthor(_Model):
    id: str = Field(min_length=1)
    name: str | None = None


class FeedPost(_Model):
    id: str | None = None
    permalink_url: str | None = None
    status_type: str | None = None


class FeedChange(_Model):
    """The value of a Page `feed` change: posts, comments, reactions on the Page."""

    item: str
    verb: str
    author: FeedAuthor | None = Field(default=None, alias="from")
    post_id: str | None = None
    comment_id: str | None = None
    parent_id: str | None = None
    message: str = ""
    created_time: int | None = None
    post: FeedPost | None = None
    photo: str | None = None
    video: str | None = None


# --- WhatsApp Cloud API ------------------------------------------------------------------------


class WaError(_Model):
    code: int
    title: str = ""
    message: str = ""
    error_data: dict[str, Any] | None = None

    @property
    def details(self) -> str:
        data = self.error_data or {}
        return str(data.get("details") or self.message or self.title)


class WaProfile(_Model):
    name: str | None = None


class WaContact(_Model):
    wa_id: str
    profile: WaProfile | None = None


class WaMetadata(_Model):
    phone_number_id: str
    display_phone_number: str | None = None


class WaText(_Model):
    body: str


class WaMedia(_Model):
    id: str = Field(min_length=1)
    mime_type: str | None = None
    sha256: str | None = None
    caption: str | None = None
    filename: str | None = None


class WaLocation(_Model):
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


class WaPhone(_Model):
    phone: str | None = None
    wa_id: str | None = None


class WaContactName(_Model):
    formatted_name: str | None = None


class WaContactCard(_Model):
    name: WaContactName | None = None
    phones: list[WaPhone] = Field(default_factory=list)


class WaButton(_Model):
    text: str = ""
    payload: str | None = None


class WaReply(_Model):
    id: str
    title: str = ""


class WaInteractive(_Model):
    type: str
    button_reply: WaReply | None = None
    list_reply: WaReply | None = None


class WaContext(_Model):
    id: str | None = None
    forwarded: bool = False


class WaMessage(_Model):
    id: str = Field(min_length=1)
    sender: str = Field(alias="from", min_length=1)
    timestamp: str
    type: str
    context: WaContext | None = None
    text: WaText | None = None
    image: WaMedia | None = None
    audio: WaMedia | None = None
    voice: WaMedia | None = None
    video: WaMedia | None = None
    document: WaMedia | None = None
    sticker: WaMedia | None = None
    location: WaLocation | None = None
    contacts: list[WaContactCard] = Field(default_factory=list)
    button: WaButton | None = None
    interactive: WaInteractive | None = None
    errors: list[WaError] = Field(default_factory=list)


class WaStatus(_Model):
    id: str = Field(min_length=1)
    status: str
    recipient_id: str | None = None
    timestamp: str | None = None
    errors: list[WaError] = Field(default_factory=list)


class WaValue(_Model):
    """The value of a WhatsApp `messages` change: messages in, and receipts of ours."""

    messaging_product: str = "whatsapp"
    metadata: WaMetadata
    contacts: list[WaContact] = Field(default_factory=list)
    messages: list[WaMessage] = Field(default_factory=list)
    statuses: list[WaStatus] = Field(default_factory=list)
    errors: list[WaError] = Field(default_factory=list)


# --- Graph API answers -------------------------------------------------------------------------


class GraphErrorBody(_Model):
    message: str = ""
    type: str | None = None
    code: int | None = None
    error_subcode: int | None = None
    error_data: dict[str, Any] | str | None = None
    fbtrace_id: str | None = None


class GraphErrorResponse(_Model):
    error: GraphErrorBody


class WaSentMessage(_Model):
    id: str


class WaSendResponse(_Model):
    messages: list[WaSentMessage] = Field(min_length=1)


class MessengerSendResponse(_Model):
    message_id: str
    recipient_id: str | None = None


class CreatedObject(_Model):
    id: str


class MediaInfo(_Model):
    """`GET /{media-id}` for WhatsApp media: a URL valid for a few minutes."""

    url: str
    mime_type: str | None = None
    file_size: int | None = None
    sha256: str | None = None


class IgMediaInfo(_Model):
    id: str
    permalink: str | None = None
