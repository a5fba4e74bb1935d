"""Every answer reaches SP4N-LAPOR!: what a liaison officer does in the gateway ("sedang
diproses", the answer with its proof photo) and the gateway's closes (the reporter satisfied,
ten silent working days) go to the core exactly once, in order, whatever fails — and nothing
that came from the core is ever sent back to it.

Against the simulator over HTTP on 127.0.0.1 (tests/gateway/core_env.py), on SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import col

from channels.fakes.server import FakeServer
from config.messages import t
from forwarder.rest import parse_events
from gateway.app import create_app
from gateway.clock import utcnow
from gateway.complaints import actions, workflow
from gateway.complaints.tracking import find_code
from gateway.core import sync as core_sync
from gateway.sla import sweeps
from gateway.store.db import Database
from gateway.store.models import (
    Complaint,
    ComplaintEvent,
    CoreEventLog,
    OutboxItem,
    OutboxStatus,
    Status,
)
from tests.conftest import RunningTelegram, RunningTwilio
from tests.gateway.chat import Chat
from tests.gateway.core_dialect import MAPPING_YAML, DialectCore
from tests.gateway.core_env import CoreEnv, dispose, make_gateway, start_core
from tests.images import image_bytes

ANSWER = "Lubang di Jl. Pemuda sudah ditambal tim DPUPR pada 20 November."
PHOTO = image_bytes("JPEG", (16, 12))


@pytest.fixture
def env(
    db: Database, db_url: str, tmp_path: Path, twilio: RunningTwilio, telegram: RunningTelegram
) -> Iterator[CoreEnv]:
    server, core, url = start_core(tmp_path)
    gateway = make_gateway(db, db_url, tmp_path, url, twilio, telegram)
    try:
        yield CoreEnv(gateway, core, url, twilio, telegram)
    finally:
        env_faults(url, "none")
        server.stop()


def env_faults(core_url: str, mode: str) -> None:
    response = httpx.put(f"{core_url}/api/v1/admin/faults", json={"mode": mode}, timeout=10)
    assert response.status_code == 200


def _file(
    env: CoreEnv, sender: str, text: str = "Jalan berlubang besar di Jl. Pemuda Rembang"
) -> int:
    chat = Chat(env.gateway, channel="twilio_sms", sender=sender)
    chat.send("halo")
    chat.send("ya")
    chat.send(text)
    code = find_code(chat.send("kirim")[0])
    with env.gateway.db.read_session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert complaint is not None and complaint.id is not None
        return complaint.id


def _complaint(env: CoreEnv, complaint_id: int) -> Complaint:
    with env.gateway.db.read_session() as session:
        complaint = session.get(Complaint, complaint_id)
        assert complaint is not None
        return complaint


def acknowledge(env: CoreEnv, complaint_id: int) -> None:
    with env.gateway.db.session() as session:
        complaint = session.get(Complaint, complaint_id)
        assert complaint is not None
        actions.acknowledge(env.gateway, session, complaint, actor="user:2")
        workflow.commit(session)


def answer(env: CoreEnv, complaint_id: int, text: str = ANSWER, photo: bool = True) -> None:
    photos = [(env.gateway.files.put(PHOTO, "image/jpeg"), "hasil.jpg")] if photo else []
    with env.gateway.db.session() as session:
        complaint = session.get(Complaint, complaint_id)
        assert complaint is not None
        actions.answer(env.gateway, session, complaint, actor="user:2", text=text, photos=photos)
        workflow.commit(session)


def core_report(env: CoreEnv, core_id: str) -> dict:
    response = httpx.get(f"{env.core_url}/api/v1/reports/{core_id}", timeout=10)
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def rows(env: CoreEnv, kind: str) -> list[OutboxItem]:
    with env.gateway.db.read_session() as session:
        return list(
            session.scalars(
                select(OutboxItem).where(OutboxItem.kind == kind).order_by(OutboxItem.id)
            ).all()
        )


def timeline(env: CoreEnv, complaint_id: int) -> list[str]:
    with env.gateway.db.read_session() as session:
        return list(
            session.scalars(
                select(ComplaintEvent.action)
                .where(ComplaintEvent.complaint_id == complaint_id)
                .order_by(ComplaintEvent.id)
            ).all()
        )


def answers_to(env: CoreEnv, number: str) -> int:
    return sum(ANSWER in m.body for m in env.twilio.fake.sent_to(number))


def test_acknowledge_and_answer_with_a_photo_reach_the_lapor_record(env: CoreEnv) -> None:
    """Dispose → the liaison officer acknowledges → answers with a proof photo: the national
    record shows "sedang diproses", then the answer with the photo (it used to stay
    "Belum Terverifikasi")."""
    complaint_id = _file(env, "+6281211120001")
    dispose(env.gateway, complaint_id)
    env.dispatch()
    core_id = _complaint(env, complaint_id).core_ref
    assert core_id and core_report(env, core_id)["status"] == "unverified"

    acknowledge(env, complaint_id)
    env.dispatch()
    record = core_report(env, core_id)
    assert record["status"] == "in_process"
    assert record["events"][-1]["text"] == "Laporan sedang diproses oleh Dinas Pekerjaan Umum."

    answer(env, complaint_id)
    assert "core_answer_sent" not in timeline(env, complaint_id)  # queued is not sent
    env.dispatch()
    record = core_report(env, core_id)
    assert record["status"] == "answered" and record["status_label"] == "Ditindaklanjuti"
    assert [(e["kind"], e["status"]) for e in record["events"]] == [
        ("status", "in_process"),
        ("answer", "answered"),
    ]
    answered = record["events"][-1]
    assert answered["text"] == ANSWER
    [photo] = answered["attachments"]
    assert (
        photo["content_type"] == "image/jpeg" and photo["filename"] == "lampiran-1.jpg"
    )  # neutral: a file name can name a person
    # The photo travels as a signed link the core can fetch from the gateway.
    with TestClient(create_app(env.gateway.settings, env.gateway)) as gateway_http:
        fetched = gateway_http.get(urlsplit(photo["url"]).path)
    assert fetched.status_code == 200 and fetched.content == PHOTO
    # The simulator's page shows it as LAPOR! would.
    page = httpx.get(f"{env.core_url}/laporan/{core_id}", timeout=10).text
    assert ANSWER in page and f'<img src="{photo["url"]}"' in page

    events = timeline(env, complaint_id)
    assert "core_progress_sent" in events and "core_answer_sent" in events
    assert _complaint(env, complaint_id).core_status == "answered"
    [row] = rows(env, core_sync.CORE_ANSWER)
    assert row.idempotency_key.startswith(f"{_complaint(env, complaint_id).tracking_code}:")
    assert row.status == OutboxStatus.SENT and row.provider_message_id == answered["event_id"]

    # The core's events about our own follow-ups come back (poll): recognised, told to nobody.
    assert env.poll() == 2
    env.dispatch()
    assert answers_to(env, "+6281211120001") == 1
    assert _complaint(env, complaint_id).status == Status.ANSWERED
    with env.gateway.db.read_session() as session:
        outcomes = session.scalars(select(CoreEventLog.outcome).order_by(CoreEventLog.id)).all()
    assert [o.split()[:2] for o in outcomes] == [
        ["own", core_sync.CORE_PROGRESS],
        ["own", core_sync.CORE_ANSWER],
    ]
    assert not [e for e in timeline(env, complaint_id) if e in ("core_status",)]
    # ...and nothing of it goes back to the core.
    assert len(core_report(env, core_id)["events"]) == 2


def test_an_answer_given_while_the_report_is_not_filed_waits_then_goes_in_order(
    env: CoreEnv,
) -> None:
    complaint_id = _file(env, "+6281211120002")
    env_faults(env.core_url, "unavailable")
    dispose(env.gateway, complaint_id)
    acknowledge(env, complaint_id)
    answer(env, complaint_id)
    now = utcnow()
    for minutes in (0, 10, 30):
        env.dispatch(now + timedelta(minutes=minutes))
    [submit] = rows(env, core_sync.CORE_SUBMIT)
    [progress] = rows(env, core_sync.CORE_PROGRESS)
    [waiting] = rows(env, core_sync.CORE_ANSWER)
    assert submit.status == OutboxStatus.PENDING and "unavailable" in (submit.last_error or "")
    assert progress.status == OutboxStatus.PENDING
    assert f"waiting for core_submit #{submit.id}" in (progress.last_error or "")
    assert waiting.status == OutboxStatus.PENDING and waiting.max_attempts >= 50
    assert "core_answer_sent" not in timeline(env, complaint_id)

    env_faults(env.core_url, "none")
    env.dispatch(now + timedelta(hours=3))
    core_id = _complaint(env, complaint_id).core_ref
    assert core_id
    record = core_report(env, core_id)
    assert [(e["kind"], e["status"]) for e in record["events"]] == [
        ("status", "in_process"),
        ("answer", "answered"),
    ]
    assert {r.status for r in rows(env, core_sync.CORE_ANSWER)} == {OutboxStatus.SENT}


def test_killed_between_send_and_record_the_answer_is_not_sent_twice(env: CoreEnv) -> None:
    complaint_id = _file(env, "+6281211120003")
    dispose(env.gateway, complaint_id)
    env.dispatch()
    core_id = _complaint(env, complaint_id).core_ref
    assert core_id
    env_faults(env.core_url, "unavailable")
    answer(env, complaint_id)
    env.dispatch()  # the reporter gets the answer; the core is down, its row waits
    [row] = rows(env, core_sync.CORE_ANSWER)
    assert row.status == OutboxStatus.PENDING
    env_faults(env.core_url, "none")

    later = row.next_attempt_at + timedelta(seconds=1)
    dying = env.gateway.dispatcher("dying")
    [claimed] = dying.claim(later)
    assert claimed.item.kind == core_sync.CORE_ANSWER
    # It reaches the core, and the process dies before recording that.
    handler = env.gateway.handlers[core_sync.CORE_ANSWER]
    assert asyncio.run(handler.deliver(claimed.item)).ok
    assert [e["kind"] for e in core_report(env, core_id)["events"]] == ["answer"]

    # Meanwhile the core's event about it arrives: our own words, not news.
    assert env.poll() == 1
    env.dispatch(later)
    assert answers_to(env, "+6281211120003") == 1

    lease = env.gateway.settings.outbox_lease_seconds
    env.dispatch(later + timedelta(seconds=lease + 1))  # another worker finds the row in flight
    [row] = rows(env, core_sync.CORE_ANSWER)
    assert row.status == OutboxStatus.SENT
    assert [e["kind"] for e in core_report(env, core_id)["events"]] == ["answer"]
    assert answers_to(env, "+6281211120003") == 1


def test_an_answer_from_the_core_is_never_echoed_back(env: CoreEnv) -> None:
    complaint_id = _file(env, "+6281211120004")
    dispose(env.gateway, complaint_id)
    env.dispatch()
    core_id = _complaint(env, complaint_id).core_ref
    assert core_id
    for action in ("verify", "dispose", "process"):
        env.core_act(core_id, action)
    env.core_act(core_id, "answer", text=ANSWER)
    env.core_act(core_id, "close")
    assert env.poll() == 5
    env.dispatch()
    assert answers_to(env, "+6281211120004") == 1
    assert _complaint(env, complaint_id).status == Status.CLOSED
    for kind in core_sync.FOLLOWUPS:
        assert rows(env, kind) == []
    assert all(e.get("origin_key") is None for e in core_report(env, core_id)["events"])


def test_a_pushed_echo_while_the_answer_is_in_flight_is_recognised(env: CoreEnv) -> None:
    """The core pushes its event about our answer before we recorded the answer as sent."""
    complaint_id = _file(env, "+6281211120005")
    dispose(env.gateway, complaint_id)
    env.dispatch()
    core_id = _complaint(env, complaint_id).core_ref
    assert core_id
    env_faults(env.core_url, "unavailable")
    answer(env, complaint_id)
    env.dispatch()
    env_faults(env.core_url, "none")
    [row] = rows(env, core_sync.CORE_ANSWER)
    [claimed] = env.gateway.dispatcher("slow").claim(row.next_attempt_at + timedelta(seconds=1))
    assert asyncio.run(env.gateway.handlers[core_sync.CORE_ANSWER].deliver(claimed.item)).ok
    pushed = parse_events(
        {"events": core_report(env, core_id)["events"]}, strict=True
    )  # what a push carries
    assert core_sync.apply_event(env.gateway, pushed[0], "push").startswith("own core_answer")
    env.dispatch(row.next_attempt_at + timedelta(seconds=2))
    assert answers_to(env, "+6281211120005") == 1
    assert timeline(env, complaint_id).count("answered") == 1  # the liaison's, none from the core


def test_satisfied_reporter_and_silence_close_the_lapor_record(env: CoreEnv) -> None:
    satisfied = _file(env, "+6281211120006")
    silent = _file(env, "+6281211120007", "Lampu jalan mati di Jl. Gatot Subroto Lasem")
    for complaint_id in (satisfied, silent):
        dispose(env.gateway, complaint_id)
    env.dispatch()
    for complaint_id in (satisfied, silent):
        answer(env, complaint_id, photo=False)
    env.dispatch()

    Chat(env.gateway, channel="twilio_sms", sender="+6281211120006").send("PUAS, terima kasih")
    assert _complaint(env, satisfied).status == Status.CLOSED
    result = sweeps.SweepResult()
    sweeps.close_silent(env.gateway, utcnow() + timedelta(days=30), result)
    assert result.closed == 1 and _complaint(env, silent).status == Status.CLOSED
    env.dispatch()

    happy = core_report(env, str(_complaint(env, satisfied).core_ref))
    quiet = core_report(env, str(_complaint(env, silent).core_ref))
    assert (happy["status"], quiet["status"]) == ("closed", "closed")
    assert happy["events"][-1]["text"] == t("id", "core_followup.closed_satisfied")
    assert "10 hari kerja" in quiet["events"][-1]["text"]
    assert [r.idempotency_key.split(":")[1] for r in rows(env, core_sync.CORE_CLOSE)] == [
        core_sync.CORE_CLOSE,
        core_sync.CORE_CLOSE,
    ]
    # The core's closed events come back: nothing changes, nobody is told again.
    assert env.poll() >= 4
    env.dispatch()
    assert "core_close_sent" in timeline(env, silent)


def test_a_member_of_a_cluster_follows_up_the_primary_report(env: CoreEnv) -> None:
    primary = _file(env, "+6281211120008")
    member = _file(env, "+6281211120009", "Jl Pemuda Rembang berlubang parah sekali")
    with env.gateway.db.session() as session:
        row = session.get(Complaint, member)
        assert row is not None
        workflow.record(
            session, row, actor="user:1", action="clustered", changes={"cluster_id": primary}
        )
        session.commit()
    dispose(env.gateway, primary)
    env.dispatch()
    with env.gateway.db.session() as session:
        row = session.get(Complaint, member)
        assert row is not None
        message = core_sync.answer_message(session, row, 99, ANSWER)
        assert message is not None
        head = session.get(Complaint, primary)
        assert head is not None
        assert message.complaint_id == primary
        assert message.key == f"{head.tracking_code}:core_answer:99"
        # A complaint that is in no report at all has nothing to follow up.
        alone = Complaint(tracking_code="LPR-ZZZZZZ", origin_channel="webform")
        session.add(alone)
        session.flush()
        assert core_sync.progress_message(session, alone, 1) is None
        session.rollback()


def test_a_report_that_cannot_be_filed_leaves_its_follow_ups_waiting_then_revived(
    env: CoreEnv,
) -> None:
    """Until the core has the report, a follow-up cannot go; when it waited too long it says
    so, and it goes as soon as the report is filed (a resent dead letter)."""
    complaint_id = _file(env, "+6281211120010")
    dispose(env.gateway, complaint_id)
    acknowledge(env, complaint_id)
    answer(env, complaint_id, photo=False)
    gave_up = {
        core_sync.CORE_SUBMIT: "core rejected: 422",
        core_sync.CORE_PROGRESS: core_sync.NOT_FILED,
        core_sync.CORE_ANSWER: "waiting for core_progress #1 to go first",
    }
    with env.gateway.db.session() as session:  # the submission failed for good
        for row in session.scalars(select(OutboxItem).where(col(OutboxItem.kind).like("core_%"))):
            row.status, row.last_error = OutboxStatus.DEAD, gave_up[row.kind]
            session.add(row)
        session.commit()
    [submit] = rows(env, core_sync.CORE_SUBMIT)
    with env.gateway.db.session() as session:
        from gateway.outbox import queue as outbox

        assert outbox.requeue_dead(session, submit.id)  # type: ignore[arg-type]
        session.commit()
    env.dispatch()
    env.dispatch(utcnow() + timedelta(minutes=1))
    core_id = _complaint(env, complaint_id).core_ref
    assert core_id
    assert [e["kind"] for e in core_report(env, core_id)["events"]] == ["status", "answer"]
    assert [r.status for r in rows(env, core_sync.CORE_ANSWER)] == [OutboxStatus.SENT]


@pytest.mark.parametrize("receipts_are_event_ids", [True, False], ids=["ids", "words"])
def test_the_rest_backend_through_a_mapping_file(
    db: Database,
    db_url: str,
    tmp_path: Path,
    twilio: RunningTwilio,
    telegram: RunningTelegram,
    receipts_are_event_ids: bool,
) -> None:
    """A core with other names (tests/gateway/core_dialect.py) behind CORE_REST_MAPPING_FILE:
    the follow-ups arrive at its paths with its field names and the idempotency key; its events
    about them (which do not name the request) are recognised as our own, while an answer the
    agency wrote in LAPOR! itself still reaches the reporter."""
    dialect = DialectCore(receipts_are_event_ids=receipts_are_event_ids)
    server = FakeServer(dialect.app())
    url = server.start()
    mapping = tmp_path / "core-mapping.yaml"
    mapping.write_text(MAPPING_YAML, "utf-8")
    gateway = make_gateway(
        db,
        db_url,
        tmp_path,
        url,
        twilio,
        telegram,
        core_backend="rest",
        core_rest_mapping_file=mapping,
    )
    env = CoreEnv(gateway, None, url, twilio, telegram)  # type: ignore[arg-type]
    try:
        complaint_id = _file(env, "+6281211120011")
        dispose(gateway, complaint_id)
        env.dispatch()
        core_id = _complaint(env, complaint_id).core_ref
        assert core_id == "8101"
        acknowledge(env, complaint_id)
        answer(env, complaint_id)
        env.dispatch()
        followups = [r for r in dialect.requests if r[1] != "/integrasi/laporan"]
        assert [(path, key.split(":")[1]) for _, path, _, key in followups] == [  # type: ignore[union-attr]
            ("/integrasi/laporan/8101/proses", core_sync.CORE_PROGRESS),
            ("/integrasi/laporan/8101/tindak-lanjut", core_sync.CORE_ANSWER),
        ]
        body = followups[1][2]
        assert body["isi"] == ANSWER
        [photo] = body["lampiran"]
        assert (photo["nama"], photo["tipe"]) == ("lampiran-1.jpg", "image/jpeg")
        assert photo["tautan"].startswith(gateway.settings.public_base_url + "/media/")

        other = "Jawaban tambahan dari instansi langsung di LAPOR!: pengaspalan ulang pekan depan."
        dialect.agency_answers(core_id, other)
        assert env.poll() == 3
        env.dispatch()
        sent = [m.body for m in twilio.fake.sent_to("+6281211120011")]
        assert sum(ANSWER in b for b in sent) == 1
        assert sum(other in b for b in sent) == 1  # news from the core does reach the reporter
        with gateway.db.read_session() as session:
            outcomes = session.scalars(select(CoreEventLog.outcome).order_by(CoreEventLog.id)).all()
        assert [o.split()[0] for o in outcomes] == ["own", "own", "answer"]

        Chat(gateway, channel="twilio_sms", sender="+6281211120011").send("PUAS")
        env.dispatch()
        _method, path, body, _key = dialect.requests[-1]
        assert (path, body) == (
            "/integrasi/laporan/8101/tutup",
            {"alasan": t("id", "core_followup.closed_satisfied")},
        )
        assert env.poll() == 1  # the core's "closed" about our close: our own, nothing to do
        assert _complaint(env, complaint_id).status == Status.CLOSED
        # Nothing that came from the core went back to it.
        assert len([r for r in dialect.requests if r[1] != "/integrasi/laporan"]) == 3
    finally:
        server.stop()
