"""TikTok capture, over HTTP as a koordinator uses it: a comment pasted at /admin/tiktok becomes
a complaint that keeps its link (inbox and complaint page), screenshots lose their metadata, and
the complaint page offers the copy-ready public replies — "received" at once, "answered" once
answered — with the button that records each posted (audited, once). A `rahasia` complaint's
replies carry no code; no reply ever carries the handle or the complaint's words."""

from __future__ import annotations

from sqlalchemy import select

from gateway.context import Gateway
from gateway.store.models import Attachment, Complaint, ComplaintEvent, InboundMessage, Status
from tests.gateway.admin.conftest import Admin, Directory, csrf_of
from tests.gateway.factories import answer_as_agency, verify_and_dispose
from tests.images import phone_photo, private_traces

LINK = "https://www.tiktok.com/@pemkabrembang/video/7301234567890123456"
WORDS = "min jalan di desa sumbergirang lasem rusak parah banyak lubang, tolong diperbaiki"


def _capture(koor: Admin, **fields: str) -> tuple[int, str]:
    page = koor.get("/admin/tiktok").text
    form = {
        "link": LINK + "?comment_id=7309876543210987654&is_from_webapp=1&sender_device=pc",
        "handle": "@Warga_Lasem",
        "description": WORDS,
        **fields,
    }
    response = koor.client.post(
        "/admin/tiktok",
        data={"csrf_token": csrf_of(page), **form},
        files=[("screenshots", ("layar.jpg", phone_photo("JPEG"), "image/jpeg"))],
        follow_redirects=False,
    )
    if response.status_code != 303:
        return response.status_code, response.text
    return 303, response.headers["location"].rsplit("/", 1)[1]


def _complaint(gateway: Gateway, code: str) -> Complaint:
    with gateway.db.read_session() as session:
        row = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert row is not None
        return row


def _answer(gateway: Gateway, code: str, agency_id: int) -> None:
    verify_and_dispose(gateway, code, title="Jalan di Desa Sumbergirang rusak", agency_id=agency_id)
    answer_as_agency(gateway, code, "Jalan sudah ditambal tim DPUPR.")


def test_a_captured_comment_is_answered_by_a_public_reply_the_admin_posts(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    koor = clients["koor"]
    status, code = _capture(koor)
    assert status == 303, code
    complaint = _complaint(gateway, code)
    kept_link = LINK + "?comment_id=7309876543210987654"  # the share tracking is gone
    assert (complaint.origin_channel, complaint.source_url) == ("tiktok", kept_link)
    assert complaint.reply_channel is None and complaint.status == Status.RECEIVED
    assert complaint.original_text == WORDS and complaint.title
    with gateway.db.read_session() as session:
        row = session.scalars(
            select(InboundMessage).where(InboundMessage.complaint_id == complaint.id)
        ).one()
        assert (row.channel, row.sender) == ("tiktok", "@warga_lasem")
        [shot] = session.scalars(select(Attachment).where(Attachment.complaint_id == complaint.id))
    assert private_traces(gateway.files.read(shot.storage_key)) == []  # type: ignore[arg-type]

    # The inbox row and the complaint page show where it came from.
    inbox = koor.get("/admin?channel=tiktok").text
    assert code in inbox and f'class="source-link" href="{kept_link}"' in inbox
    page = koor.get(f"/admin/complaints/{code}").text
    assert kept_link in page and "@warga_lasem" in page
    received = f"Terima kasih, sudah kami terima dengan kode {code}."
    assert received in page
    assert 'id="tiktok-reply-answered" data-ready="no"' in page

    # "Received" posted: recorded once, whoever presses again.
    assert koor.act(code, "tiktok_posted", {"kind": "received"}).status_code == 303
    assert koor.act(code, "tiktok_posted", {"kind": "received"}).status_code == 303
    # "Answered" is refused before the answer.
    assert koor.act(code, "tiktok_posted", {"kind": "answered"}).status_code == 409

    _answer(gateway, code, directory.dpupr)
    page = koor.get(f"/admin/complaints/{code}").text
    answered = f"Sudah ditindaklanjuti, kode {code}. Cek status: "
    assert answered in page and f"/status/{code}" in page
    assert 'id="tiktok-reply-answered" data-ready="yes" data-posted="no"' in page
    assert koor.act(code, "tiktok_posted", {"kind": "answered"}).status_code == 303
    page = koor.get(f"/admin/complaints/{code}").text
    assert 'id="tiktok-posted-answered"' in page and 'id="tiktok-posted-received"' in page

    with gateway.db.read_session() as session:
        events = session.scalars(
            select(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == complaint.id)
            .where(ComplaintEvent.action.in_(["tiktok_received_posted", "tiktok_answered_posted"]))  # type: ignore[attr-defined]
            .order_by(ComplaintEvent.id)
        ).all()
    assert [e.action for e in events] == ["tiktok_received_posted", "tiktok_answered_posted"]
    assert all(e.actor.startswith("user:") for e in events)
    for event in events:  # neutral: no handle, none of the complaint's words
        assert "warga" not in (event.note or "").lower() and "lubang" not in (event.note or "")
    # Audited like every action: the audit page lists it.
    assert "TikTok" in koor.get("/admin/audit").text


def test_a_rahasia_capture_gets_replies_without_its_code(
    clients: dict[str, Admin], gateway: Gateway
) -> None:
    status, code = _capture(clients["koor"], rahasia="1")
    assert status == 303, code
    page = clients["koor"].get(f"/admin/complaints/{code}").text
    box = page[page.index('id="tiktok"') :]
    assert "Terima kasih, sudah kami terima dan kami teruskan" in box
    assert code not in box.split("</section>")[0].split("tiktok-text-received")[1]


def test_a_double_click_records_one_complaint(clients: dict[str, Admin], gateway: Gateway) -> None:
    first = _capture(clients["koor"])
    second = _capture(clients["koor"])
    assert first[0] == second[0] == 303 and first[1] == second[1]


def test_a_link_that_is_not_tiktok_is_refused_and_nothing_is_stored(
    clients: dict[str, Admin], gateway: Gateway
) -> None:
    status, page = _capture(
        clients["koor"], link="https://www.instagram.com/p/DEMO1708/", handle="@x"
    )
    assert status == 422
    assert "Tempel tautan tiktok.com" in page and "Tulis nama akun TikTok" in page
    with gateway.db.read_session() as session:
        assert session.scalars(select(Complaint)).first() is None


def test_only_a_koordinator_captures(clients: dict[str, Admin]) -> None:
    assert clients["pupr"].get("/admin/tiktok").status_code in (303, 403)
    assert clients["anonymous"].get("/admin/tiktok", follow_redirects=False).status_code in (
        303,
        401,
    )


def test_a_captured_comment_that_joins_a_case_still_gets_its_own_public_replies(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    """Seen in the demo: the comment was about a road already reported on the web form, so it
    joined that case, and its page offered no "Sudah diposting" at all — the case's actions are
    taken at the primary, but the public reply under this comment is this reporter's own."""
    koor = clients["koor"]
    web = koor.client.post(
        "/api/v1/complaints",
        json={"description": WORDS.replace("min ", "Mohon, "), "consent": True},
    )
    assert web.status_code == 202, web.text
    primary = web.json()["tracking_code"]
    status, code = _capture(koor)
    assert status == 303, code
    follower = _complaint(gateway, code)
    assert follower.cluster_id == _complaint(gateway, primary).id  # one case
    page = koor.get(f"/admin/complaints/{code}").text
    box = page.split('id="tiktok-reply-received" data-ready="yes" data-posted="no"')[1]
    assert '<input type="hidden" name="kind" value="received">' in box.split("</div>")[0]
    assert koor.act(code, "tiktok_posted", {"kind": "received"}).status_code == 303
    assert 'id="tiktok-posted-received"' in koor.get(f"/admin/complaints/{code}").text

    _answer(gateway, primary, directory.dpupr)  # the case is answered at its primary
    page = koor.get(f"/admin/complaints/{code}").text
    assert 'id="tiktok-reply-answered" data-ready="yes" data-posted="no"' in page
    assert f"Sudah ditindaklanjuti, kode {code}." in page
    assert koor.act(code, "tiktok_posted", {"kind": "answered"}).status_code == 303
