"""The gateway and the SP4N core: every complaint reaches the core exactly once, every answer
reaches every reporter of the cluster exactly once on their own channel, whatever fails."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from gateway.app import create_app
from gateway.clock import utcnow
from gateway.complaints import workflow
from gateway.complaints.tracking import find_code
from gateway.core import sync as core_sync
from gateway.store.db import Database
from gateway.store.models import Complaint, CoreEventLog, OutboxItem, OutboxStatus, Status
from tests.conftest import RunningTelegram, RunningTwilio
from tests.gateway.chat import Chat
from tests.gateway.core_env import CoreEnv, dispose, make_gateway, start_core

ANSWER = "Jalan sudah ditambal oleh tim DPUPR pada 20 November."


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


def _file(env: CoreEnv, channel: str, sender: str, text: str) -> Complaint:
    chat = Chat(env.gateway, channel=channel, sender=sender)
    chat.send("halo")
    chat.send("ya")
    chat.send(text)
    code = find_code(chat.send("kirim")[0])
    with env.gateway.db.read_session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert complaint is not None
        return complaint


def _complaint(env: CoreEnv, complaint_id: int) -> Complaint:
    with env.gateway.db.read_session() as session:
        complaint = session.get(Complaint, complaint_id)
        assert complaint is not None
        return complaint


def test_round_trip_answer_reaches_every_reporter_of_the_cluster(env: CoreEnv) -> None:
    first = _file(
        env,
        "twilio_whatsapp",
        "+6281211110001",
        "Jalan berlubang besar di Jl. Sunan Bonang, Desa Sumbergirang, Lasem",
    )
    second = _file(
        env, "telegram", "7770001", "Jl Sunan Bonang Sumbergirang rusak parah, banyak lubang"
    )
    with env.gateway.db.session() as session:  # the duplicate folded into one cluster
        other = session.get(Complaint, second.id)
        assert other is not None
        workflow.record(
            session, other, actor="user:1", action="clustered", changes={"cluster_id": first.id}
        )
        session.commit()
    env.twilio.fake.reset()
    env.telegram.fake.reset()

    dispose(env.gateway, first.id)
    env.dispatch()
    reports = env.core_reports()
    assert len(reports) == 1 and reports[0]["idempotency_key"] == first.tracking_code
    core_id = reports[0]["id"]
    assert _complaint(env, first.id).core_ref == core_id

    env.core_act(core_id, "verify")
    env.core_act(core_id, "dispose", agency_code="DPUPR")
    env.core_act(core_id, "process")
    env.core_act(core_id, "answer", text=ANSWER)
    assert env.poll() == 4
    env.dispatch()

    assert _complaint(env, first.id).status == Status.ANSWERED
    whatsapp = [m.body for m in env.twilio.fake.sent_to("whatsapp:+6281211110001")]
    assert sum(ANSWER in body for body in whatsapp) == 1
    telegram = [c.params.get("text", "") for c in env.telegram.fake.sent("7770001")]
    assert sum(ANSWER in text for text in telegram) == 1

    # The same events again (a second poll, a push of what was polled): nothing changes.
    assert env.poll() == 0
    env.dispatch()
    assert sum(ANSWER in m.body for m in env.twilio.fake.sent_to("whatsapp:+6281211110001")) == 1


def test_core_down_for_an_hour_queues_and_delivers_once(env: CoreEnv) -> None:
    complaint = _file(env, "twilio_sms", "+6281211110002", "Lampu jalan mati di Jl. Pemuda Rembang")
    dispose(env.gateway, complaint.id)
    assert env.core_admin("PUT", "/faults", {"mode": "unavailable"}).status_code == 200
    now = utcnow()
    for minutes in range(0, 60, 10):  # an hour of retries against a dead core
        env.dispatch(now + timedelta(minutes=minutes))
    with env.gateway.db.read_session() as session:
        row = session.scalar(select(OutboxItem).where(OutboxItem.kind == core_sync.CORE_SUBMIT))
        assert row is not None and row.status == OutboxStatus.PENDING and row.attempts >= 2
        assert "unavailable" in (row.last_error or "")
    env.core_admin("PUT", "/faults", {"mode": "none"})
    env.dispatch(now + timedelta(hours=6))
    assert len(env.core_reports()) == 1
    assert _complaint(env, complaint.id).core_ref


def test_timeout_after_the_core_accepted_files_no_second_report(
    db: Database, db_url: str, tmp_path: Path, twilio: RunningTwilio, telegram: RunningTelegram
) -> None:
    server, core, url = start_core(tmp_path)
    gateway = make_gateway(db, db_url, tmp_path, url, twilio, telegram, core_timeout_seconds=0.3)
    env = CoreEnv(gateway, core, url, twilio, telegram)
    try:
        complaint = _file(env, "twilio_sms", "+6281211110003", "Sampah menumpuk di Pasar Kragan")
        dispose(gateway, complaint.id)
        env.core_admin(
            "PUT", "/faults", {"mode": "timeout_after_accept", "remaining": 1, "delay_seconds": 3}
        )
        env.dispatch()
        env.dispatch(utcnow() + timedelta(hours=1))
        assert len(env.core_reports()) == 1
        assert _complaint(env, complaint.id).core_ref == env.core_reports()[0]["id"]
    finally:
        env.core_admin("PUT", "/faults", {"mode": "none"})
        server.stop()


def test_killed_mid_dispatch_neither_loses_nor_doubles(env: CoreEnv) -> None:
    complaint = _file(env, "twilio_sms", "+6281211110004", "Pohon tumbang di Jl. Gatot Subroto")
    dispose(env.gateway, complaint.id)
    dead = env.gateway.dispatcher("killed-worker")
    claimed = dead.claim()
    assert claimed  # ...and the process dies before delivering anything
    env.dispatch(utcnow() + timedelta(seconds=env.gateway.settings.outbox_lease_seconds + 1))
    assert len(env.core_reports()) == 1

    # Killed after the provider accepted a reply, before recording it: not sent again.
    with env.gateway.db.read_session() as session:
        before = session.scalar(
            select(func.count())
            .select_from(OutboxItem)
            .where(OutboxItem.status == OutboxStatus.SENT)
        )
    chat = Chat(env.gateway, channel="twilio_sms", sender="+6281211110004")
    chat.send("CEK " + complaint.tracking_code)
    reply = chat.last[0]
    import asyncio

    from gateway.outbox.delivery import outbound_from

    dying = env.gateway.dispatcher("dying")
    [claim] = [c for c in dying.claim() if c.item.id == reply.id]
    asyncio.run(env.gateway.channels["twilio_sms"].send(outbound_from(claim.item)))
    env.dispatch(utcnow() + timedelta(seconds=env.gateway.settings.outbox_lease_seconds + 1))
    status_replies = [
        m
        for m in env.twilio.fake.sent_to("+6281211110004")
        if complaint.tracking_code in m.body and "Diperbarui" in m.body
    ]
    assert len(status_replies) == 1
    with env.gateway.db.read_session() as session:
        row = session.get(OutboxItem, reply.id)
        assert row is not None and row.status == OutboxStatus.SENT
        after = session.scalar(
            select(func.count())
            .select_from(OutboxItem)
            .where(OutboxItem.status == OutboxStatus.SENT)
        )
    assert after > before


def _signed(secret: str, body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {
        "X-Core-Timestamp": stamp,
        "X-Core-Signature": f"sha256={digest}",
        "content-type": "application/json",
    }


def test_push_endpoint_checks_signatures_and_applies_once(env: CoreEnv, db: Database) -> None:
    from pydantic import SecretStr

    secret = "push-secret-for-tests"
    settings = env.gateway.settings.model_copy(update={"core_push_secret": SecretStr(secret)})
    env.gateway.settings = settings
    complaint = _file(env, "twilio_sms", "+6281211110005", "Air PDAM mati di Kelurahan Leteh")
    dispose(env.gateway, complaint.id)
    env.dispatch()
    core_id = _complaint(env, complaint.id).core_ref
    event = {
        "event_id": "evt-1",
        "report_id": core_id,
        "kind": "status",
        "status": "in_process",
        "occurred_at": utcnow().isoformat(),
    }
    body = json.dumps({"events": [event]}).encode()
    with TestClient(create_app(settings, env.gateway)) as client:
        assert (
            client.post(
                "/core/events", content=body, headers={"content-type": "application/json"}
            ).status_code
            == 403
        )
        forged = _signed("wrong-secret", body)
        assert client.post("/core/events", content=body, headers=forged).status_code == 403
        garbage = b'{"events": "nope"'
        assert (
            client.post(
                "/core/events", content=garbage, headers=_signed(secret, garbage)
            ).status_code
            == 400
        )
        assert _complaint(env, complaint.id).status == Status.DISPOSED  # nothing changed
        ok = client.post("/core/events", content=body, headers=_signed(secret, body))
        assert ok.status_code == 200, ok.text
        assert _complaint(env, complaint.id).status == Status.IN_PROGRESS
        again = client.post("/core/events", content=body, headers=_signed(secret, body))
        assert again.json()["outcomes"] == ["duplicate"]
    with env.gateway.db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(CoreEventLog)) == 1


def test_feedback_goes_to_the_core_and_tidak_puas_reopens(env: CoreEnv) -> None:
    complaint = _file(env, "twilio_sms", "+6281211110006", "Jalan rusak di Jl. Pemuda Rembang")
    dispose(env.gateway, complaint.id)
    env.dispatch()
    core_id = _complaint(env, complaint.id).core_ref
    assert core_id
    for action in ("verify", "dispose", "process"):
        env.core_act(core_id, action)
    env.core_act(core_id, "answer", text=ANSWER)
    env.poll()
    assert _complaint(env, complaint.id).status == Status.ANSWERED
    chat = Chat(env.gateway, channel="twilio_sms", sender="+6281211110006")
    replies = chat.send("TIDAK PUAS, lubangnya masih ada")
    assert "kami buka kembali" in replies[0]
    assert _complaint(env, complaint.id).status == Status.IN_PROGRESS
    env.dispatch()
    report = next(r for r in env.core_reports() if r["id"] == core_id)
    assert report  # the core has the report; the feedback row went out:
    with env.gateway.db.read_session() as session:
        feedback = session.scalar(
            select(OutboxItem).where(OutboxItem.kind == core_sync.CORE_FEEDBACK)
        )
        assert feedback is not None and feedback.status == OutboxStatus.SENT


def test_a_redisposition_reaches_the_core(env: CoreEnv) -> None:
    from gateway.complaints import actions
    from gateway.store.models import Agency

    complaint = _file(env, "twilio_sms", "+6281211110007", "Lampu jalan mati di Jl. Pemuda Rembang")
    dispose(env.gateway, complaint.id)
    env.dispatch()
    core_id = _complaint(env, complaint.id).core_ref
    assert core_id
    with env.gateway.db.session() as session:
        perkim = Agency(code="DINPERKIM", name="Dinas Perumahan")
        session.add(perkim)
        session.flush()
        row = session.get(Complaint, complaint.id)
        assert row is not None
        actions.redispose(
            env.gateway,
            session,
            row,
            actor="user:1",
            agency_id=perkim.id,
            reason="Lampu jalan urusan Perkim",
        )
        workflow.commit(session)
    env.dispatch()
    report = next(r for r in env.core_reports() if r["id"] == core_id)
    assert report["agency_code"] == "DINPERKIM"
    # The core's event about it comes back and changes nothing on our side.
    env.poll()
    assert _complaint(env, complaint.id).status == Status.DISPOSED
