"""A cluster is one case (issue 10, section 1; docs/clusters.md): reporters of the same problem
share one lifecycle — one verification, one report to the core, one answer fanned out, anyone's
feedback counts, each reporter told each thing once — and unclustering gives a complaint back its
own life. Each test reproduces what was seen live before the case existed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.admin import inbox
from gateway.app import create_app
from gateway.complaints import feedback, lifecycle, workflow
from gateway.context import Gateway
from gateway.sla import deadlines, sweeps
from gateway.store.db import Database
from gateway.store.models import Complaint, OutboxItem, Status
from tests.conftest import RunningTelegram, RunningTwilio
from tests.gateway import clusters
from tests.gateway.clusters import ANSWER, Reporter
from tests.gateway.core_env import CoreEnv, make_gateway, start_core

S = Status
SMS = "twilio_sms"
WA = "twilio_whatsapp"


def _case_of_three(gateway: Gateway, client: TestClient) -> list[Reporter]:
    """One pothole, three reporters: SMS first (the primary), then WhatsApp and the web form."""
    first = clusters.by_chat(gateway, SMS, "+6281210000001")
    second = clusters.by_chat(gateway, WA, "+6281210000002")
    third, _link = clusters.by_web(client)
    return [first, second, third]


def _inbox(gateway: Gateway, **query: str) -> inbox.InboxPage:
    from gateway.api.admin_deps import clock as inbox_clock

    clock = inbox_clock(gateway)
    with gateway.db.read_session() as session:
        return inbox.list_page(
            session,
            inbox.InboxFilter.from_query(query),
            inbox.EVERYTHING,
            clock,
            page_size=50,
            count_cap=5000,
        )


@pytest.fixture
def agency(gateway: Gateway) -> int:
    return clusters.directory(gateway)


def test_members_follow_the_primary_out_of_the_verification_queue(
    client: TestClient, gateway: Gateway, agency: int
) -> None:
    primary, *members = _case_of_three(gateway, client)
    for member in members:
        assert clusters.complaint(gateway, member.code).cluster_id == (
            clusters.complaint(gateway, primary.code).id
        )
    clusters.verify(gateway, primary.code)
    clusters.dispose(gateway, primary.code, agency)
    clusters.answer(gateway, primary.code)

    case = clusters.complaint(gateway, primary.code)
    assert case.status == S.ANSWERED
    for member in members:
        followed = clusters.complaint(gateway, member.code)
        # Seen: "Diterima" in the verification queue with a verification deadline.
        assert followed.status == S.ANSWERED, member.code
        assert (followed.agency_id, followed.category) == (case.agency_id, case.category)
        assert (followed.answer_due_at, followed.feedback_due_at) == (
            case.answer_due_at,
            case.feedback_due_at,
        )
        assert followed.core_ref is None
        assert "follows_case" in clusters.actions_of(gateway, member.code)
    assert _inbox(gateway, status="received").rows == []
    assert _inbox(gateway, status="verified").rows == []


def test_the_inbox_shows_a_case_as_one_row_with_its_reporter_count(
    client: TestClient, gateway: Gateway, agency: int
) -> None:
    primary, second, third = _case_of_three(gateway, client)
    page = _inbox(gateway)
    assert [(r.tracking_code, r.reporters) for r in page.rows] == [(primary.code, 3)]
    assert page.status_counts["all"].value == 1 and page.status_counts["received"].value == 1
    # The followers stay reachable: by their code, and with the duplicates filter.
    assert [r.tracking_code for r in _inbox(gateway, q=second.code).rows] == [second.code]
    assert {r.tracking_code for r in _inbox(gateway, duplicates="1").rows} == {
        primary.code,
        second.code,
        third.code,
    }


def test_the_sweeps_act_on_the_case_once(client: TestClient, gateway: Gateway, agency: int) -> None:
    primary, *_members = _case_of_three(gateway, client)
    clusters.verify(gateway, primary.code)
    clusters.dispose(gateway, primary.code, agency)
    overdue = clusters.complaint(gateway, primary.code).answer_due_at + timedelta(days=1)  # type: ignore[operator]
    result = sweeps.run(gateway, overdue, with_digest=False)
    # One overdue reminder per liaison officer (two), not one per reporter's complaint.
    assert (result.reminders, result.escalated) == (2, 1)
    assert clusters.outbox_kinds(gateway)["notify_liaison"] == 2 + 2  # disposed + overdue
    assert sweeps.run(gateway, overdue + timedelta(days=1), with_digest=False).escalated == 0
    for reporter in _members:
        assert clusters.complaint(gateway, reporter.code).escalated is True


def test_the_core_gets_one_report_and_each_reporter_each_notice_once_whatever_the_admin_clicks(
    client: TestClient, gateway: Gateway, agency: int
) -> None:
    reporters = _case_of_three(gateway, client)
    codes = [r.code for r in reporters]
    # Seen: the admin works the queue and verifies and disposes every complaint in it.
    refused = clusters.work_the_queue(gateway, codes, agency)
    assert sorted(set(refused)) == sorted(codes[1:])
    kinds = clusters.outbox_kinds(gateway)
    assert kinds["core_submit"] == 1
    assert kinds["notify_liaison"] == 2  # DPUPR's two liaison officers, once
    counts = clusters.notices_per_reporter_and_event(gateway)
    assert set(counts.values()) == {1}
    for reporter in reporters:
        told = clusters.texts_to(gateway, reporter)
        assert sum("sudah diverifikasi" in t for t in told) == 1, (reporter.code, told)
        assert sum("sudah diteruskan ke" in t for t in told) == 1, (reporter.code, told)


def test_forty_clustered_complaints_give_each_reporter_each_notice_once(
    gateway: Gateway, agency: int
) -> None:
    reporters = [clusters.by_chat(gateway, SMS, f"+62812200{n:05d}") for n in range(40)]
    codes = [r.code for r in reporters]
    root = clusters.complaint(gateway, codes[0]).id
    assert all(clusters.complaint(gateway, c).cluster_id == root for c in codes[1:])
    clusters.work_the_queue(gateway, codes, agency)
    clusters.act(gateway, codes[0], "acknowledge")
    clusters.answer(gateway, codes[0])
    counts = clusters.notices_per_reporter_and_event(gateway)
    # Seen: 40 clustered complaints produced 3,200 reply rows.
    assert set(counts.values()) == {1}
    events = {event.split(":")[0] for (_c, _a, event) in counts}
    assert events == {"verified", "disposed", "in_progress", "answered"}
    assert len(counts) == 40 * 4
    for reporter in reporters:
        mine = [e for (_c, address, e) in counts if address == reporter.address]
        assert len(mine) == 4, reporter.code
    assert clusters.outbox_kinds(gateway)["core_submit"] == 1


def test_an_admin_action_on_a_member_is_refused_and_names_the_primary(
    app, gateway: Gateway, agency: int
) -> None:  # type: ignore[no-untyped-def]
    from tests.gateway.admin.conftest import Admin, login

    with TestClient(app, base_url="http://127.0.0.1:8000") as browser:
        primary = clusters.by_chat(gateway, SMS, "+6281210000011")
        member = clusters.by_chat(gateway, WA, "+6281210000012")
        with gateway.db.session() as session:
            from gateway.admin import accounts as auth
            from gateway.store.models import Role

            auth.create_user(session, "koor", "correct horse battery", role=Role.KOORDINATOR)
            auth.create_user(
                session, "pupr", "correct horse battery", role=Role.LIAISON, agency_id=agency
            )
            session.commit()
        assert login(browser, "koor", "correct horse battery").status_code == 303
        koor = Admin(browser)
        before = clusters.outbox_kinds(gateway)
        response = koor.act(
            member.code,
            "verify",
            {
                "relevant": "1",
                "complete": "1",
                "clear": "1",
                "title": "Jalan berlubang",
                "category": "pengaduan",
            },
        )
        assert response.status_code == 409
        assert f"mengikuti kasus {primary.code}" in response.text
        assert f'href="/admin/complaints/{primary.code}"' in response.text
        assert clusters.complaint(gateway, member.code).status == S.RECEIVED
        assert clusters.outbox_kinds(gateway) == before
        # The follower's page offers only what concerns its own reporter.
        page = browser.get(f"/admin/complaints/{member.code}").text
        assert 'id="case-follows"' in page and 'id="form-verify"' not in page
        assert 'id="form-uncluster"' in page and 'id="form-reply"' in page
        primary_page = browser.get(f"/admin/complaints/{primary.code}").text
        assert 'id="case-reporters"' in primary_page and member.code in primary_page

        clusters.verify(gateway, primary.code)
        clusters.dispose(gateway, primary.code, agency)
        browser.cookies.clear()
        assert login(browser, "pupr", "correct horse battery").status_code == 303
        liaison = Admin(browser)
        version = str(clusters.complaint(gateway, member.code).version)
        response = liaison.post(
            f"/admin/complaints/{member.code}/answer", {"version": version, "text": ANSWER}
        )
        assert response.status_code == 409 and primary.code in response.text
        assert clusters.complaint(gateway, primary.code).status == S.DISPOSED


def test_one_unhappy_reporter_reopens_the_case_and_everyone_is_told_once(
    client: TestClient, gateway: Gateway, agency: int
) -> None:
    primary, second, third = _case_of_three(gateway, client)
    clusters.verify(gateway, primary.code)
    clusters.dispose(gateway, primary.code, agency)
    clusters.answer(gateway, primary.code)
    # Seen: a member's TIDAK PUAS stored as "Tambahan dari pelapor" and ignored.
    said = second.says("TIDAK PUAS, lubangnya masih ada")
    assert (
        said[-1] == f"Terima kasih. Laporan {second.code} kami buka kembali untuk ditindaklanjuti."
    )
    assert "reporter_message" not in clusters.actions_of(gateway, second.code)
    for reporter in (primary, second, third):
        assert clusters.complaint(gateway, reporter.code).status == S.IN_PROGRESS
    assert "reopened" in clusters.actions_of(gateway, primary.code)
    for reporter in (primary, third):
        told = clusters.texts_to(gateway, reporter)
        assert sum("dibuka kembali" in t for t in told) == 1, told
    assert sum("buka kembali" in t for t in clusters.texts_to(gateway, second)) == 1
    assert set(clusters.notices_per_reporter_and_event(gateway).values()) == {1}


def test_puas_from_every_reporter_closes_the_case(
    client: TestClient, gateway: Gateway, agency: int
) -> None:
    primary, second, third = _case_of_three(gateway, client)
    clusters.verify(gateway, primary.code)
    clusters.dispose(gateway, primary.code, agency)
    clusters.answer(gateway, primary.code)
    assert (
        second.says("PUAS")[-1] == f"Terima kasih atas tanggapan Anda untuk laporan {second.code}."
    )
    assert clusters.complaint(gateway, primary.code).status == S.ANSWERED  # waits for the others
    primary.says("puas, terima kasih")
    assert clusters.complaint(gateway, primary.code).status == S.ANSWERED
    with gateway.db.session() as session:
        web = session.scalar(select(Complaint).where(Complaint.tracking_code == third.code))
        assert web is not None
        result = feedback.give(gateway, session, web, "PUAS", key="web:test", satisfied=True)
        workflow.commit(session)
    assert result.outcome is feedback.Outcome.CLOSED
    for reporter in (primary, second, third):
        assert clusters.complaint(gateway, reporter.code).status == S.CLOSED
    # The two who answered first hear that the case is done, once; nobody hears "no response".
    for reporter in (primary, second):
        told = clusters.texts_to(gateway, reporter)
        assert sum("sudah selesai. Terima kasih" in t for t in told) == 1, told
    assert not any(
        "tidak ada tanggapan" in t
        for r in (primary, second, third)
        for t in clusters.texts_to(gateway, r)
    )


def test_nobody_is_told_no_response_when_a_reporter_of_the_case_answered(
    client: TestClient, gateway: Gateway, agency: int
) -> None:
    primary, second, third = _case_of_three(gateway, client)
    clusters.verify(gateway, primary.code)
    clusters.dispose(gateway, primary.code, agency)
    clusters.answer(gateway, primary.code)
    second.says("PUAS")
    window = clusters.complaint(gateway, primary.code).feedback_due_at
    assert window is not None
    result = sweeps.run(gateway, window + timedelta(days=1), with_digest=False)
    assert result.closed == 1  # the case, not each complaint
    for reporter in (primary, second, third):
        assert clusters.complaint(gateway, reporter.code).status == S.CLOSED
        told = clusters.texts_to(gateway, reporter)
        # Seen: "ditutup karena tidak ada tanggapan", which was false.
        assert not any("tidak ada tanggapan" in t for t in told), told
        assert sum("tanggapan pelapor atas jawaban itu sudah kami terima" in t for t in told) == 1


def test_a_silent_case_closes_once_for_every_reporter(
    client: TestClient, gateway: Gateway, agency: int
) -> None:
    reporters = _case_of_three(gateway, client)
    clusters.verify(gateway, reporters[0].code)
    clusters.dispose(gateway, reporters[0].code, agency)
    clusters.answer(gateway, reporters[0].code)
    window = clusters.complaint(gateway, reporters[0].code).feedback_due_at
    assert sweeps.run(gateway, window + timedelta(days=1), with_digest=False).closed == 1  # type: ignore[operator]
    assert sweeps.run(gateway, window + timedelta(days=2), with_digest=False).closed == 0  # type: ignore[operator]
    for reporter in reporters:
        told = clusters.texts_to(gateway, reporter)
        assert sum("tidak ada tanggapan" in t for t in told) == 1, told


def test_a_reporter_joining_an_answered_case_gets_the_answer_and_can_respond(
    client: TestClient, gateway: Gateway, agency: int
) -> None:
    primary = clusters.by_chat(gateway, SMS, "+6281210000021")
    clusters.verify(gateway, primary.code)
    clusters.dispose(gateway, primary.code, agency)
    clusters.answer(gateway, primary.code)
    late = clusters.by_chat(gateway, WA, "+6281210000022")
    joined = clusters.complaint(gateway, late.code)
    case = clusters.complaint(gateway, primary.code)
    assert (joined.cluster_id, joined.status) == (case.id, S.ANSWERED)
    assert joined.feedback_due_at == case.feedback_due_at
    told = clusters.texts_to(gateway, late)
    assert sum(ANSWER in t for t in told) == 1, told
    assert late.says("TIDAK PUAS")[0].startswith("Terima kasih. Laporan")
    assert clusters.complaint(gateway, primary.code).status == S.IN_PROGRESS


def test_a_reporter_joining_a_disposed_case_is_told_where_it_stands(
    gateway: Gateway, agency: int
) -> None:
    primary = clusters.by_chat(gateway, SMS, "+6281210000031")
    clusters.verify(gateway, primary.code)
    clusters.dispose(gateway, primary.code, agency)
    late = clusters.by_chat(gateway, SMS, "+6281210000032")
    assert clusters.complaint(gateway, late.code).status == S.DISPOSED
    told = clusters.texts_to(gateway, late)
    assert sum("satu kasus" in t and "Diteruskan ke instansi" in t for t in told) == 1, told


def test_any_reporter_answering_the_admins_question_resumes_the_case(
    gateway: Gateway, agency: int
) -> None:
    primary = clusters.by_chat(gateway, SMS, "+6281210000041")
    member = clusters.by_chat(gateway, SMS, "+6281210000042")
    clusters.act(gateway, primary.code, "pend", question="Di sebelah mana tepatnya lubangnya?")
    assert clusters.complaint(gateway, member.code).status == S.PENDING
    member.says("Di depan balai desa Sumbergirang")
    assert clusters.complaint(gateway, primary.code).status == S.RECEIVED
    assert clusters.complaint(gateway, member.code).status == S.RECEIVED


def test_unclustering_gives_a_member_back_its_own_life(
    client: TestClient, gateway: Gateway, agency: int
) -> None:
    primary, member, _web = _case_of_three(gateway, client)
    clusters.act(gateway, primary.code, "pend", question="Di sebelah mana tepatnya lubangnya?")
    member.says("Di depan balai desa Sumbergirang")  # the case resumes
    clusters.verify(gateway, primary.code)
    clusters.dispose(gateway, primary.code, agency)
    assert clusters.complaint(gateway, member.code).status == S.DISPOSED

    clusters.act(gateway, member.code, "uncluster")
    alone = clusters.complaint(gateway, member.code)
    assert (alone.status, alone.cluster_id, alone.agency_id) == (S.RECEIVED, None, None)
    assert (alone.verified_at, alone.disposed_at, alone.answer_due_at) == (None, None, None)
    with gateway.db.read_session() as session:
        own = deadlines.compute(session, alone, gateway.calendar, gateway.sla_policy)
        timeline = deadlines.timeline_of(session, alone)
    assert alone.verify_due_at == own.verify_due
    # What it mirrored is not its history: no pause from the case's pending, no disposition.
    assert not timeline.pauses and timeline.disposed_at is None
    assert "member_left" in clusters.actions_of(gateway, primary.code)
    assert alone.tracking_code in {r.tracking_code for r in _inbox(gateway, status="received").rows}

    before = len(clusters.texts_to(gateway, member))
    clusters.answer(gateway, primary.code)
    assert len(clusters.texts_to(gateway, member)) == before  # no more case notices
    assert clusters.complaint(gateway, member.code).status == S.RECEIVED
    with pytest.raises(lifecycle.NotAFollower), gateway.db.session() as session:
        again = session.scalar(select(Complaint).where(Complaint.tracking_code == member.code))
        lifecycle.leave(gateway, session, again, actor="user:1")  # type: ignore[arg-type]


def test_a_primary_with_followers_cannot_be_merged_away(
    client: TestClient, gateway: Gateway, agency: int
) -> None:
    from gateway.complaints import actions

    primary, _member, _web = _case_of_three(gateway, client)
    other = clusters.by_chat(
        gateway, SMS, "+6281210000051", "Lampu jalan di Desa Leteh Kecamatan Rembang mati total"
    )
    with pytest.raises(actions.ActionInvalid) as refused:
        clusters.act(gateway, primary.code, "merge", target=clusters.complaint(gateway, other.code))
    assert refused.value.key == "merge_has_followers"


# --- the round trip through the SP4N core simulator ----------------------------------------------


@pytest.fixture
def env(
    db: Database, db_url: str, tmp_path: Path, twilio: RunningTwilio, telegram: RunningTelegram
) -> Iterator[CoreEnv]:
    server, core, url = start_core(tmp_path)
    gateway = make_gateway(db, db_url, tmp_path, url, twilio, telegram)
    try:
        yield CoreEnv(gateway, core, url, twilio, telegram)
    finally:
        server.stop()


def test_round_trip_one_report_one_answer_and_every_reporters_feedback_reaches_the_core(
    env: CoreEnv,
) -> None:
    gateway = env.gateway
    agency = clusters.directory(gateway)
    with TestClient(create_app(gateway.settings, gateway), base_url="http://127.0.0.1:8000") as c:
        primary, second, third = _case_of_three(gateway, c)
    clusters.work_the_queue(gateway, [primary.code, second.code, third.code], agency)
    env.dispatch()
    reports = env.core_reports()
    assert len(reports) == 1 and reports[0]["idempotency_key"] == primary.code  # seen: two
    core_id = reports[0]["id"]
    for action, body in (("verify", {}), ("dispose", {"agency_code": "DPUPR"})):
        env.core_act(core_id, action, **body)
    env.core_act(core_id, "process")
    env.core_act(core_id, "answer", text=ANSWER)
    env.poll()
    env.dispatch()
    for reporter in (primary, second, third):
        assert clusters.complaint(gateway, reporter.code).status == S.ANSWERED
    sms = [m.body for m in env.twilio.fake.sent_to("+6281210000001")]
    whatsapp = [m.body for m in env.twilio.fake.sent_to("whatsapp:+6281210000002")]
    assert sum(ANSWER in b for b in sms) == 1 and sum(ANSWER in b for b in whatsapp) == 1

    second.says("PUAS")
    primary.says("TIDAK PUAS")
    env.dispatch()
    told = env.core.store.feedback_of(core_id)
    assert sorted(f.text for f in told) == ["PUAS", "TIDAK PUAS"]
    assert clusters.complaint(gateway, third.code).status == S.IN_PROGRESS
    with gateway.db.read_session() as session:
        feedback_rows = session.scalars(
            select(OutboxItem).where(OutboxItem.kind == "core_feedback")
        ).all()
    assert {row.payload["core_id"] for row in feedback_rows} == {core_id}


def test_a_followers_public_page_tells_the_cases_story(
    client: TestClient, gateway: Gateway, agency: int
) -> None:
    """Merged with the allow-list of public events: a follower's /status shows that it joined a
    case and the case's own public steps (the answer included), never the mirrored bookkeeping
    or another reporter's receipt."""
    primary, second, _third = _case_of_three(gateway, client)
    clusters.verify(gateway, primary.code)
    clusters.dispose(gateway, primary.code, agency)
    clusters.answer(gateway, primary.code)
    shown = client.get(f"/api/v1/complaints/{second.code}").json()
    labels = [entry["label"] for entry in shown["history"]]
    assert shown["status"] == S.ANSWERED
    assert labels[0] == "Laporan diterima" and labels.count("Laporan diterima") == 1
    assert "Laporan digabung dengan laporan warga lain tentang masalah yang sama" in labels[1]
    assert "Laporan diverifikasi" in labels and "Instansi memberikan jawaban" in labels
    answered = next(e for e in shown["history"] if e["label"] == "Instansi memberikan jawaban")
    assert answered["note"] == ANSWER
    assert all("follows" not in label and "Mengikuti" not in label for label in labels)
    with gateway.db.session() as session:
        follower = session.scalar(select(Complaint).where(Complaint.tracking_code == second.code))
        assert follower is not None
        lifecycle.leave(gateway, session, follower, actor="user:1")
        workflow.commit(session)
    alone = client.get(f"/api/v1/complaints/{second.code}").json()
    labels = [entry["label"] for entry in alone["history"]]
    assert labels[-1] == "Laporan dipisahkan dari kasus dan ditangani tersendiri"
    assert "Instansi memberikan jawaban" not in labels
