"""The sweeps with a frozen clock: liaison reminders before, on and after the answer deadline,
escalation once, the automatic close after 10 silent working days, exactly once across restarts
and clock changes.

Dates worked out by hand (WIB; November 2026 has no holiday): disposed Wednesday 4 November, a
`pengaduan` has 14 working days: Thu 5, Fri 6, Mon 9 ... Mon 23, Tue 24 November (day 14). So
the reminders are due Friday 20 (two working days before), Tuesday 24 (the day) and Wednesday 25
(overdue) at 08:00, and the answer is overdue from Wednesday 25 November 00:00 WIB.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlmodel import col

from gateway.context import Gateway
from gateway.sla import sweeps
from gateway.store.models import Complaint, OutboxItem, Status
from tests.gateway.admin.conftest import Directory
from tests.gateway.sla import story
from tests.gateway.sla.story import wib


def _disposed(gateway: Gateway, directory: Directory, category: str = "pengaduan") -> str:
    code = story.file(gateway, wib(11, 2))
    story.verify(gateway, code, wib(11, 3), category)
    story.dispose(gateway, code, wib(11, 4), directory.dpupr)
    return code


def _reminders(gateway: Gateway, code: str) -> list[str]:
    return story.outbox_keys(gateway, f"{code}:sla:")


def test_reminders_before_on_and_after_the_deadline(gateway: Gateway, directory: Directory) -> None:
    code = _disposed(gateway, directory)
    assert story.complaint(gateway, code).answer_due_at == datetime(
        2026, 11, 24, 16, 59, 59, 999999, tzinfo=UTC
    )
    for quiet in (wib(11, 19, 12), wib(11, 20, 7, 59)):
        assert sweeps.run(gateway, quiet).reminders == 0
    assert _reminders(gateway, code) == []

    assert sweeps.run(gateway, wib(11, 20, 9)).reminders == 2  # two active DPUPR officers
    before = f"{code}:sla:answer:before-2:2026-11-24:liaison:"
    assert all(key.startswith(before) for key in _reminders(gateway, code))
    with gateway.db.read_session() as session:
        rows = session.scalars(
            select(OutboxItem).where(col(OutboxItem.idempotency_key).startswith(before))
        ).all()
    assert sorted(r.recipient for r in rows) == sorted(directory.dpupr_liaisons)
    assert all(r.channel == "twilio_whatsapp" and r.payload["kind"] == "reminder" for r in rows)
    assert (
        "24-11-2026" in rows[0].payload["text"] and "2 hari kerja lagi" in rows[0].payload["text"]
    )

    assert sweeps.run(gateway, wib(11, 24, 9)).reminders == 2
    assert sweeps.run(gateway, wib(11, 25, 9)).reminders == 2
    labels = sorted({k.split(":sla:answer:")[1].split(":")[0] for k in _reminders(gateway, code)})
    assert labels == ["after-1", "before-2", "on-day"]
    overdue = [k for k in _reminders(gateway, code) if ":after-1:" in k]
    with gateway.db.read_session() as session:
        text = session.scalar(
            select(OutboxItem.payload).where(OutboxItem.idempotency_key == overdue[0])
        )
    assert "belum dijawab" in text["text"]  # type: ignore[index]
    # Each reminder is on the timeline once.
    notes = [e.note or "" for e in story.events(gateway, code, "sla_reminder")]
    assert [n.split(" · ")[0] for n in notes] == ["before-2", "on-day", "after-1"]


def test_no_reminder_once_answered(gateway: Gateway, directory: Directory) -> None:
    code = _disposed(gateway, directory)
    story.answer(gateway, code, wib(11, 19))
    for day in (20, 24, 25, 26):
        sweeps.run(gateway, wib(11, day, 9))
    assert _reminders(gateway, code) == []
    assert not story.complaint(gateway, code).escalated


def test_overdue_answer_is_escalated_once_with_the_instant_it_became_overdue(
    gateway: Gateway, directory: Directory
) -> None:
    code = _disposed(gateway, directory)
    assert sweeps.run(gateway, wib(11, 24, 23, 59)).escalated == 0
    assert sweeps.run(gateway, wib(11, 25, 0, 30)).escalated == 1
    escalated = story.complaint(gateway, code)
    assert escalated.escalated
    # Overdue from Wednesday 25 November 00:00 WIB = 24 November 17:00 UTC, not the sweep's time.
    assert escalated.escalated_at == datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
    for later in (wib(11, 25, 9), wib(11, 30, 9), wib(12, 15, 9)):
        assert sweeps.run(gateway, later).escalated == 0
    assert len(story.events(gateway, code, "escalated")) == 1
    assert story.complaint(gateway, code).escalated_at == escalated.escalated_at


def test_answered_then_ten_silent_working_days_close_and_the_reporter_is_told(
    gateway: Gateway, directory: Directory
) -> None:
    code = _disposed(gateway, directory, "aspirasi")
    # Answered Monday 9 November: 10 working days = Tue 10 ... Mon 23 November.
    story.answer(gateway, code, wib(11, 9))
    assert story.complaint(gateway, code).feedback_due_at == datetime(
        2026, 11, 23, 16, 59, 59, 999999, tzinfo=UTC
    )
    assert sweeps.run(gateway, wib(11, 23, 20)).closed == 0
    assert story.complaint(gateway, code).status == Status.ANSWERED
    assert sweeps.run(gateway, wib(11, 24, 0, 30)).closed == 1
    closed = story.complaint(gateway, code)
    assert closed.status == Status.CLOSED
    assert closed.closed_at == wib(11, 24, 0, 30)
    [event] = story.events(gateway, code, "auto_closed")
    assert event.public and event.actor == "system" and event.to_status == "closed"
    told = story.outbox_keys(gateway, f"{code}:auto_closed:")
    assert told == [f"{code}:auto_closed:twilio_sms:{story.REPORTER_PHONE}"]
    with gateway.db.read_session() as session:
        payload = session.scalar(
            select(OutboxItem.payload).where(OutboxItem.idempotency_key == told[0])
        )
    assert "tidak ada tanggapan dalam 10 hari kerja" in payload["text"]  # type: ignore[index]
    assert sweeps.run(gateway, wib(11, 25, 9)).closed == 0


def test_exactly_once_across_a_restart_and_a_clock_moved_back_and_forth(
    gateway: Gateway, directory: Directory
) -> None:
    code = _disposed(gateway, directory)
    # The sweep was down on Friday: on Tuesday both the before-2 and the on-day reminder go.
    assert sweeps.run(gateway, wib(11, 24, 9)).reminders == 4
    first = _reminders(gateway, code)
    # A restart: a new gateway on the same database.
    restarted = Gateway.create(gateway.settings, db=gateway.db)
    assert sweeps.run(restarted, wib(11, 24, 9)).reminders == 0
    # The clock goes back to Friday, then forward again.
    for at in (wib(11, 20, 9), wib(11, 20, 8), wib(11, 24, 10)):
        assert sweeps.run(restarted, at).reminders == 0
    assert _reminders(gateway, code) == first
    assert len(story.events(gateway, code, "sla_reminder")) == 2
    assert sweeps.run(restarted, wib(11, 25, 9)).reminders == 2  # after-1 was never skipped
    assert len(story.events(gateway, code, "sla_reminder")) == 3


def test_a_sweep_that_changes_nothing_leaves_the_complaint_version(
    gateway: Gateway, directory: Directory
) -> None:
    code = _disposed(gateway, directory)
    version = story.complaint(gateway, code).version
    sweeps.run(gateway, wib(11, 20, 9))  # a reminder is written on the timeline only
    assert story.complaint(gateway, code).version == version


def test_an_agency_without_liaison_officers_gets_no_reminder_but_is_escalated(
    gateway: Gateway, directory: Directory
) -> None:
    with gateway.db.session() as session:
        from gateway.store.models import Agency

        lonely = Agency(code="BKD", name="Badan Kepegawaian Daerah")
        session.add(lonely)
        session.commit()
        lonely_id = lonely.id
    code = story.file(gateway, wib(11, 2))
    story.verify(gateway, code, wib(11, 3))
    story.dispose(gateway, code, wib(11, 4), lonely_id)  # type: ignore[arg-type]
    result = sweeps.run(gateway, wib(11, 25, 9))
    assert result.reminders == 0 and result.escalated == 1
    assert story.events(gateway, code, "sla_reminder") == []


def test_complaints_are_only_touched_through_the_state_machine(
    gateway: Gateway, directory: Directory
) -> None:
    code = _disposed(gateway, directory)
    story.act(gateway, code, "acknowledge", wib(11, 5))
    sweeps.run(gateway, wib(12, 31, 9))
    with gateway.db.read_session() as session:
        found = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
    assert found is not None and found.status == Status.IN_PROGRESS and found.escalated
