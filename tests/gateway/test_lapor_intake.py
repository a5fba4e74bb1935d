"""Reports filed directly in SP4N-LAPOR! land in the one inbox (issue 17): a citizen files in the
simulated LAPOR!, its national admin disposes the report to the regency, and the gateway takes
it as a complaint of channel `lapor` — by poll or push, once per LAPOR! id — which the admin
then works with the SOP actions that go back into LAPOR! (verify, dispose, return, archive,
ask the reporter), up to the liaison officer's answer shown in LAPOR!.

Against the simulator over HTTP on 127.0.0.1 (tests/gateway/core_env.py), on SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import col

from forwarder.base import CoreAttachment, IncomingReport, UnreadableReport
from gateway.complaints import actions, lifecycle, workflow
from gateway.core import intake
from gateway.core import sync as core_sync
from gateway.store.db import Database
from gateway.store.models import (
    Agency,
    Attachment,
    Complaint,
    ComplaintEvent,
    InboundMessage,
    InboundStatus,
    OutboxItem,
    OutboxStatus,
    Status,
)
from tests.conftest import RunningTelegram, RunningTwilio
from tests.gateway.chat import Chat
from tests.gateway.core_env import CoreEnv, make_gateway, start_core

TEXT = "Jalan di depan SD Negeri 2 Leteh berlubang besar dan membahayakan pengendara motor."
ANSWER = "Lubang di depan SD Negeri 2 sudah ditambal tim DPUPR pada 20 November."


@pytest.fixture
def env(
    db: Database, db_url: str, tmp_path: Path, twilio: RunningTwilio, telegram: RunningTelegram
) -> Iterator[CoreEnv]:
    server, core, url = start_core(tmp_path)
    gateway = make_gateway(db, db_url, tmp_path, url, twilio, telegram)
    with gateway.db.session() as session:
        session.add(Agency(code="DPUPR", name="Dinas Pekerjaan Umum", keywords=["jalan"]))
        session.add(Agency(code="DINKES", name="Dinas Kesehatan", keywords=["puskesmas"]))
        session.commit()
    try:
        yield CoreEnv(gateway, core, url, twilio, telegram)
    finally:
        server.stop()


def file_in_lapor(env: CoreEnv, key: str, **fields: object) -> str:
    """A citizen files in LAPOR! itself and its national admin disposes it to the regency."""
    payload: dict[str, object] = {
        "title": "Jalan berlubang",
        "description": TEXT,
        "category": "pengaduan",
        "topic": "Infrastruktur",
        "source_channel": "sms1708",
        "location_text": "Jl. Pemuda depan SD Negeri 2",
        "kecamatan": "Rembang",
        "kelurahan": "Leteh",
        "reporter_name": "Siti Aminah",
        "reporter_contact": "+6281234500001",
        "anonim": False,
        "rahasia": False,
        **fields,
    }
    report, _created = env.core.file_report(key, payload)
    env.core.dispose_to_regency(report.core_id)
    return report.core_id


def poll_intake(env: CoreEnv) -> int:
    return asyncio.run(intake.poll_incoming(env.gateway))


def lapor_complaints(env: CoreEnv) -> list[Complaint]:
    with env.gateway.db.read_session() as session:
        return list(
            session.scalars(
                select(Complaint).where(Complaint.origin_channel == "lapor").order_by(Complaint.id)
            ).all()
        )


def by_code(env: CoreEnv, code: str) -> Complaint:
    with env.gateway.db.read_session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert complaint is not None
        return complaint


def act(env: CoreEnv, code: str, action, **kwargs: object) -> None:  # type: ignore[no-untyped-def]
    with env.gateway.db.session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert complaint is not None
        action(env.gateway, session, complaint, **kwargs)
        workflow.commit(session)


def verify(env: CoreEnv, code: str) -> None:
    act(
        env,
        code,
        actions.verify,
        actor="user:1",
        relevant=True,
        complete=True,
        clear=True,
        title="Jalan berlubang di Leteh",
        category="pengaduan",
    )


def agency_id(env: CoreEnv, code: str) -> int:
    with env.gateway.db.read_session() as session:
        found = session.scalar(select(Agency.id).where(Agency.code == code))
        assert found is not None
        return found


def kinds(env: CoreEnv) -> list[str]:
    with env.gateway.db.read_session() as session:
        return list(session.scalars(select(OutboxItem.kind).order_by(OutboxItem.id)).all())


def core_report(env: CoreEnv, core_id: str) -> dict:
    response = httpx.get(f"{env.core_url}/api/v1/reports/{core_id}", timeout=10)
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def test_a_report_filed_in_lapor_joins_the_inbox_once_and_round_trips(env: CoreEnv) -> None:
    """File in LAPOR! → disposed to the regency → polled in as `lapor` (once, however often it
    is seen) → verify → dispose → the liaison officer answers → the answer is in LAPOR!."""
    core_id = file_in_lapor(env, "warga-1")
    assert poll_intake(env) == 1
    assert poll_intake(env) == 0  # the cursor moved: nothing new
    # The same report announced by the event feed (`incoming`) is the same complaint.
    env.poll()
    [complaint] = lapor_complaints(env)
    assert complaint.core_ref == core_id and complaint.core_status == "unverified"
    assert complaint.status == Status.RECEIVED and complaint.title == "Jalan berlubang"
    assert complaint.category == "pengaduan" and complaint.source == "sms1708"
    assert complaint.reply_channel is None and complaint.reply_address is None
    assert complaint.kelurahan == "Leteh" and complaint.verify_due_at is not None
    code = complaint.tracking_code

    verify(env, code)
    act(env, code, actions.dispose, actor="user:1", agency_id=agency_id(env, "DPUPR"))
    # Never filed a second time: the verification and disposition go to the LAPOR! record.
    assert core_sync.CORE_SUBMIT not in kinds(env)
    assert [k for k in kinds(env) if k.startswith("core_")] == ["core_verify", "core_dispose"]
    assert "reply" not in kinds(env)  # LAPOR!'s citizen has no chat to be told on
    env.dispatch()
    record = core_report(env, core_id)
    assert record["status"] == "disposed" and record["agency_code"] == "DPUPR"
    # The core's events about our own actions come back: recognised, not news.
    env.poll()
    assert by_code(env, code).status == Status.DISPOSED

    act(env, code, actions.acknowledge, actor="user:2")
    act(env, code, actions.answer, actor="user:2", text=ANSWER)
    env.dispatch()
    record = core_report(env, core_id)
    assert record["status"] == "answered"
    assert [e["text"] for e in record["events"] if e["kind"] == "answer"] == [ANSWER]
    page = httpx.get(f"{env.core_url}/warga/laporan/{core_id}", timeout=10).text
    assert "ditambal tim DPUPR" in page
    with env.gateway.db.read_session() as session:
        sent = session.scalars(select(OutboxItem).where(col(OutboxItem.kind).like("core_%"))).all()
        assert {r.status for r in sent} == {OutboxStatus.SENT}
        assert not session.scalars(select(OutboxItem).where(OutboxItem.kind == "reply")).all()


def test_anonymous_report_keeps_no_name_and_raw_json_is_kept(env: CoreEnv) -> None:
    core_id = file_in_lapor(env, "warga-anon", anonim=True, reporter_name="Budi")
    poll_intake(env)
    [complaint] = lapor_complaints(env)
    assert complaint.anonim and complaint.reporter_id is None
    with env.gateway.db.read_session() as session:
        row = session.scalar(select(InboundMessage).where(InboundMessage.channel == "lapor"))
        assert row is not None and row.external_id == f"lapor:{core_id}"
        assert row.sender_name is None and "Budi" not in row.raw_payload
        assert core_id in row.raw_payload


def test_the_deadline_counts_from_the_disposition_to_the_regency(env: CoreEnv) -> None:
    """Filed weeks before LAPOR!'s national admin disposed it: none of that is the regency's."""
    filed = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    disposed = datetime(2026, 3, 23, 2, 0, tzinfo=UTC)
    report = IncomingReport(
        core_id="5009001",
        title="",
        description=TEXT,
        received_at=filed,
        disposed_at=disposed,
        category="pengaduan",
        raw={"id": "5009001"},
    )
    with env.gateway.db.session() as session:
        intake.take_lapor_report(env.gateway, session, report, "poll", now=disposed)
        workflow.commit(session)
    [complaint] = lapor_complaints(env)
    assert complaint.received_at.replace(tzinfo=UTC) == filed
    assert complaint.verify_due_at is not None
    assert complaint.verify_due_at.replace(tzinfo=UTC) > disposed
    assert complaint.title  # SMS 1708 reports have none: the normalizer titles it


def test_unreadable_report_is_kept_raw_then_replaced_by_a_readable_listing(env: CoreEnv) -> None:
    bad = UnreadableReport(error="no text", raw={"id": "5009002", "isi": ""}, core_id="5009002")
    assert intake.take(env.gateway, bad, "poll").outcome == "unreadable"
    assert intake.take(env.gateway, bad, "poll").outcome == "known"
    with env.gateway.db.read_session() as session:
        [row] = session.scalars(select(InboundMessage).where(InboundMessage.channel == "lapor"))
        assert row.status == InboundStatus.UNREADABLE and "no text" in (row.last_error or "")
    assert lapor_complaints(env) == []
    good = IncomingReport(
        core_id="5009002",
        title="Sampah",
        description="Sampah menumpuk di pasar Rembang sejak seminggu.",
        received_at=datetime(2026, 3, 2, tzinfo=UTC),
        raw={"id": "5009002"},
    )
    assert intake.take(env.gateway, good, "poll").outcome == "replaced unreadable"
    [complaint] = lapor_complaints(env)
    with env.gateway.db.read_session() as session:
        [row] = session.scalars(select(InboundMessage).where(InboundMessage.channel == "lapor"))
        assert row.status == InboundStatus.PROCESSED and row.complaint_id == complaint.id


def test_ask_the_reporter_through_lapor_and_their_reply_resumes(env: CoreEnv) -> None:
    core_id = file_in_lapor(env, "warga-ask")
    poll_intake(env)
    [complaint] = lapor_complaints(env)
    act(env, complaint.tracking_code, actions.pend, actor="user:1", question="Di RT berapa?")
    assert kinds(env)[-1] == core_sync.CORE_ASK
    env.dispatch()
    assert core_report(env, core_id)["status"] == "pending"
    env.core.reporter_reply(core_id, "RT 03 RW 02, dekat pos ronda.")
    env.poll()
    resumed = by_code(env, complaint.tracking_code)
    assert resumed.status == Status.RECEIVED
    with env.gateway.db.read_session() as session:
        notes = session.scalars(
            select(ComplaintEvent.note).where(ComplaintEvent.complaint_id == resumed.id)
        ).all()
    assert "RT 03 RW 02, dekat pos ronda." in notes


def test_return_to_the_national_admin_and_disposed_back_reopens(env: CoreEnv) -> None:
    core_id = file_in_lapor(env, "warga-ret")
    poll_intake(env)
    [complaint] = lapor_complaints(env)
    act(
        env,
        complaint.tracking_code,
        actions.return_complaint,
        actor="user:1",
        reason="Jalan nasional",
    )
    env.dispatch()
    assert core_report(env, core_id)["status"] == "returned"
    env.poll()
    assert by_code(env, complaint.tracking_code).status == Status.RETURNED
    env.core.dispose_to_regency(core_id)  # the national admin sends it back
    env.poll()
    assert by_code(env, complaint.tracking_code).status == Status.RECEIVED
    assert len(lapor_complaints(env)) == 1


def test_archive_goes_to_lapor(env: CoreEnv) -> None:
    core_id = file_in_lapor(env, "warga-arsip")
    poll_intake(env)
    [complaint] = lapor_complaints(env)
    act(env, complaint.tracking_code, actions.archive, actor="user:1", reason="Iklan")
    env.dispatch()
    assert core_report(env, core_id)["status"] == "archived"


def test_whatsapp_and_lapor_about_one_problem_are_one_case_with_the_lapor_record(
    env: CoreEnv,
) -> None:
    """A citizen wrote on WhatsApp first (not filed yet), then the same problem came from
    LAPOR!: one case, and its one LAPOR! record is the LAPOR! one — never a second submission."""
    chat = Chat(env.gateway, channel="twilio_sms", sender="+6281211130001")
    chat.send("halo")
    chat.send("ya")
    chat.send(TEXT + " Lokasi Jl. Pemuda, Leteh, Rembang.")
    chat.send("kirim")
    with env.gateway.db.read_session() as session:
        first = session.scalar(select(Complaint).where(Complaint.origin_channel == "twilio_sms"))
        assert first is not None
    core_id = file_in_lapor(env, "warga-dup", description=TEXT + " Lokasi Jl. Pemuda, Leteh.")
    poll_intake(env)
    [lapor] = lapor_complaints(env)
    if not lapor.cluster_id:
        # The normalizer did not see one problem: an admin clusters them by hand.
        with env.gateway.db.session() as session:
            mine = session.get(Complaint, lapor.id)
            case = session.get(Complaint, first.id)
            assert mine is not None and case is not None
            lifecycle.join(env.gateway, session, mine, case, actor="user:1")
            workflow.commit(session)
    lapor = by_code(env, lapor.tracking_code)
    assert lapor.cluster_id == first.id
    verify(env, first.tracking_code)
    act(
        env, first.tracking_code, actions.dispose, actor="user:1", agency_id=agency_id(env, "DPUPR")
    )
    assert core_sync.CORE_SUBMIT not in kinds(env)
    with env.gateway.db.read_session() as session:
        rows = session.scalars(
            select(OutboxItem).where(col(OutboxItem.kind).in_(("core_verify", "core_dispose")))
        ).all()
        assert {r.complaint_id for r in rows} == {lapor.id}
    env.dispatch()
    assert core_report(env, core_id)["status"] == "disposed"
    act(env, first.tracking_code, actions.answer, actor="user:2", text=ANSWER)
    env.dispatch()
    assert core_report(env, core_id)["status"] == "answered"
    # The WhatsApp reporter hears the answer on their channel; LAPOR!'s hears it in LAPOR!.
    assert any(ANSWER in m.body for m in env.twilio.fake.sent_to("+6281211130001"))
    assert len(env.core_reports()) == 1


def test_pasted_report_joins_the_inbox_once(env: CoreEnv) -> None:
    text = (
        "Tracking ID: 7771234\n"
        "Judul: Lampu jalan mati\n"
        "Tanggal: 02-05-2026 08:30\n"
        "Isi Laporan: Lampu jalan di Jl. Diponegoro mati sejak seminggu, gelap dan rawan.\n"
        "Kecamatan: Rembang\n"
    )
    first = intake.take_pasted(env.gateway, text, actor="user:1", language="id")
    again = intake.take_pasted(env.gateway, text, actor="user:1", language="id")
    assert first.outcome == "new" and again.outcome == "known"
    [complaint] = lapor_complaints(env)
    assert complaint.core_ref == "7771234" and complaint.title == "Lampu jalan mati"
    assert first.tracking_code == complaint.tracking_code
    with pytest.raises(intake.InvalidPastedReport):
        intake.take_pasted(env.gateway, "halo", actor="user:1", language="id")


def test_attachments_go_through_the_attachment_pipeline(env: CoreEnv) -> None:
    report = IncomingReport(
        core_id="5009003",
        title="Banjir",
        description="Banjir setinggi lutut di Jl. Kartini sejak pagi tadi.",
        received_at=datetime.now(UTC) - timedelta(hours=1),
        attachments=(
            CoreAttachment(
                url="http://127.0.0.1:9/banjir.jpg",
                filename="banjir.jpg",
                content_type="image/jpeg",
            ),
        ),
        raw={},
    )
    intake.take(env.gateway, report, "push")
    with env.gateway.db.read_session() as session:
        [attachment] = session.scalars(select(Attachment)).all()
        assert attachment.source == "core" and attachment.status == "pending"
        assert attachment.original_url == "http://127.0.0.1:9/banjir.jpg"
        assert session.scalar(select(func.count()).select_from(Complaint)) == 1


def _incoming_event(core_id: str, event_id: str, report: dict) -> dict:
    return {
        "event_id": event_id,
        "seq": 1,
        "report_id": core_id,
        "kind": "incoming",
        "status": "unverified",
        "occurred_at": datetime.now(UTC).isoformat(),
        "report": report,
    }


def test_a_signed_push_brings_the_report_in_and_an_unreadable_one_is_kept(
    env: CoreEnv,
) -> None:
    """The `incoming` event pushed to /core/events: the report joins at once (before any poll);
    an unmappable report inside a valid push is kept raw, not a 400; the same event twice is
    applied once."""
    from fastapi.testclient import TestClient
    from pydantic import SecretStr

    from forwarder.signing import sign_push
    from gateway.app import create_app

    secret = "push-secret-for-tests"
    settings = env.gateway.settings.model_copy(update={"core_push_secret": SecretStr(secret)})
    env.gateway.settings = settings
    good = {
        "id": "5008001",
        "title": "Pohon tumbang",
        "description": "Pohon tumbang menutup Jl. Gatot Subroto sejak pagi, kendaraan tertahan.",
        "category": "pengaduan",
        "source_channel": "app",
        "received_at": "2026-03-02T01:30:00+00:00",
        "disposed_at": "2026-03-02T03:00:00+00:00",
    }
    bad = {"id": "5008002", "title": "tanpa isi", "received_at": "2026-03-02T01:30:00+00:00"}
    body = json.dumps(
        {
            "events": [
                _incoming_event("5008001", "push-1", good),
                _incoming_event("5008002", "push-2", bad),
            ]
        }
    ).encode()
    headers = {**sign_push(body, secret, datetime.now(UTC)), "content-type": "application/json"}
    with TestClient(create_app(settings, env.gateway)) as client:
        response = client.post("/core/events", content=body, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["outcomes"] == ["lapor new", "lapor unreadable"]
        again = client.post("/core/events", content=body, headers=headers)
        assert again.json()["outcomes"] == ["duplicate", "duplicate"]
    [complaint] = lapor_complaints(env)
    assert complaint.core_ref == "5008001" and complaint.source == "app"
    with env.gateway.db.read_session() as session:
        kept = session.scalar(
            select(InboundMessage).where(InboundMessage.external_id == "lapor:5008002")
        )
        assert kept is not None and kept.status == InboundStatus.UNREADABLE


def test_an_unreadable_report_read_again_from_the_admin_page(env: CoreEnv) -> None:
    """The koordinator's "read again" on /admin/unreadable: still unreadable keeps the row with
    the reason; once the raw report reads (here: its text was there under the mapped name all
    along, the row was kept by an older mapping), it becomes the complaint."""
    from gateway.intake import webhooks

    raw = {
        "id": "5008003",
        "description": "Lampu penerangan jalan di Jl. Sunan Bonang mati sejak seminggu.",
        "received_at": "2026-03-02T01:30:00+00:00",
    }
    intake.take(env.gateway, UnreadableReport("old mapping", raw, "5008003"), "poll")
    broken = UnreadableReport("no text", {"id": "5008004"}, "5008004")
    intake.take(env.gateway, broken, "poll")
    with env.gateway.db.read_session() as session:
        rows = {
            r.external_id: r.id
            for r in session.scalars(
                select(InboundMessage).where(InboundMessage.channel == "lapor")
            )
        }
    with pytest.raises(webhooks.PayloadError):
        webhooks.read_again(env.gateway, rows["lapor:5008004"])
    received = webhooks.read_again(env.gateway, rows["lapor:5008003"])
    assert len(received.messages) == 1
    [complaint] = lapor_complaints(env)
    assert complaint.core_ref == "5008003"
    with pytest.raises(webhooks.NotUnreadable):
        webhooks.read_again(env.gateway, rows["lapor:5008003"])
    assert [r.external_id for r in webhooks.unreadable(env.gateway)] == ["lapor:5008004"]


def test_separating_the_lapor_report_from_a_disposed_case_files_the_case(env: CoreEnv) -> None:
    """The LAPOR! report stood for the case in the core; once an admin separates it, the case
    (a WhatsApp complaint) needs a record of its own — queued then, not lost."""
    chat = Chat(env.gateway, channel="twilio_sms", sender="+6281211130002")
    for text in ("halo", "ya", "Lampu jalan di Jl. Diponegoro Leteh mati sudah seminggu.", "kirim"):
        chat.send(text)
    with env.gateway.db.read_session() as session:
        first = session.scalar(select(Complaint).where(Complaint.origin_channel == "twilio_sms"))
        assert first is not None
    report = IncomingReport(
        core_id="5008005",
        title="Lampu jalan",
        description="Lampu jalan di Jl. Diponegoro Leteh mati sudah seminggu, gelap sekali.",
        received_at=datetime.now(UTC),
        raw={},
    )
    taken = intake.take(env.gateway, report, "poll")
    with env.gateway.db.session() as session:
        mine = session.get(Complaint, taken.complaint_id)
        case = session.get(Complaint, first.id)
        assert mine is not None and case is not None
        if mine.cluster_id != case.id:
            lifecycle.join(env.gateway, session, mine, case, actor="user:1")
        workflow.commit(session)
    verify(env, first.tracking_code)
    act(
        env, first.tracking_code, actions.dispose, actor="user:1", agency_id=agency_id(env, "DPUPR")
    )
    assert core_sync.CORE_SUBMIT not in kinds(env)
    lapor_code = lapor_complaints(env)[0].tracking_code
    act(env, lapor_code, actions.uncluster, actor="user:1")
    assert core_sync.CORE_SUBMIT in kinds(env)
    env.dispatch()
    assert by_code(env, first.tracking_code).core_ref not in (None, "5008005")
