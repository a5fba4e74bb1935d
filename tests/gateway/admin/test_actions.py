"""Every admin and liaison action: what it does when allowed (state, audit event, outbox rows)
and that in every other state it is refused and changes nothing."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from gateway.complaints import actions, workflow
from gateway.context import Gateway
from gateway.store.files import StoredFile
from gateway.store.models import (
    Attachment,
    Complaint,
    ComplaintEvent,
    OutboxItem,
    Status,
)
from tests.gateway.admin.conftest import Directory
from tests.gateway.factories import make_complaint
from tests.images import image_bytes

S = Status
ACTOR = "user:1"
REPORTER = {"reply_channel": "webform", "reply_address": "web:pelapor-1"}


@dataclass(frozen=True)
class Ctx:
    dpupr: int
    dlh: int
    target: int  # an open complaint to merge into


Run = Callable[[Gateway, Session, Complaint, Ctx], Any]

# action -> (states it is allowed in, state it leads to (None: unchanged), how to run it)
ACTIONS: dict[str, tuple[frozenset[Status], Status | None, Run]] = {
    "verified": (
        frozenset({S.RECEIVED}),
        S.VERIFIED,
        lambda g, s, c, d: actions.verify(
            g,
            s,
            c,
            actor=ACTOR,
            relevant=True,
            complete=True,
            clear=True,
            title="Jalan rusak di Lasem",
            category="pengaduan",
        ),
    ),
    "anonymised": (
        frozenset({S.RECEIVED, S.VERIFIED, S.PENDING}),
        None,
        lambda g, s, c, d: actions.anonymise(g, s, c, actor=ACTOR, anonim=True, rahasia=False),
    ),
    "disposed": (
        frozenset({S.VERIFIED}),
        S.DISPOSED,
        lambda g, s, c, d: actions.dispose(g, s, c, actor=ACTOR, agency_id=d.dpupr),
    ),
    "redisposed": (
        frozenset({S.DISPOSED, S.IN_PROGRESS}),
        S.DISPOSED,
        lambda g, s, c, d: actions.redispose(
            g, s, c, actor=ACTOR, agency_id=d.dlh, reason="Bukan jalan kabupaten"
        ),
    ),
    "pending": (
        frozenset({S.RECEIVED, S.VERIFIED}),
        S.PENDING,
        lambda g, s, c, d: actions.pend(g, s, c, actor=ACTOR, question="Di desa mana tepatnya?"),
    ),
    "resumed": (
        frozenset({S.PENDING}),
        S.RECEIVED,
        lambda g, s, c, d: actions.resume_from_pending(s, c, "reporter", gateway=g),
    ),
    "archived": (
        frozenset({S.RECEIVED, S.VERIFIED, S.PENDING}),
        S.ARCHIVED,
        lambda g, s, c, d: actions.archive(g, s, c, actor=ACTOR, reason="Spam"),
    ),
    "returned": (
        frozenset({S.RECEIVED, S.VERIFIED, S.DISPOSED}),
        S.RETURNED,
        lambda g, s, c, d: actions.return_complaint(
            g, s, c, actor=ACTOR, reason="Kewenangan pemerintah provinsi"
        ),
    ),
    "merged": (
        frozenset({S.RECEIVED, S.VERIFIED}),
        S.MERGED,
        lambda g, s, c, d: actions.merge(g, s, c, s.get(Complaint, d.target), actor=ACTOR),
    ),
    "unmerged": (
        frozenset({S.MERGED}),
        S.RECEIVED,
        lambda g, s, c, d: actions.unmerge(g, s, c, actor=ACTOR),
    ),
    "reply": (
        frozenset(S),
        None,
        lambda g, s, c, d: actions.reply(g, s, c, actor=ACTOR, text="Terima kasih, kami cek."),
    ),
    "in_progress": (
        frozenset({S.DISPOSED}),
        S.IN_PROGRESS,
        lambda g, s, c, d: actions.acknowledge(g, s, c, actor=ACTOR),
    ),
    "answered": (
        frozenset({S.DISPOSED, S.IN_PROGRESS}),
        S.ANSWERED,
        lambda g, s, c, d: actions.answer(
            g, s, c, actor=ACTOR, text="Jalan sudah ditambal pada hari Senin."
        ),
    ),
    "redisposition_requested": (
        frozenset({S.DISPOSED, S.IN_PROGRESS}),
        None,
        lambda g, s, c, d: actions.request_redisposition(
            g, s, c, actor=ACTOR, reason="Ini tugas Dinas Perhubungan"
        ),
    ),
}

CASES = [
    (name, state, state in ACTIONS[name][0]) for name, state in itertools.product(ACTIONS, Status)
]


def _counts(session: Session, complaint_id: int) -> tuple[int, int]:
    events = session.scalar(
        select(func.count())
        .select_from(ComplaintEvent)
        .where(ComplaintEvent.complaint_id == complaint_id)
    )
    rows = session.scalar(select(func.count()).select_from(OutboxItem))
    return events or 0, rows or 0


@pytest.mark.parametrize(
    ("name", "state", "allowed"),
    CASES,
    ids=[f"{n}-from-{s.value}-{'ok' if a else 'refused'}" for n, s, a in CASES],
)
def test_action_in_every_state(
    gateway: Gateway, directory: Directory, name: str, state: Status, allowed: bool
) -> None:
    _, leads_to, run = ACTIONS[name]
    complaint = make_complaint(gateway.db, state, agency_id=directory.dpupr, **REPORTER)
    target = make_complaint(gateway.db, S.RECEIVED)
    ctx = Ctx(directory.dpupr, directory.dlh, target.id)  # type: ignore[arg-type]
    with gateway.db.read_session() as session:
        before = _counts(session, complaint.id)  # type: ignore[arg-type]
    with gateway.db.session() as session:
        row = session.get(Complaint, complaint.id)
        assert row is not None
        if allowed:
            event = run(gateway, session, row, ctx)
            workflow.commit(session)
            assert event.action == name and event.actor in (ACTOR, "reporter")
        else:
            with pytest.raises((actions.NotAllowed, workflow.TransitionError)):
                run(gateway, session, row, ctx)
            session.rollback()
    with gateway.db.read_session() as session:
        row = session.get(Complaint, complaint.id)
        assert row is not None
        if allowed:
            assert row.status == (leads_to or state)
            assert _counts(session, row.id)[0] > before[0]  # type: ignore[arg-type]
        else:
            assert row.status == state and row.version == complaint.version
            assert _counts(session, row.id) == before  # type: ignore[arg-type]


# --- what each action causes ------------------------------------------------------------------


def _outbox(gateway: Gateway, kind: str | None = None) -> list[OutboxItem]:
    with gateway.db.read_session() as session:
        query = select(OutboxItem).order_by(OutboxItem.id)  # type: ignore[arg-type]
        if kind:
            query = query.where(OutboxItem.kind == kind)
        return list(session.scalars(query).all())


def _do(gateway: Gateway, complaint: Complaint, run: Callable[[Session, Complaint], Any]) -> Any:
    with gateway.db.session() as session:
        row = session.get(Complaint, complaint.id)
        assert row is not None
        result = run(session, row)
        workflow.commit(session)
        return result


def _get(gateway: Gateway, complaint_id: int | None) -> Complaint:
    with gateway.db.read_session() as session:
        row = session.get(Complaint, complaint_id)
        assert row is not None
        return row


def test_verify_sets_title_class_and_place(gateway: Gateway, directory: Directory) -> None:
    complaint = make_complaint(gateway.db, S.RECEIVED)
    _do(
        gateway,
        complaint,
        lambda s, c: actions.verify(
            gateway,
            s,
            c,
            actor=ACTOR,
            relevant=True,
            complete=True,
            clear=True,
            title="  Jalan berlubang  ",
            category="pengaduan",
            kecamatan="Lasem",
            kelurahan="Sumbergirang",
        ),
    )
    row = _get(gateway, complaint.id)
    assert (row.title, row.category, row.kecamatan, row.kelurahan) == (
        "Jalan berlubang",
        "pengaduan",
        "Lasem",
        "Sumbergirang",
    )
    assert row.status == S.VERIFIED and row.verified_at is not None


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"relevant": False}, "verify_checks"),
        ({"category": "keluhan"}, "category_required"),
        ({"title": "   "}, "title_required"),
        ({"title": "x" * 201}, "too_long"),
    ],
)
def test_verify_refuses_bad_input_and_changes_nothing(
    gateway: Gateway, directory: Directory, fields: dict, key: str
) -> None:
    complaint = make_complaint(gateway.db, S.RECEIVED)
    values = {
        "relevant": True,
        "complete": True,
        "clear": True,
        "title": "Judul",
        "category": "pengaduan",
        **fields,
    }
    with gateway.db.session() as session:
        row = session.get(Complaint, complaint.id)
        with pytest.raises(actions.ActionInvalid) as caught:
            actions.verify(gateway, session, row, actor=ACTOR, **values)  # type: ignore[arg-type]
        session.rollback()
    assert caught.value.key == key
    assert _get(gateway, complaint.id).status == S.RECEIVED


def test_dispose_queues_core_forward_and_whatsapp_to_each_active_liaison(
    gateway: Gateway, directory: Directory
) -> None:
    complaint = make_complaint(gateway.db, S.VERIFIED, title="Jalan berlubang", **REPORTER)
    _do(
        gateway,
        complaint,
        lambda s, c: actions.dispose(gateway, s, c, actor=ACTOR, agency_id=directory.dpupr),
    )
    row = _get(gateway, complaint.id)
    assert row.status == S.DISPOSED and row.agency_id == directory.dpupr
    core = _outbox(gateway, "core_submit")
    assert [(o.idempotency_key, o.complaint_id) for o in core] == [
        (f"{complaint.tracking_code}:core_submit", complaint.id)
    ]
    notices = _outbox(gateway, "notify_liaison")
    assert sorted(o.recipient for o in notices) == sorted(directory.dpupr_liaisons)  # not "Lama"
    for notice in notices:
        assert notice.channel == "twilio_whatsapp"
        text = notice.payload["text"]
        assert complaint.tracking_code in text and "Jalan berlubang" in text
        assert f"/admin/complaints/{complaint.tracking_code}" in text
        assert notice.payload["template_variables"]["deadline"]
    told = _outbox(gateway, "reply")
    assert [o.recipient for o in told] == ["web:pelapor-1"]
    assert "Dinas Pekerjaan Umum" in told[0].payload["text"]


def test_dispose_to_an_inactive_or_unknown_agency_is_refused(
    gateway: Gateway, directory: Directory
) -> None:
    complaint = make_complaint(gateway.db, S.VERIFIED)
    with gateway.db.session() as session:
        row = session.get(Complaint, complaint.id)
        with pytest.raises(actions.ActionInvalid, match="agency_unknown"):
            actions.dispose(gateway, session, row, actor=ACTOR, agency_id=99999)  # type: ignore[arg-type]
    assert _outbox(gateway) == []


def test_redispose_tells_the_new_agency_and_needs_another_agency(
    gateway: Gateway, directory: Directory
) -> None:
    complaint = make_complaint(gateway.db, S.IN_PROGRESS, agency_id=directory.dpupr)
    with gateway.db.session() as session:
        row = session.get(Complaint, complaint.id)
        with pytest.raises(actions.ActionInvalid, match="same_agency"):
            actions.redispose(
                gateway,
                session,
                row,
                actor=ACTOR,
                agency_id=directory.dpupr,  # type: ignore[arg-type]
                reason="x",
            )
    _do(
        gateway,
        complaint,
        lambda s, c: actions.redispose(
            gateway, s, c, actor=ACTOR, agency_id=directory.dlh, reason="Sampah, bukan jalan"
        ),
    )
    row = _get(gateway, complaint.id)
    assert row.status == S.DISPOSED and row.agency_id == directory.dlh
    assert [o.recipient for o in _outbox(gateway, "notify_liaison")] == list(directory.dlh_liaisons)
    assert _outbox(gateway, "core_submit") == []  # the core already has it


def test_disposing_twice_to_the_same_agency_notifies_each_time(
    gateway: Gateway, directory: Directory
) -> None:
    """Away and back again: the second disposition is news to the liaison officers."""
    complaint = make_complaint(gateway.db, S.DISPOSED, agency_id=directory.dpupr)
    for agency in (directory.dlh, directory.dpupr):
        _do(
            gateway,
            complaint,
            lambda s, c, a=agency: actions.redispose(
                gateway, s, c, actor=ACTOR, agency_id=a, reason="pindah"
            ),
        )
    assert len(_outbox(gateway, "notify_liaison")) == 3


def test_pend_asks_the_reporter_and_resume_returns_where_it_was(
    gateway: Gateway, directory: Directory
) -> None:
    complaint = make_complaint(gateway.db, S.VERIFIED, **REPORTER)
    _do(
        gateway,
        complaint,
        lambda s, c: actions.pend(
            gateway, s, c, actor=ACTOR, question="Mohon kirim foto lokasinya."
        ),
    )
    assert _get(gateway, complaint.id).status == S.PENDING
    [question] = _outbox(gateway, "reply")
    assert question.payload["kind"] == "question"
    assert "Mohon kirim foto lokasinya." in question.payload["text"]
    _do(
        gateway,
        complaint,
        lambda s, c: actions.resume_from_pending(s, c, "reporter", gateway=gateway),
    )
    row = _get(gateway, complaint.id)
    assert row.status == S.VERIFIED and row.status_before_pending is None


def test_pend_without_a_channel_to_ask_on_is_refused(
    gateway: Gateway, directory: Directory
) -> None:
    complaint = make_complaint(gateway.db, S.RECEIVED)  # e.g. a walk-in without contact
    with gateway.db.session() as session:
        row = session.get(Complaint, complaint.id)
        with pytest.raises(actions.ActionInvalid, match="no_reply_channel"):
            actions.pend(gateway, session, row, actor=ACTOR, question="Di mana lokasinya?")  # type: ignore[arg-type]
    assert _get(gateway, complaint.id).status == S.RECEIVED


@pytest.mark.parametrize(
    ("action", "notices", "told"),
    [
        ("archive", None, False),  # spam is not answered unless configured
        ("archive", "archived", True),
        ("return_complaint", None, True),
    ],
)
def test_archive_and_return_need_a_reason_and_tell_the_reporter_as_configured(
    gateway: Gateway,
    directory: Directory,
    monkeypatch: pytest.MonkeyPatch,
    action: str,
    notices: str | None,
    told: bool,
) -> None:
    if notices:
        monkeypatch.setitem(gateway.__dict__, "reporter_notice_statuses", frozenset({notices}))
    complaint = make_complaint(gateway.db, S.RECEIVED, **REPORTER)
    run = getattr(actions, action)
    with gateway.db.session() as session:
        row = session.get(Complaint, complaint.id)
        with pytest.raises(actions.ActionInvalid, match="reason_required"):
            run(gateway, session, row, actor=ACTOR, reason="  ")
    _do(gateway, complaint, lambda s, c: run(gateway, s, c, actor=ACTOR, reason="Alasan jelas"))
    messages = _outbox(gateway, "reply")
    assert [m.recipient for m in messages] == (["web:pelapor-1"] if told else [])
    assert all("Alasan jelas" in m.payload["text"] for m in messages)


def test_merge_is_audited_on_both_and_unmerge_restores_the_cluster(
    gateway: Gateway, directory: Directory
) -> None:
    target = make_complaint(gateway.db, S.DISPOSED, agency_id=directory.dpupr)
    earlier_cluster = make_complaint(gateway.db, S.RECEIVED)
    duplicate = make_complaint(gateway.db, S.RECEIVED, cluster_id=earlier_cluster.id, **REPORTER)
    _do(
        gateway,
        duplicate,
        lambda s, c: actions.merge(gateway, s, c, s.get(Complaint, target.id), actor=ACTOR),
    )
    merged = _get(gateway, duplicate.id)
    assert (merged.status, merged.merged_into_id, merged.cluster_id) == (
        S.MERGED,
        target.id,
        target.id,
    )
    [told] = _outbox(gateway, "reply")
    assert target.tracking_code in told.payload["text"]
    with gateway.db.read_session() as session:
        target_events = session.scalars(
            select(ComplaintEvent.action).where(ComplaintEvent.complaint_id == target.id)
        ).all()
    assert "merged_in" in target_events
    _do(gateway, duplicate, lambda s, c: actions.unmerge(gateway, s, c, actor=ACTOR))
    back = _get(gateway, duplicate.id)
    assert (back.status, back.merged_into_id, back.cluster_id) == (
        S.RECEIVED,
        None,
        earlier_cluster.id,
    )


def test_an_automatic_merge_by_the_duplicate_finder_is_undone_the_same_way(
    gateway: Gateway, directory: Directory
) -> None:
    target = make_complaint(gateway.db, S.RECEIVED)
    repeat = make_complaint(gateway.db, S.MERGED, cluster_id=target.id)
    with gateway.db.session() as session:
        row = session.get(Complaint, repeat.id)
        # What gateway.dedup.fold records: only merged_into_id changes.
        workflow.record(
            session,
            row,
            actor="system",
            action="auto_merged",  # type: ignore[arg-type]
            changes={"merged_into_id": target.id},
        )
        workflow.commit(session)
    _do(gateway, repeat, lambda s, c: actions.unmerge(gateway, s, c, actor=ACTOR))
    back = _get(gateway, repeat.id)
    assert (back.status, back.merged_into_id, back.cluster_id) == (S.RECEIVED, None, target.id)


def test_merge_refuses_itself_closed_targets_and_complaints_with_members(
    gateway: Gateway, directory: Directory
) -> None:
    a = make_complaint(gateway.db, S.RECEIVED)
    closed = make_complaint(gateway.db, S.ARCHIVED)
    head = make_complaint(gateway.db, S.RECEIVED)
    make_complaint(gateway.db, S.MERGED, merged_into_id=head.id, cluster_id=head.id)
    for complaint, target, key in (
        (a, a, "merge_same"),
        (a, closed, "merge_target_closed"),
        (head, a, "merge_has_members"),
    ):
        with gateway.db.session() as session:
            row, other = session.get(Complaint, complaint.id), session.get(Complaint, target.id)
            with pytest.raises(actions.ActionInvalid) as caught:
                actions.merge(gateway, session, row, other, actor=ACTOR)  # type: ignore[arg-type]
            session.rollback()
        assert caught.value.key == key
    assert _get(gateway, a.id).status == S.RECEIVED


def test_answer_keeps_the_photos_and_queues_the_answer_to_every_reporter_of_the_cluster(
    gateway: Gateway, directory: Directory
) -> None:
    complaint = make_complaint(gateway.db, S.IN_PROGRESS, agency_id=directory.dpupr, **REPORTER)
    make_complaint(
        gateway.db,
        S.MERGED,
        merged_into_id=complaint.id,
        cluster_id=complaint.id,
        reply_channel="webform",
        reply_address="web:pelapor-2",
    )
    stored = gateway.files.put(image_bytes("JPEG"), "image/jpeg")
    _do(
        gateway,
        complaint,
        lambda s, c: actions.answer(
            gateway,
            s,
            c,
            actor=ACTOR,
            text="Sudah diperbaiki, lihat foto.",
            photos=[(stored, "hasil.jpg")],
        ),
    )
    assert _get(gateway, complaint.id).status == S.ANSWERED
    with gateway.db.read_session() as session:
        [photo] = session.scalars(select(Attachment)).all()
    assert (photo.source, photo.storage_key, photo.complaint_id) == (
        "liaison",
        stored.key,
        complaint.id,
    )
    answers = _outbox(gateway, "reply")
    assert sorted(o.recipient for o in answers) == ["web:pelapor-1", "web:pelapor-2"]
    for item in answers:
        assert item.payload["kind"] == "answer"
        assert "Sudah diperbaiki" in item.payload["text"]
        assert [m["ref"] for m in item.payload["media"]] == [stored.key]
        # The provider fetches the photo through a signed link to that attachment.
        [link] = [m["url"] for m in item.payload["media"]]
        token = link.removeprefix(f"{gateway.settings.public_base_url}/media/")
        assert gateway.media_links.attachment_id(token) == photo.id


def test_answer_needs_some_text(gateway: Gateway, directory: Directory) -> None:
    complaint = make_complaint(gateway.db, S.DISPOSED, agency_id=directory.dpupr)
    with gateway.db.session() as session:
        row = session.get(Complaint, complaint.id)
        with pytest.raises(actions.ActionInvalid, match="answer_required"):
            actions.answer(gateway, session, row, actor=ACTOR, text="ok")  # type: ignore[arg-type]


def test_acknowledge_tells_the_reporter_it_is_being_processed(
    gateway: Gateway, directory: Directory
) -> None:
    complaint = make_complaint(gateway.db, S.DISPOSED, agency_id=directory.dpupr, **REPORTER)
    _do(gateway, complaint, lambda s, c: actions.acknowledge(gateway, s, c, actor=ACTOR))
    [told] = _outbox(gateway, "reply")
    assert told.payload["kind"] == "status"
    assert "sedang ditindaklanjuti oleh Dinas Pekerjaan Umum" in told.payload["text"]


def test_request_for_redisposition_flags_the_complaint_until_it_is_redisposed(
    gateway: Gateway, directory: Directory
) -> None:
    complaint = make_complaint(gateway.db, S.DISPOSED, agency_id=directory.dpupr)
    _do(
        gateway,
        complaint,
        lambda s, c: actions.request_redisposition(
            gateway, s, c, actor=ACTOR, reason="Ini soal sampah"
        ),
    )
    row = _get(gateway, complaint.id)
    assert row.redisposition_requested_at is not None and row.agency_id == directory.dpupr
    _do(
        gateway,
        complaint,
        lambda s, c: actions.redispose(
            gateway, s, c, actor=ACTOR, agency_id=directory.dlh, reason="Permintaan instansi"
        ),
    )
    assert _get(gateway, complaint.id).redisposition_requested_at is None


def test_anonymise_masks_personal_data_unless_the_admin_wrote_the_text(
    gateway: Gateway, directory: Directory
) -> None:
    text = "Saya Budi NIK 3317010101900001 telp 081234567890 jalan rusak"
    spans = [
        {"kind": "nik", "start": 14, "end": 30, "text": "3317010101900001"},
        {"kind": "telepon", "start": 36, "end": 48, "text": "081234567890"},
    ]
    complaint = make_complaint(gateway.db, S.RECEIVED, original_text=text, pii_spans=spans)
    _do(
        gateway,
        complaint,
        lambda s, c: actions.anonymise(gateway, s, c, actor=ACTOR, anonim=True, rahasia=True),
    )
    row = _get(gateway, complaint.id)
    assert row.masked_text == "Saya Budi NIK [NIK] telp [TELEPON] jalan rusak"
    assert row.anonim and row.rahasia and row.original_text == text
    _do(
        gateway,
        complaint,
        lambda s, c: actions.anonymise(
            gateway, s, c, actor=ACTOR, anonim=True, rahasia=False, masked_text="Jalan rusak."
        ),
    )
    assert _get(gateway, complaint.id).masked_text == "Jalan rusak."


def test_reply_reaches_the_reporter_without_changing_the_state(
    gateway: Gateway, directory: Directory
) -> None:
    complaint = make_complaint(gateway.db, S.CLOSED, **REPORTER)
    _do(gateway, complaint, lambda s, c: actions.reply(gateway, s, c, actor=ACTOR, text="Halo"))
    [message] = _outbox(gateway, "reply")
    assert "Halo" in message.payload["text"] and message.recipient == "web:pelapor-1"
    assert _get(gateway, complaint.id).status == S.CLOSED


def test_two_admins_at_once_one_wins_and_the_other_leaves_nothing_behind(
    gateway: Gateway, directory: Directory
) -> None:
    complaint = make_complaint(gateway.db, S.VERIFIED, **REPORTER)
    with gateway.db.session() as first:
        mine = first.get(Complaint, complaint.id)
        assert mine is not None
        first.commit()  # the first admin's page is shown; they think it over
        with gateway.db.session() as second:
            theirs = second.get(Complaint, complaint.id)
            actions.return_complaint(gateway, second, theirs, actor="user:2", reason="Provinsi")  # type: ignore[arg-type]
            workflow.commit(second)
        with pytest.raises(workflow.ConcurrentUpdate):
            actions.dispose(gateway, first, mine, actor=ACTOR, agency_id=directory.dpupr)
            workflow.commit(first)
    row = _get(gateway, complaint.id)
    assert row.status == S.RETURNED and row.agency_id is None
    assert [o.kind for o in _outbox(gateway)] == ["reply"]  # only the return's message
    with gateway.db.read_session() as session:
        actions_done = session.scalars(
            select(ComplaintEvent.action).where(ComplaintEvent.complaint_id == complaint.id)
        ).all()
    assert "disposed" not in actions_done


def test_a_page_read_before_a_change_is_refused(gateway: Gateway, directory: Directory) -> None:
    complaint = make_complaint(gateway.db, S.VERIFIED)
    seen = complaint.version
    _do(
        gateway,
        complaint,
        lambda s, c: actions.anonymise(gateway, s, c, actor="user:2", anonim=True, rahasia=False),
    )
    with gateway.db.session() as session:
        row = session.get(Complaint, complaint.id)
        with pytest.raises(workflow.ConcurrentUpdate):
            workflow.expect_version(row, seen)  # type: ignore[arg-type]


def test_stored_file_kept_by_answer_is_the_one_on_disk(gateway: Gateway) -> None:
    data = image_bytes("PNG")
    stored: StoredFile = gateway.files.put(data, "image/png")
    assert gateway.files.read(stored.key) == data
