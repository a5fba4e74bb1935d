"""Deadlines stored on complaints follow their history (dates worked out by hand in WIB;
November 2026 has no national holidays)."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.complaints import workflow
from gateway.complaints.tracking import new_code
from gateway.context import Gateway
from gateway.sla import deadlines
from gateway.store.models import Complaint, Status


def wib(day: int, hour: int = 10) -> datetime:
    """A time on November `day`, 2026, Jakarta (UTC+7)."""
    return datetime(2026, 11, day, hour - 7, 0, tzinfo=UTC)


def end_of_day_wib(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 16, 59, 59, 999999, tzinfo=UTC)


def _new(gateway: Gateway, received: datetime, **fields: object) -> int:
    with gateway.db.session() as session:
        complaint = Complaint(
            tracking_code=new_code(), origin_channel="webform", received_at=received, **fields
        )  # type: ignore[arg-type]
        workflow.open_complaint(session, complaint, now=received)
        deadlines.refresh(gateway, session, complaint, received)
        session.commit()
        return complaint.id  # type: ignore[return-value]


def _move(
    gateway: Gateway, complaint_id: int, to: Status, at: datetime, **changes: object
) -> Complaint:
    with gateway.db.session() as session:
        complaint = session.get(Complaint, complaint_id)
        assert complaint is not None
        workflow.transition(
            session, complaint, to, actor="user:1", action=to.value, changes=changes, now=at
        )
        deadlines.refresh(gateway, session, complaint, at)
        session.commit()
        return complaint


def test_verification_is_due_three_working_days_after_receipt(gateway: Gateway) -> None:
    # Received Monday 2 Nov: day 1 is Tue 3, day 3 is Thu 5.
    complaint_id = _new(gateway, wib(2))
    with gateway.db.read_session() as session:
        complaint = session.get(Complaint, complaint_id)
        assert complaint is not None
        assert complaint.verify_due_at == end_of_day_wib(11, 5)
        assert complaint.answer_due_at is None


def test_answer_deadline_by_class_from_disposition(gateway: Gateway) -> None:
    complaint_id = _new(gateway, wib(2))
    _move(gateway, complaint_id, Status.VERIFIED, wib(3), category="pengaduan")
    # Disposed Wed 4 Nov: 14 working days = Thu 5 ... Tue 24 Nov.
    complaint = _move(gateway, complaint_id, Status.DISPOSED, wib(4))
    assert complaint.answer_due_at == end_of_day_wib(11, 24)
    info = _new(gateway, wib(2), category="permintaan_informasi")
    _move(gateway, info, Status.VERIFIED, wib(3))
    # 5 working days from Wed 4 Nov: Thu 5, Fri 6, Mon 9, Tue 10, Wed 11.
    assert _move(gateway, info, Status.DISPOSED, wib(4)).answer_due_at == end_of_day_wib(11, 11)


def test_pending_pauses_the_clock(gateway: Gateway) -> None:
    complaint_id = _new(gateway, wib(2))
    _move(gateway, complaint_id, Status.PENDING, wib(3))
    # Waiting for the reporter from Tue 3 to Thu 5: Wed 4 and Thu 5 are given back,
    # so verification moves from Thu 5 to Mon 9.
    complaint = _move(gateway, complaint_id, Status.RECEIVED, wib(5))
    assert complaint.verify_due_at == end_of_day_wib(11, 9)


def test_feedback_window_after_the_answer(gateway: Gateway) -> None:
    complaint_id = _new(gateway, wib(2))
    _move(gateway, complaint_id, Status.VERIFIED, wib(3), category="aspirasi")
    _move(gateway, complaint_id, Status.DISPOSED, wib(4))
    # Answered Mon 9 Nov: 10 working days = Tue 10 ... Mon 23 Nov.
    complaint = _move(gateway, complaint_id, Status.ANSWERED, wib(9))
    assert complaint.feedback_due_at == end_of_day_wib(11, 23)
