"""Small builders for tests: complaints and inbound messages with sensible defaults."""

from __future__ import annotations

from datetime import UTC, datetime

from channels.base import InboundMessage
from gateway.complaints import workflow
from gateway.complaints.tracking import new_code
from gateway.store.db import Database
from gateway.store.models import Complaint, Status


def make_complaint(db: Database, status: Status = Status.RECEIVED, **fields: object) -> Complaint:
    """A complaint stored in `status` (set directly: this is test setup, not a transition)."""
    with db.session() as session:
        values: dict[str, object] = {
            "tracking_code": new_code(),
            "origin_channel": "webform",
            "original_text": "Jalan berlubang di depan SD Negeri 1",
            **fields,
        }
        complaint = Complaint(**values)  # type: ignore[arg-type]
        workflow.open_complaint(session, complaint)
        complaint.status = status.value
        session.add(complaint)
        session.commit()
        session.refresh(complaint)
        return complaint


def inbound(external_id: str = "m-1", channel: str = "webform", **fields: object) -> InboundMessage:
    values: dict[str, object] = {
        "channel": channel,
        "external_id": external_id,
        "sender": "web:tester",
        "received_at": datetime(2026, 11, 2, 3, 0, tzinfo=UTC),
        "text": "Lampu jalan di depan balai desa mati sejak seminggu",
        "extra": {"consent": "1"},
    }
    values.update(fields)
    return InboundMessage(**values)  # type: ignore[arg-type]
