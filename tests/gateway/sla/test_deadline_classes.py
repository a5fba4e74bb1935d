"""Answer deadlines of every class and the pause, through the real admin actions (dates by hand,
WIB). September to November 2026 has no holiday, which the first test checks."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from gateway.context import Gateway
from tests.gateway.admin.conftest import Directory
from tests.gateway.sla import story
from tests.gateway.sla.story import wib


def end_of(month: int, day: int) -> datetime:
    """The last instant of a local day in 2026, in UTC."""
    return datetime(2026, month, day, 16, 59, 59, 999999, tzinfo=UTC)


def test_no_holiday_from_september_to_november(gateway: Gateway) -> None:
    assert gateway.calendar.holidays_between(date(2026, 9, 1), date(2026, 11, 30)) == []


@pytest.mark.parametrize(
    ("category", "due"),
    [
        # Disposed Tuesday 1 September: day 1 is Wednesday 2.
        ("aspirasi", (9, 8)),  # 2, 3, 4, 7, 8
        ("permintaan_informasi", (9, 8)),
        ("pengaduan", (9, 21)),  # 2-4 (3), 7-11 (8), 14-18 (13), 21 (14)
        # Sept: 2-4, 7-11, 14-18, 21-25, 28-30 = 21; Oct: 1-2, 5-9, 12-16, 19-23, 26-30 = 43;
        # Nov: 2-6 = 48, 9-13 = 53, 16-20 = 58, 23 = 59, 24 = 60.
        ("pengaduan_berkadar_pengawasan", (11, 24)),
    ],
)
def test_answer_deadline_of_every_class(
    gateway: Gateway, directory: Directory, category: str, due: tuple[int, int]
) -> None:
    code = story.file(gateway, wib(8, 31))
    story.verify(gateway, code, wib(9, 1, 9), category)
    story.dispose(gateway, code, wib(9, 1), directory.dpupr)
    assert story.complaint(gateway, code).answer_due_at == end_of(*due)


def test_pending_and_back_moves_the_verification_deadline(
    gateway: Gateway, directory: Directory
) -> None:
    # Received Monday 2 November: verification due Thursday 5.
    code = story.file(gateway, wib(11, 2))
    assert story.complaint(gateway, code).verify_due_at == end_of(11, 5)
    story.act(gateway, code, "pend", wib(11, 3), question="Di desa mana tepatnya?")
    with gateway.db.session() as session:
        from sqlalchemy import select

        from gateway.complaints import actions, workflow
        from gateway.store.models import Complaint

        complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        actions.resume_from_pending(
            session,
            complaint,
            "reporter",
            gateway=gateway,
            now=wib(11, 5),  # type: ignore[arg-type]
        )
        workflow.commit(session)
    # Waiting from Tuesday 3 to Thursday 5 gives back Wed 4 and Thu 5: due Monday 9.
    assert story.complaint(gateway, code).verify_due_at == end_of(11, 9)
