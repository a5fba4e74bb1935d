"""The complaint page's forms over HTTP: success with its message, a clear refusal when the
state does not allow it, the "someone else changed it" answer, and the liaison's answer with
photos reaching every reporter."""

from __future__ import annotations

from sqlalchemy import select

from gateway.context import Gateway
from gateway.core.sync import CoreFollowupHandler, CoreSubmitHandler
from gateway.outbox.queue import Delivered
from gateway.store.models import Attachment, Complaint, ComplaintEvent, OutboxItem, Status
from tests.gateway.admin.conftest import Admin, Directory, csrf_of, version_of
from tests.gateway.factories import make_complaint
from tests.images import image_bytes, private_traces

S = Status


def _complaint(gateway: Gateway, code: str) -> Complaint:
    with gateway.db.read_session() as session:
        row = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert row is not None
        return row


def _outbox(gateway: Gateway) -> list[OutboxItem]:
    with gateway.db.read_session() as session:
        return list(session.scalars(select(OutboxItem).order_by(OutboxItem.id)).all())  # type: ignore[arg-type]


def test_verify_then_dispose_from_the_complaint_page(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    koor = clients["koor"]
    code = make_complaint(
        gateway.db,
        S.RECEIVED,
        agency_suggestions=[
            {
                "code": "DLH",
                "agency_id": directory.dlh,
                "score": 0.8,
                "reason": "kata kunci: sampah",
            }
        ],
    ).tracking_code
    response = koor.act(
        code,
        "verify",
        {
            "relevant": "1",
            "complete": "1",
            "clear": "1",
            "title": "Sampah menumpuk",
            "category": "pengaduan",
            "kecamatan": "Kragan",
        },
    )
    assert (
        response.status_code == 303 and response.headers["location"] == f"/admin/complaints/{code}"
    )
    page = koor.get(response.headers["location"]).text
    assert "Aduan sudah diverifikasi." in page
    # The suggested agency is preselected in the dispose form.
    assert f'<option value="{directory.dlh}" selected>' in page
    assert koor.act(code, "dispose", {"agency_id": str(directory.dlh)}).status_code == 303
    row = _complaint(gateway, code)
    assert (row.status, row.title, row.kecamatan, row.agency_id) == (
        S.DISPOSED,
        "Sampah menumpuk",
        "Kragan",
        directory.dlh,
    )
    kinds = sorted(o.kind for o in _outbox(gateway))
    assert kinds == ["core_submit", "notify_liaison"]  # no reply channel on this complaint


def test_an_action_the_state_does_not_allow_is_refused_clearly_and_changes_nothing(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    complaint = make_complaint(gateway.db, S.ARCHIVED)
    response = clients["koor"].post(
        f"/admin/complaints/{complaint.tracking_code}/dispose",
        {"version": str(complaint.version), "agency_id": str(directory.dpupr)},
    )
    assert response.status_code == 409
    assert "Tindakan “Disposisikan” tidak dapat dilakukan" in response.text
    assert "“Diarsipkan”" in response.text and "Tidak ada yang diubah" in response.text
    assert _complaint(gateway, complaint.tracking_code).status == S.ARCHIVED
    assert _outbox(gateway) == []


def test_a_stale_page_is_told_someone_else_changed_the_complaint(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    code = make_complaint(gateway.db, S.VERIFIED).tracking_code
    first, second = clients["koor"], Admin(clients["koor"].client)
    seen = version_of(first.get(f"/admin/complaints/{code}").text)
    assert second.act(code, "archive", {"reason": "Spam"}).status_code == 303
    response = first.post(
        f"/admin/complaints/{code}/dispose", {"version": seen, "agency_id": str(directory.dpupr)}
    )
    assert response.status_code == 409
    assert "baru saja diubah oleh orang lain" in response.text
    row = _complaint(gateway, code)
    assert row.status == S.ARCHIVED and row.agency_id is None


def test_bad_input_is_explained_and_the_form_keeps_what_was_typed(
    clients: dict[str, Admin], gateway: Gateway
) -> None:
    code = make_complaint(gateway.db, S.RECEIVED).tracking_code
    response = clients["koor"].act(
        code, "verify", {"title": "Judul yang saya ketik", "category": "pengaduan"}
    )
    assert response.status_code == 422
    assert "Centang ketiga syarat" in response.text
    assert 'value="Judul yang saya ketik"' in response.text
    assert _complaint(gateway, code).status == S.RECEIVED


def test_english_messages_for_an_english_admin(clients: dict[str, Admin], gateway: Gateway) -> None:
    complaint = make_complaint(gateway.db, S.CLOSED)
    koor = clients["koor"]
    koor.get("/admin?lang=en")
    response = koor.post(
        f"/admin/complaints/{complaint.tracking_code}/archive",
        {"version": str(complaint.version), "reason": "spam"},
    )
    assert response.status_code == 409
    assert "“Archive” is not possible because the complaint is now “Closed”" in response.text


def test_liaison_acknowledges_and_answers_with_a_photo(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    complaint = make_complaint(
        gateway.db,
        S.DISPOSED,
        agency_id=directory.dpupr,
        reply_channel="webform",
        reply_address="web:warga",
    )
    code = complaint.tracking_code
    pupr = clients["pupr"]
    assert pupr.act(code, "acknowledge").status_code == 303
    page = pupr.get(f"/admin/complaints/{code}").text
    response = pupr.client.post(
        f"/admin/complaints/{code}/answer",
        data={
            "csrf_token": csrf_of(page),
            "version": version_of(page),
            "text": "Lubang sudah ditambal, terima kasih.",
        },
        files=[("photos", ("hasil.jpg", image_bytes("JPEG"), "image/jpeg"))],
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = pupr.get(f"/admin/complaints/{code}").text
    assert (
        "Jawaban antre untuk dikirim ke pelapor dan ke SP4N-LAPOR!." in page
        and 'id="result-photos"' in page
    )
    with gateway.db.read_session() as session:
        photo = session.scalars(select(Attachment).where(Attachment.source == "liaison")).one()
    image = pupr.get(f"/admin/attachments/{photo.id}")
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    # Re-encoded on intake without metadata (channels/images.py), the same picture.
    assert image.content == gateway.files.read(photo.storage_key or "")
    assert private_traces(image.content) == [] and image.content.startswith(b"\xff\xd8")
    answer = [o for o in _outbox(gateway) if o.payload.get("kind") == "answer"]
    assert [(o.channel, o.recipient) for o in answer] == [("webform", "web:warga")]
    assert answer[0].payload["media"][0]["ref"] == photo.storage_key
    assert _complaint(gateway, code).status == S.ANSWERED


def test_what_the_core_says_meanwhile_does_not_make_the_liaisons_page_stale(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    """Seen in the demo: the liaison pressed "Tandai sedang diproses", the page came back, the
    forwarder recorded that LAPOR! took the progress (its status), and the answer typed next was
    refused as "changed by someone else". The core's number and status are bookkeeping no admin
    decides on: they leave the version of the page alone."""
    complaint = make_complaint(
        gateway.db,
        S.DISPOSED,
        agency_id=directory.dpupr,
        reply_channel="webform",
        reply_address="web:warga",
    )
    code = complaint.tracking_code
    pupr = clients["pupr"]
    page = pupr.get(f"/admin/complaints/{code}").text
    seen = version_of(page)
    submit, followup = CoreSubmitHandler(gateway), CoreFollowupHandler(gateway)
    with gateway.db.session() as session:
        for kind, status in (("core_submit", "unverified"), ("core_progress", "in_process")):
            item = OutboxItem(
                complaint_id=complaint.id, kind=kind, idempotency_key=f"{code}:{kind}"
            )
            session.add(item)
            session.flush()
            handler = submit if kind == "core_submit" else followup
            handler.on_sent(
                session,
                item,
                Delivered(ok=True, provider_message_id="5000001", details={"status": status}),
            )
        session.commit()
    row = _complaint(gateway, code)
    assert (row.core_ref, row.core_status) == ("5000001", "in_process")
    response = pupr.post(
        f"/admin/complaints/{code}/answer",
        {"version": seen, "text": "Lubang sudah ditambal, terima kasih."},
    )
    assert response.status_code == 303, response.text[:300]
    row = _complaint(gateway, code)
    assert row.status == S.ANSWERED and (row.core_ref, row.core_status) == ("5000001", "in_process")
    with gateway.db.read_session() as session:
        actions = set(
            session.scalars(
                select(ComplaintEvent.action).where(ComplaintEvent.complaint_id == row.id)
            ).all()
        )
    assert {"core_submitted", "core_progress_sent", "answered"} <= actions


def test_an_answer_photo_that_is_not_an_image_is_refused(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    code = make_complaint(gateway.db, S.DISPOSED, agency_id=directory.dpupr).tracking_code
    page = clients["pupr"].get(f"/admin/complaints/{code}").text
    response = clients["pupr"].client.post(
        f"/admin/complaints/{code}/answer",
        data={
            "csrf_token": csrf_of(page),
            "version": version_of(page),
            "text": "Sudah kami tangani dengan baik.",
        },
        files=[("photos", ("hasil.jpg", b"<html>not a photo</html>", "image/jpeg"))],
        follow_redirects=False,
    )
    assert response.status_code == 422 and "bukan foto" in response.text
    assert _complaint(gateway, code).status == S.DISPOSED


def test_liaison_asks_for_redisposition_and_the_koordinator_sees_it(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    code = make_complaint(gateway.db, S.DISPOSED, agency_id=directory.dpupr).tracking_code
    response = clients["pupr"].act(code, "request_redisposition", {"reason": "Ini soal sampah."})
    assert response.status_code == 303
    inbox = clients["koor"].get("/admin?redisposition=1").text
    assert code in inbox
    page = clients["koor"].get(f"/admin/complaints/{code}").text
    assert "Ini soal sampah." in page and 'id="form-redispose"' in page
    assert (
        clients["koor"]
        .act(code, "redispose", {"agency_id": str(directory.dlh), "reason": "Sesuai permintaan"})
        .status_code
        == 303
    )
    assert clients["pupr"].get(f"/admin/complaints/{code}").status_code == 404
    assert clients["dlh"].get(f"/admin/complaints/{code}").status_code == 200


def test_merge_and_unmerge_from_the_cluster_panel(
    clients: dict[str, Admin], gateway: Gateway
) -> None:
    head = make_complaint(gateway.db, S.RECEIVED, clean_text="Jalan rusak di Lasem")
    duplicate = make_complaint(
        gateway.db, S.RECEIVED, cluster_id=head.id, clean_text="Jalan Lasem rusak parah"
    )
    koor = clients["koor"]
    page = koor.get(f"/admin/complaints/{duplicate.tracking_code}").text
    assert "Jalan rusak di Lasem" in page and f"Gabungkan ke {head.tracking_code}" in page
    response = koor.act(duplicate.tracking_code, "merge", {"target": head.tracking_code.lower()})
    assert response.status_code == 303
    assert _complaint(gateway, duplicate.tracking_code).merged_into_id == head.id
    assert koor.act(duplicate.tracking_code, "unmerge").status_code == 303
    back = _complaint(gateway, duplicate.tracking_code)
    assert back.status == S.RECEIVED and back.merged_into_id is None
    with gateway.db.read_session() as session:
        trail = session.scalars(
            select(ComplaintEvent.action)
            .where(ComplaintEvent.complaint_id == head.id)
            .order_by(ComplaintEvent.id)  # type: ignore[arg-type]
        ).all()
    assert trail[-2:] == ["merged_in", "unmerged_out"]
