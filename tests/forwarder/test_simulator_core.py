"""The simulated core on its own: its life (what a LAPOR! admin may do when), auto-answer driven
by a hand-moved clock, and the fault switches."""

from __future__ import annotations

from pathlib import Path

import pytest

from forwarder.simulator import Action, CoreSimulator, FaultMode, SimStatus, create_app
from forwarder.simulator.lifecycle import TransitionError, allowed_actions

from .conftest import FakeClock


def _auto_core(tmp_path: Path, clock: FakeClock, seconds: float = 60) -> CoreSimulator:
    return create_app(tmp_path / "auto.db", auto_answer_seconds=seconds, clock=clock).state.core


def test_a_report_walks_the_whole_life(core: CoreSimulator) -> None:
    report, created = core.submit("complaint-1", {"agency_code": "DLH"})
    assert created and report.status is SimStatus.UNVERIFIED
    for action in (Action.VERIFY, Action.DISPOSE, Action.PROCESS):
        core.act(report.core_id, action)
    core.act(report.core_id, Action.ANSWER, text="Sampah sudah diangkut.")
    core.act(report.core_id, Action.CLOSE)
    assert core.get(report.core_id).status is SimStatus.CLOSED
    assert core.get(report.core_id).agency_code == "DLH"
    assert [e.status for e in core.store.events_of(report.core_id)] == [
        "verified",
        "disposed",
        "in_process",
        "answered",
        "closed",
    ]


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        (SimStatus.UNVERIFIED, [Action.VERIFY, Action.ARCHIVE, Action.RETURN]),
        (SimStatus.VERIFIED, [Action.DISPOSE, Action.ARCHIVE, Action.RETURN]),
        (SimStatus.DISPOSED, [Action.DISPOSE, Action.PROCESS, Action.ANSWER, Action.RETURN]),
        (SimStatus.IN_PROCESS, [Action.DISPOSE, Action.ANSWER]),
        (SimStatus.ANSWERED, [Action.PROCESS, Action.ANSWER, Action.CLOSE]),
        (SimStatus.CLOSED, []),
        (SimStatus.ARCHIVED, []),
        (SimStatus.RETURNED, []),
    ],
)
def test_what_may_happen_in_each_status(status: SimStatus, allowed: list[Action]) -> None:
    assert allowed_actions(status) == allowed


def test_a_step_out_of_order_is_refused_and_changes_nothing(core: CoreSimulator) -> None:
    report, _ = core.submit("complaint-1", {})
    with pytest.raises(TransitionError):
        core.act(report.core_id, Action.ANSWER, text="terlalu cepat")
    with pytest.raises(TransitionError):
        core.act(report.core_id, Action.CLOSE)
    assert core.get(report.core_id).status is SimStatus.UNVERIFIED
    assert core.store.events_of(report.core_id) == []


def test_an_answer_needs_text(core: CoreSimulator) -> None:
    report, _ = core.submit("complaint-1", {})
    core.act(report.core_id, Action.VERIFY)
    core.act(report.core_id, Action.DISPOSE)
    with pytest.raises(ValueError, match="text"):
        core.act(report.core_id, Action.ANSWER, text="   ")


def test_auto_answer_steps_once_per_period(tmp_path: Path, clock: FakeClock) -> None:
    core = _auto_core(tmp_path, clock)
    report, _ = core.submit("complaint-1", {"agency_code": None})
    clock.advance(59)
    assert core.tick() == []
    statuses = []
    for _ in range(4):
        clock.advance(60)
        [event] = core.tick()
        statuses.append(event.status)
        assert core.tick() == []  # the same moment again does nothing more
    assert statuses == ["verified", "disposed", "in_process", "answered"]
    events = core.store.events_of(report.core_id)
    assert events[1].agency_code == "DINKOMINFO"  # no agency named: the catch-all
    assert events[3].text and "Terima kasih" in events[3].text
    assert {e.actor for e in events} == {"auto"}
    clock.advance(3600)
    assert core.tick() == []  # stops at answered; closing is a person's decision
    assert core.get(report.core_id).status is SimStatus.ANSWERED


def test_auto_answer_leaves_a_report_a_person_moved_recently(
    tmp_path: Path, clock: FakeClock
) -> None:
    core = _auto_core(tmp_path, clock)
    report, _ = core.submit("complaint-1", {"agency_code": "DPUPR"})
    clock.advance(50)
    core.act(report.core_id, Action.VERIFY)
    clock.advance(30)  # 80 s after submit, 30 s after the person's step
    assert core.tick() == []
    clock.advance(30)
    [event] = core.tick()
    assert (event.status, event.agency_code) == ("disposed", "DPUPR")


def test_auto_answer_leaves_a_report_the_agency_follows_up_through_the_gateway(
    tmp_path: Path, clock: FakeClock
) -> None:
    core = _auto_core(tmp_path, clock)
    report, _ = core.submit("complaint-1", {"agency_code": "DPUPR"})
    core.followup(report.core_id, Action.PROCESS, "LPR-1:core_progress:1", text="Diproses.")
    clock.advance(3600)
    assert core.tick() == []  # the liaison officer answers in the gateway, not the canned text
    assert core.get(report.core_id).status is SimStatus.IN_PROCESS


def test_without_auto_answer_tick_does_nothing(core: CoreSimulator, clock: FakeClock) -> None:
    core.submit("complaint-1", {})
    clock.advance(10**6)
    assert core.tick() == []


def test_faults_count_down_and_switch_off(core: CoreSimulator) -> None:
    core.set_faults(FaultMode.UNAVAILABLE, remaining=2)
    assert core.take_fault(FaultMode.UNAVAILABLE)
    assert not core.take_fault(FaultMode.TIMEOUT_AFTER_ACCEPT)
    assert core.take_fault(FaultMode.UNAVAILABLE)
    assert not core.take_fault(FaultMode.UNAVAILABLE)
    assert core.faults.mode is FaultMode.NONE


def test_a_reopened_database_keeps_reports_and_event_ids(tmp_path: Path) -> None:
    first = create_app(tmp_path / "core.db").state.core
    report, _ = first.submit("complaint-1", {})
    first.act(report.core_id, Action.VERIFY)
    instance = first.store.instance_id
    first.store.close()
    second = create_app(tmp_path / "core.db").state.core
    assert second.get(report.core_id).status is SimStatus.VERIFIED
    assert second.store.instance_id == instance
    again, created = second.submit("complaint-1", {})
    assert (again.core_id, created) == (report.core_id, False)
    # a brand-new database gets a different instance, so its event ids never collide
    assert create_app(tmp_path / "other.db").state.core.store.instance_id != instance
