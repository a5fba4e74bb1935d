"""What an outbox row carries, typed: one class per family of kinds.

A row's payload is stored as JSON (the outbox table is read by every instance and kept across
releases); code never builds or reads that JSON by hand. A row for a channel (a reply, a
liaison notice, the digest) carries a `ChannelPayload`, from which delivery builds the channel's
`OutboundMessage`; a row for the SP4N core carries a `CorePayload`. Reading tolerates keys it
does not know and fills missing ones with defaults, so rows queued by an older release still
go out.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from channels.base import Button, FileAttachment, Media, ReplyMode
from gateway.clock import as_utc


@dataclass(frozen=True)
class ChannelPayload:
    """A message on a channel: to a reporter, a liaison officer or a koordinator."""

    text: str
    kind: str = "reply"  # the channel's message kind (reply, status, notice...): templates
    language: str = "id"
    media: tuple[Media, ...] = ()
    buttons: tuple[Button, ...] = ()
    request_location: bool = False
    template_variables: Mapping[str, str] = field(default_factory=dict)
    # When the recipient last wrote to us: WhatsApp's 24-hour window decides free text or a
    # template at delivery time, from this.
    last_inbound_at: datetime | None = None
    # Where it goes on the platform: a direct message, or a public reply or Meta's private
    # reply under a comment (`reply_to` = the comment's id).
    reply_mode: ReplyMode = ReplyMode.DIRECT
    reply_to: str | None = None
    # Documents to attach (e-mail), kept in the row itself so any instance can send them.
    files: tuple[FileAttachment, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data = self._json()
        if self.files:
            data["files"] = [
                {
                    "filename": f.filename,
                    "content_type": f.content_type,
                    "data": base64.b64encode(f.data).decode("ascii"),
                }
                for f in self.files
            ]
        return data

    def _json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "kind": self.kind,
            "language": self.language,
            "media": [m.__dict__ for m in self.media],
            "buttons": [{"label": b.label, "payload": b.payload} for b in self.buttons],
            "request_location": self.request_location,
            "template_variables": dict(self.template_variables),
            "last_inbound_at": self.last_inbound_at.isoformat() if self.last_inbound_at else None,
            "reply_mode": ReplyMode(self.reply_mode).value,
            "reply_to": self.reply_to,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChannelPayload:
        last = data.get("last_inbound_at")
        return cls(
            text=str(data.get("text") or ""),
            kind=str(data.get("kind") or "reply"),
            language=str(data.get("language") or "id"),
            media=tuple(Media(**m) for m in data.get("media") or ()),
            buttons=tuple(Button(**b) for b in data.get("buttons") or ()),
            request_location=bool(data.get("request_location")),
            template_variables={
                str(k): str(v) for k, v in (data.get("template_variables") or {}).items()
            },
            last_inbound_at=as_utc(datetime.fromisoformat(last)) if last else None,
            reply_mode=ReplyMode(data.get("reply_mode") or ReplyMode.DIRECT),
            reply_to=str(data["reply_to"]) if data.get("reply_to") else None,
            files=tuple(
                FileAttachment(
                    str(f.get("filename") or "lampiran"),
                    str(f.get("content_type") or "application/octet-stream"),
                    base64.b64decode(str(f.get("data") or "")),
                )
                for f in data.get("files") or ()
            ),
        )


@dataclass(frozen=True)
class CorePayload:
    """A row for the SP4N core: a follow-up's text and proof photos, the reporter's feedback,
    a re-disposition's reason, an SOP action on a LAPOR! record (verify, dispose to an agency,
    return, archive, ask). The submission itself carries nothing: the report is built
    from the complaint when it is sent (`complaints/disclosure.core_report`)."""

    text: str = ""
    attachment_ids: tuple[int, ...] = ()  # stored attachments, sent as signed links
    core_id: str | None = None  # the core's id of the report (feedback)
    rating: int | None = None  # the reporter's 1-5 (feedback)
    reason: str = ""  # why (re-disposition)
    agency_code: str | None = None  # where LAPOR! should dispose the report (core_dispose)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"text": self.text}
        if self.attachment_ids:
            data["attachment_ids"] = list(self.attachment_ids)
        if self.core_id is not None:
            data["core_id"] = self.core_id
        if self.rating is not None:
            data["rating"] = self.rating
        if self.reason:
            data["reason"] = self.reason
        if self.agency_code:
            data["agency_code"] = self.agency_code
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CorePayload:
        rating = data.get("rating")
        core_id = data.get("core_id")
        return cls(
            text=str(data.get("text") or ""),
            attachment_ids=tuple(int(i) for i in data.get("attachment_ids") or ()),
            core_id=str(core_id) if core_id is not None else None,
            rating=int(rating) if rating is not None else None,
            reason=str(data.get("reason") or ""),
            agency_code=str(data["agency_code"]) if data.get("agency_code") else None,
        )


Payload = ChannelPayload | CorePayload
