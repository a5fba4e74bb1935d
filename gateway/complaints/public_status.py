"""What anyone holding a tracking code may see (`/status/{code}` and its JSON twin
`GET /api/v1/complaints/{code}`): status, history and the replies meant for the reporter.
No name, number, address or complaint text: the code may be shared or guessed.

The history is an allow-list (`PUBLIC_EVENTS`): an event appears only when its action is listed,
with its public wording, and its text only when the text is addressed to the reporter — the
admin's question when the complaint is pended, the agency's answer, the reason a complaint is
returned (the reporter is told it, REPORTER_STATUS_NOTICES), the SP4N-LAPOR! tracking id. Those
texts and the replies go through `gateway.complaints.disclosure.public_text` (personal data masked).
Everything else stays inside: a disposition note, an archive reason (written for staff; the
reporter is told only that it was archived), a re-disposition reason, a reporter's feedback,
another complaint's tracking code (merges), who did it. An action nobody listed — a new one
included — shows nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from config.messages import t
from gateway.complaints import disclosure, lifecycle
from gateway.outbox.payloads import ChannelPayload
from gateway.store.models import (
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
class PublicEvent:
    label: str  # the key under `event.` in config/messages
    shows_note: bool = False  # the event's text is addressed to the reporter


PUBLIC_EVENTS: dict[str, PublicEvent] = {
    "received": PublicEvent("received"),
    "verified": PublicEvent("verified"),
    "disposed": PublicEvent("disposed"),
    "redisposed": PublicEvent("redisposed"),
    "pending": PublicEvent("pending", shows_note=True),  # the admin's question
    "resumed": PublicEvent("resumed"),
    "in_progress": PublicEvent("in_progress"),
    "answered": PublicEvent("answered", shows_note=True),  # the agency's answer
    "reopened": PublicEvent("reopened"),
    "closed": PublicEvent("closed"),
    "auto_closed": PublicEvent("auto_closed"),
    "archived": PublicEvent("archived"),
    "returned": PublicEvent("returned", shows_note=True),  # why: the reporter is told it
    "merged": PublicEvent("merged"),
    "auto_merged": PublicEvent("auto_merged"),
    "unmerged": PublicEvent("unmerged"),
    "core_submitted": PublicEvent("core_submitted", shows_note=True),  # the LAPOR! id
    "core_ref_recorded": PublicEvent("core_submitted", shows_note=True),  # typed in (manual)
    "clustered": PublicEvent("clustered"),  # joined a case (the note names another complaint)
    "unclustered": PublicEvent("unclustered"),
}
# A follower's page tells its case's story from the case's primary; these primary events are
# about the primary's own reporter or its cluster bookkeeping, not the case.
NOT_THE_CASES_STORY = frozenset(
    {"received", "merged", "auto_merged", "unmerged", "clustered", "unclustered"}
)


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


def public_history(
    lang: str, events: Sequence[ComplaintEvent], agencies: dict[int, str]
) -> list[HistoryEntry]:
    """The allow-listed part of a complaint's audit log, as anyone holding the code reads it."""
    history = []
    for event in events:
        shown = PUBLIC_EVENTS.get(event.action)
        if shown is None or not event.public:
            continue
        label = shown.label
        if label == "disposed" and event.from_status == "disposed":
            label = "redisposed"
        agency_id = (event.after or {}).get("agency_id")
        agency = agencies.get(agency_id, "") if isinstance(agency_id, int) else ""
        note = disclosure.public_text(event.note) if shown.shows_note else None
        history.append(
            HistoryEntry(
                event.created_at, t(lang, f"event.{label}", agency=agency or "instansi"), note
            )
        )
    return history


def _public_events(session: Session, complaint: Complaint) -> list[ComplaintEvent]:
    return list(
        session.scalars(
            select(ComplaintEvent)
            .where(col(ComplaintEvent.complaint_id) == complaint.id)
            .where(col(ComplaintEvent.public).is_(True))
            .order_by(col(ComplaintEvent.id))
        ).all()
    )


def lookup(session: Session, code: str, lang: str) -> PublicStatus | None:
    complaint = session.scalar(select(Complaint).where(col(Complaint.tracking_code) == code))
    if complaint is None:
        row = session.scalar(
            select(InboundMessage).where(col(InboundMessage.assigned_code) == code)
        )
        if row is None or row.status == InboundStatus.IGNORED:
            return None
        return PublicStatus(
            code=code,
            status="processing",
            status_label=t(lang, "status.processing"),
            updated_at=row.received_at,
            processing=True,
        )
    events = _public_events(session, complaint)
    if lifecycle.is_follower(complaint):
        case = lifecycle.case_of(session, complaint)
        story = [e for e in _public_events(session, case) if e.action not in NOT_THE_CASES_STORY]
        events = sorted([*events, *story], key=lambda e: (e.created_at, e.id or 0))
    agencies: dict[int, str] = {
        row.id: row.name for row in session.execute(select(col(Agency.id), col(Agency.name)))
    }
    history = public_history(lang, events, agencies)
    replies = session.scalars(
        select(OutboxItem)
        .where(col(OutboxItem.complaint_id) == complaint.id)
        .where(col(OutboxItem.kind).in_(REPLY_KINDS))
        .where(col(OutboxItem.status) == OutboxStatus.SENT)
        .where(col(OutboxItem.channel) == "webform")
        .order_by(col(OutboxItem.id))
    ).all()
    return PublicStatus(
        code=complaint.tracking_code,
        status=complaint.status,
        status_label=t(lang, f"status.{complaint.status}"),
        updated_at=complaint.updated_at,
        history=history,
        replies=[
            HistoryEntry(
                r.sent_at or r.created_at,
                "",
                disclosure.public_text(ChannelPayload.from_json(r.payload).text),
            )
            for r in replies
        ],
    )
