"""Small builders for tests: complaints and inbound messages with sensible defaults."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlmodel import Session, col

from channels.base import InboundMessage
from gateway.complaints import actions, workflow
from gateway.complaints.tracking import new_code
from gateway.context import Gateway
from gateway.store.db import Database
from gateway.store.models import Agency, Complaint, Status


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


def _by_code(session: Session, code: str) -> Complaint:
    complaint = session.scalar(select(Complaint).where(col(Complaint.tracking_code) == code))
    assert complaint is not None, code
    return complaint


def verify_and_dispose(
    gateway: Gateway, code: str, *, title: str, agency_id: int | None = None
) -> None:
    """What the koordinator does: verified (the three checks, class `pengaduan`), then disposed
    to `agency_id`, by default the directory's DPUPR."""
    with gateway.db.session() as session:
        actions.verify(
            gateway,
            session,
            _by_code(session, code),
            actor="user:1",
            relevant=True,
            complete=True,
            clear=True,
            title=title,
            category="pengaduan",
        )
        workflow.commit(session)
    with gateway.db.session() as session:
        if agency_id is None:
            agency_id = session.scalar(select(col(Agency.id)).where(col(Agency.code) == "DPUPR"))
            assert agency_id is not None
        actions.dispose(
            gateway, session, _by_code(session, code), actor="user:1", agency_id=agency_id
        )
        workflow.commit(session)


def answer_as_agency(gateway: Gateway, code: str, text: str) -> None:
    """What the liaison officer does: the answer, given in the gateway."""
    with gateway.db.session() as session:
        actions.answer(gateway, session, _by_code(session, code), actor="user:2", text=text)
        workflow.commit(session)
