"""Complaints moved through their life by the real admin actions at chosen instants, for tests
that freeze the clock (every instant is a Jakarta wall-clock time; UTC+7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from gateway.complaints import actions, workflow
from gateway.complaints.tracking import new_code
from gateway.context import Gateway
from gateway.sla import deadlines
from gateway.store.models import Complaint, ComplaintEvent, OutboxItem

REPORTER_PHONE = "+6281234500009"


def wib(month: int, day: int, hour: int = 10, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=7)


def file(gateway: Gateway, received: datetime, **fields: object) -> str:
    values: dict[str, object] = {
        "tracking_code": new_code(),
        "origin_channel": "twilio_sms",
        "reply_channel": "twilio_sms",
        "reply_address": REPORTER_PHONE,
        "original_text": "Jalan berlubang di depan SD Negeri 1 Lasem",
        "clean_text": "Jalan berlubang di depan SD Negeri 1 Lasem",
        "masked_text": "Jalan berlubang di depan SD Negeri 1 Lasem",
        "received_at": received,
        **fields,
    }
    with gateway.db.session() as session:
        complaint = Complaint(**values)  # type: ignore[arg-type]
        workflow.open_complaint(session, complaint, now=received)
        deadlines.refresh(gateway, session, complaint, received)
        workflow.commit(session)
        return complaint.tracking_code


def act(gateway: Gateway, code: str, action: str, at: datetime, **kwargs: object) -> None:
    """One admin action (`actions.<action>`) on the complaint at instant `at`."""
    with gateway.db.session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert complaint is not None
        getattr(actions, action)(gateway, session, complaint, actor="user:1", now=at, **kwargs)
        workflow.commit(session)


def verify(gateway: Gateway, code: str, at: datetime, category: str = "pengaduan") -> None:
    act(
        gateway,
        code,
        "verify",
        at,
        relevant=True,
        complete=True,
        clear=True,
        title="Jalan berlubang di Lasem",
        category=category,
        kecamatan="Lasem",
    )


def dispose(gateway: Gateway, code: str, at: datetime, agency_id: int) -> None:
    act(gateway, code, "dispose", at, agency_id=agency_id)


def answer(gateway: Gateway, code: str, at: datetime) -> None:
    act(gateway, code, "answer", at, text="Lubang sudah ditambal oleh tim lapangan.")


def complaint(gateway: Gateway, code: str) -> Complaint:
    with gateway.db.read_session() as session:
        found = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert found is not None
        return found


def events(gateway: Gateway, code: str, action: str) -> list[ComplaintEvent]:
    with gateway.db.read_session() as session:
        return list(
            session.scalars(
                select(ComplaintEvent)
                .join(Complaint, Complaint.id == ComplaintEvent.complaint_id)
                .where(Complaint.tracking_code == code)
                .where(ComplaintEvent.action == action)
                .order_by(ComplaintEvent.id)
            ).all()
        )


def outbox_keys(gateway: Gateway, prefix: str = "") -> list[str]:
    with gateway.db.read_session() as session:
        keys = session.scalars(select(OutboxItem.idempotency_key).order_by(OutboxItem.id)).all()
    return [k for k in keys if k.startswith(prefix)]
