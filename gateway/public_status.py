"""What anyone holding a tracking code may see: status, history and the replies meant for the
reporter. No name, number, address or complaint text: the code may be shared or guessed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from config.messages import has, t
from gateway.models import (
    Agency,
    Complaint,
    ComplaintEvent,
    InboundMessage,
    InboundStatus,
    OutboxItem,
    OutboxStatus,
)

REPLY_KINDS = ("reply",)


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    label: str
    note: str | None = None


@dataclass(frozen=True)
class PublicStatus:
    code: str
    status: str
    status_label: str
    updated_at: datetime
    processing: bool = False  # stored, complaint not created yet
    history: list[HistoryEntry] = field(default_factory=list)
    replies: list[HistoryEntry] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "tracking_code": self.code,
            "status": self.status,
            "status_label": self.status_label,
            "updated_at": self.updated_at.isoformat(),
            "history": [
                {"at": h.at.isoformat(), "label": h.label, "note": h.note} for h in self.history
            ],
            "replies": [{"at": r.at.isoformat(), "text": r.note} for r in self.replies],
        }


def _event_label(lang: str, event: ComplaintEvent, agencies: dict[int, str]) -> str:
    agency = ""
    agency_id = (event.after or {}).get("agency_id")
    if isinstance(agency_id, int):
        agency = agencies.get(agency_id, "")
    action = event.action
    if action == "disposed" and event.from_status == "disposed":
        action = "redisposed"
    if has(lang, f"event.{action}"):
        return t(lang, f"event.{action}", agency=agency or "instansi")
    # An event without its own wording still says where the complaint went.
    return t(lang, f"status.{event.to_status}") if event.to_status else t(lang, "event.updated")


def lookup(session: Session, code: str, lang: str) -> PublicStatus | None:
    complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
    if complaint is None:
        row = session.scalar(select(InboundMessage).where(InboundMessage.assigned_code == code))
        if row is None or row.status == InboundStatus.IGNORED:
            return None
        return PublicStatus(
            code=code,
            status="processing",
            status_label=t(lang, "status.processing"),
            updated_at=row.received_at,
            processing=True,
        )
    events = session.scalars(
        select(ComplaintEvent)
        .where(ComplaintEvent.complaint_id == complaint.id)
        .where(ComplaintEvent.public.is_(True))  # type: ignore[attr-defined]
        .order_by(ComplaintEvent.id)
    ).all()
    agencies: dict[int, str] = {
        row.id: row.name for row in session.execute(select(Agency.id, Agency.name))
    }
    history = [
        HistoryEntry(event.created_at, _event_label(lang, event, agencies), event.note)
        for event in events
    ]
    replies = session.scalars(
        select(OutboxItem)
        .where(OutboxItem.complaint_id == complaint.id)
        .where(OutboxItem.kind.in_(REPLY_KINDS))  # type: ignore[attr-defined]
        .where(OutboxItem.status == OutboxStatus.SENT)
        .where(OutboxItem.channel == "webform")
        .order_by(OutboxItem.id)
    ).all()
    return PublicStatus(
        code=complaint.tracking_code,
        status=complaint.status,
        status_label=t(lang, f"status.{complaint.status}"),
        updated_at=complaint.updated_at,
        history=history,
        replies=[
            HistoryEntry(r.sent_at or r.created_at, "", r.payload.get("text")) for r in replies
        ],
    )
