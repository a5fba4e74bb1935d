"""The admin's workplace (issue 18) over HTTP: internal notes, assignment, the conversation as a
chat, saved replies with variables, the live parts and the maps' pins."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from gateway.context import Gateway
from gateway.store.models import (
    Complaint,
    ComplaintAssignment,
    ComplaintEvent,
    ComplaintNote,
    InboundMessage,
    OutboxItem,
    SavedReply,
    Status,
)
from tests.gateway.admin.conftest import Accounts, Admin, Directory
from tests.gateway.factories import make_complaint

S = Status
STAFF_NOTE = "Catatan staf: pelapor menelepon dua kali"
AGENCY_NOTE = "Untuk DPUPR: lokasi dekat jembatan"


def _disposed(gateway: Gateway, directory: Directory, **fields: object) -> Complaint:
    values: dict[str, object] = {
        "agency_id": directory.dpupr,
        "reply_channel": "webform",
        "reply_address": "web:warga",
        "title": "Jalan berlubang",
    }
    values.update(fields)
    return make_complaint(gateway.db, S.DISPOSED, **values)


def _notes_panel(page: str) -> str:
    start = page.index('id="notes-list"')
    return page[start : page.index("</ol>", start)]


# --- internal notes --------------------------------------------------------------------------


def test_notes_are_read_by_staff_and_agency_notes_by_the_agency_only(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    complaint = _disposed(gateway, directory)
    code = complaint.tracking_code
    koor, pupr = clients["koor"], clients["pupr"]
    assert koor.post(f"/admin/complaints/{code}/note", {"body": STAFF_NOTE}).status_code == 303
    added = koor.post(f"/admin/complaints/{code}/note", {"body": AGENCY_NOTE, "for_agency": "1"})
    assert added.status_code == 303
    assert (
        pupr.post(f"/admin/complaints/{code}/note", {"body": "Sudah disurvei"}).status_code == 303
    )

    koor_notes = _notes_panel(koor.get(f"/admin/complaints/{code}").text)
    assert STAFF_NOTE in koor_notes and AGENCY_NOTE in koor_notes and "Sudah disurvei" in koor_notes
    pupr_page = pupr.get(f"/admin/complaints/{code}").text
    assert STAFF_NOTE not in pupr_page  # not even in the timeline
    assert 'id="chat"' not in pupr_page  # liaison officers never read the reporter's own words
    assert AGENCY_NOTE in _notes_panel(pupr_page) and "Sudah disurvei" in pupr_page
    assert clients["dlh"].get(f"/admin/complaints/{code}").status_code == 404
    assert clients["dlh"].post(f"/admin/complaints/{code}/note", {"body": "x y"}).status_code == 404
    assert (
        clients["lihat"].post(f"/admin/complaints/{code}/note", {"body": "x y"}).status_code == 403
    )

    # Nowhere public, and the audit log says a note was written, not what it says.
    for url in (f"/status/{code}", f"/api/v1/complaints/{code}"):
        body = clients["anonymous"].get(url).text
        assert STAFF_NOTE not in body and AGENCY_NOTE not in body and "disurvei" not in body
    with gateway.db.read_session() as session:
        events = session.scalars(
            select(ComplaintEvent).where(ComplaintEvent.action == "note_added")
        ).all()
        notes = session.scalars(select(ComplaintNote).order_by(ComplaintNote.id)).all()
    assert len(events) == 3 and all(e.note is None and not e.public for e in events)
    assert [n.for_agency for n in notes] == [False, True, True]  # a liaison's note is the agency's


def test_a_note_needs_words_and_the_csrf_token(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    code = _disposed(gateway, directory).tracking_code
    koor = clients["koor"]
    response = koor.post(f"/admin/complaints/{code}/note", {"body": "  "}, follow_redirects=True)
    assert "Catatan wajib diisi" in response.text
    forged = koor.client.post(
        f"/admin/complaints/{code}/note", data={"body": "tanpa token", "csrf_token": "x" * 40}
    )
    assert forged.status_code == 403
    with gateway.db.read_session() as session:
        assert session.scalars(select(ComplaintNote)).all() == []


# --- assignment ------------------------------------------------------------------------------


def _rows(page: str) -> list[str]:
    return re.findall(r'<tr data-code="(LPR-[0-9A-Z]+)"', page)


def test_take_assign_and_the_inbox_filters(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory, accounts: Accounts
) -> None:
    mine = make_complaint(gateway.db, S.RECEIVED, title="Sampah menumpuk")
    free = make_complaint(gateway.db, S.RECEIVED, title="Lampu mati")
    koor = clients["koor"]
    taken = koor.post(
        f"/admin/complaints/{mine.tracking_code}/assign", {"user_id": "me", "expected": "0"}
    )
    assert taken.status_code == 303
    assert "Ditangani oleh koor" in koor.get(f"/admin/complaints/{mine.tracking_code}").text

    assert _rows(koor.get("/admin?assigned=me").text) == [mine.tracking_code]
    assert _rows(koor.get("/admin?assigned=none").text) == [free.tracking_code]
    listing = koor.get("/admin").text
    row = listing[listing.index(f'data-code="{mine.tracking_code}"') :]
    assert 'class="assignee">koor</td>' in row[: row.index("</tr>")]

    # A colleague who still saw "nobody" is told who holds it; nothing changes.
    stale = koor.post(
        f"/admin/complaints/{mine.tracking_code}/assign",
        {"user_id": str(accounts.koordinator), "expected": "0"},
        follow_redirects=True,
    )
    assert "sekarang ditangani oleh koor" in html.unescape(stale.text)
    released = koor.post(
        f"/admin/complaints/{mine.tracking_code}/assign",
        {"user_id": "0", "expected": str(accounts.koordinator)},
    )
    assert released.status_code == 303
    assert sorted(_rows(koor.get("/admin?assigned=none").text)) == sorted(
        [mine.tracking_code, free.tracking_code]
    )
    with gateway.db.read_session() as session:
        actions = session.scalars(
            select(ComplaintEvent.action)
            .where(ComplaintEvent.complaint_id == mine.id)
            .order_by(ComplaintEvent.id)
        ).all()
        version = session.get(Complaint, mine.id).version  # type: ignore[union-attr]
    assert actions[-2:] == ["assigned", "unassigned"]
    assert version == mine.version  # an open form of a colleague is not made stale


def test_a_liaison_assigns_within_their_agency_only(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory, accounts: Accounts
) -> None:
    complaint = _disposed(gateway, directory)
    code = complaint.tracking_code
    pupr = clients["pupr"]
    for outsider in (accounts.koordinator, accounts.other_liaison, accounts.viewer):
        refused = pupr.post(
            f"/admin/complaints/{code}/assign", {"user_id": str(outsider)}, follow_redirects=True
        )
        assert "tidak dapat ditugasi" in refused.text
    assert pupr.post(f"/admin/complaints/{code}/assign", {"user_id": "me"}).status_code == 303
    with gateway.db.read_session() as session:
        held = session.get(ComplaintAssignment, complaint.id)
    assert held is not None and held.user_id == accounts.liaison
    assert _rows(pupr.get("/admin?assigned=me").text) == [code]
    # The koordinator may give it to the agency's liaison officer, never to another agency's.
    koor = clients["koor"]
    page = koor.get(f"/admin/complaints/{code}").text
    options = page[
        page.index('id="assign-user"') : page.index("</select>", page.index('id="assign-user"'))
    ]
    assert ">pupr (" in options and ">dlh (" not in options


def test_a_follower_is_assigned_on_its_case(clients: dict[str, Admin], gateway: Gateway) -> None:
    primary = make_complaint(gateway.db, S.RECEIVED)
    follower = make_complaint(gateway.db, S.RECEIVED, cluster_id=primary.id)
    response = clients["koor"].post(
        f"/admin/complaints/{follower.tracking_code}/assign",
        {"user_id": "me"},
        follow_redirects=True,
    )
    assert primary.tracking_code in response.text
    with gateway.db.read_session() as session:
        assert session.scalars(select(ComplaintAssignment)).all() == []


# --- the conversation ------------------------------------------------------------------------


def test_the_conversation_shows_both_sides_in_order_with_delivery_state(
    clients: dict[str, Admin], gateway: Gateway
) -> None:
    complaint = make_complaint(
        gateway.db, S.RECEIVED, reply_channel="telegram", reply_address="4242"
    )
    with gateway.db.session() as session:
        session.add(
            InboundMessage(
                channel="telegram",
                external_id="tg-1",
                sender="4242",
                sender_name="Warga <b>Leteh</b>",
                text="Jalan di Leteh rusak <script>x</script>",
                received_at=datetime.now(UTC) - timedelta(minutes=10),
                status="processed",
                complaint_id=complaint.id,
            )
        )
        session.commit()
    koor = clients["koor"]
    page = koor.get(f"/admin/complaints/{complaint.tracking_code}").text
    version = re.search(r'id="chat-reply".*?name="version" value="(\d+)"', page, re.S)
    assert version, "no reply box under the chat"
    sent = koor.post(
        f"/admin/complaints/{complaint.tracking_code}/reply",
        {"version": version.group(1), "text": "Terima kasih, kami cek ke lokasi."},
    )
    assert sent.status_code == 303
    chat = koor.get(f"/admin/complaints/{complaint.tracking_code}").text
    chat = chat[chat.index('id="chat"') : chat.index("</ol>", chat.index('id="chat"'))]
    assert chat.index("Jalan di Leteh rusak") < chat.index("kami cek ke lokasi")
    assert "&lt;script&gt;x&lt;/script&gt;" in chat and "Warga &lt;b&gt;Leteh" in chat
    assert 'data-state="queued"' in chat and ">antre<" in chat
    with gateway.db.session() as session:
        row = session.scalar(select(OutboxItem).where(OutboxItem.complaint_id == complaint.id))
        row.status, row.delivery_state = "sent", "read"  # type: ignore[union-attr]
        row.sent_at = datetime.now(UTC)  # type: ignore[union-attr]
        session.commit()
    chat = koor.get(f"/admin/complaints/{complaint.tracking_code}").text
    assert 'data-state="read"' in chat and ">dibaca<" in chat


# --- saved replies ---------------------------------------------------------------------------


def test_saved_replies_are_offered_filled_in_for_the_right_class_and_agency(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    koor = clients["koor"]
    created = koor.post(
        "/admin/replies",
        {
            "title": "Sudah diteruskan",
            "body_id": (
                "Aduan {kode} sudah diteruskan ke {instansi}; jawaban paling lambat {tenggat}."
            ),
            "body_en": "Complaint {kode} went to {instansi}; answer by {tenggat}.",
            "category": "pengaduan",
            "agency_id": str(directory.dpupr),
        },
    )
    assert created.status_code == 303
    koor.post(
        "/admin/replies",
        {
            "title": "Untuk aspirasi",
            "body_id": "Terima kasih atas aspirasi {kode}.",
            "category": "aspirasi",
        },
    )
    answer_due = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
    complaint = _disposed(gateway, directory, category="pengaduan", answer_due_at=answer_due)
    page = html.unescape(koor.get(f"/admin/complaints/{complaint.tracking_code}").text)
    expected = (
        f"Aduan {complaint.tracking_code} sudah diteruskan ke Dinas Pekerjaan Umum; "
        "jawaban paling lambat 04-12-2026."
    )
    assert f'data-text="{expected}"' in page
    assert "Untuk aspirasi" not in page  # another class
    english = _disposed(gateway, directory, category="pengaduan", language="en")
    page = html.unescape(koor.get(f"/admin/complaints/{english.tracking_code}").text)
    assert f"Complaint {english.tracking_code} went to Dinas Pekerjaan Umum" in page
    # The agency's liaison officer is offered it in the answer box too.
    assert (
        "Sudah diteruskan"
        in clients["pupr"].get(f"/admin/complaints/{complaint.tracking_code}").text
    )


def test_saved_replies_are_the_koordinators_and_checked(
    clients: dict[str, Admin], gateway: Gateway
) -> None:
    assert clients["pupr"].get("/admin/replies").status_code == 403
    assert (
        clients["pupr"].post("/admin/replies", {"title": "x", "body_id": "yy"}).status_code == 403
    )
    bad = clients["koor"].post("/admin/replies", {"title": "", "body_id": "Teks"})
    assert bad.status_code == 422 and "Judul balasan tersimpan wajib diisi" in bad.text
    odd = clients["koor"].post(
        "/admin/replies", {"title": "Kurung", "body_id": "Kode {kode} {0} {"}
    )
    assert odd.status_code == 303
    with gateway.db.read_session() as session:
        assert [r.title for r in session.scalars(select(SavedReply))] == ["Kurung"]
    complaint = make_complaint(gateway.db, S.RECEIVED, reply_channel="webform", reply_address="w")
    page = clients["koor"].get(f"/admin/complaints/{complaint.tracking_code}").text
    assert "Kode {kode} {0} {" in html.unescape(page)  # shown unfilled rather than a 500


# --- live parts ------------------------------------------------------------------------------


def test_the_inbox_refreshes_only_when_something_changed_and_says_who(
    clients: dict[str, Admin], gateway: Gateway
) -> None:
    complaint = make_complaint(gateway.db, S.RECEIVED, title="Drainase mampet")
    koor, other = clients["koor"], clients["lihat"]
    page = koor.get("/admin").text
    stamp = re.search(r'id="inbox-live" data-stamp="(\d+)"', page)
    assert stamp and f"since={stamp.group(1)}" in page
    assert koor.get(f"/admin/live/inbox?since={stamp.group(1)}").status_code == 204
    # A colleague (another koordinator) takes the complaint.
    with gateway.db.session() as session:
        from gateway.admin import accounts as auth
        from gateway.store.models import Role

        auth.create_user(session, "rekan", "correct horse battery", role=Role.KOORDINATOR)
        session.commit()
    from tests.gateway.admin.conftest import login

    assert login(other.client, "rekan").status_code == 303
    assert (
        other.post(
            f"/admin/complaints/{complaint.tracking_code}/assign", {"user_id": "me"}
        ).status_code
        == 303
    )
    fresh = koor.get(f"/admin/live/inbox?since={stamp.group(1)}")
    assert fresh.status_code == 200
    assert "Diubah oleh rekan" in fresh.text and 'class="assignee">rekan<' in fresh.text
    new_stamp = re.search(r'data-stamp="(\d+)"', fresh.text)
    assert new_stamp and int(new_stamp.group(1)) > int(stamp.group(1))
    assert koor.get(f"/admin/live/inbox?since={new_stamp.group(1)}").status_code == 204
    banner = koor.get(f"/admin/complaints/{complaint.tracking_code}/live?since={stamp.group(1)}")
    assert banner.status_code == 200 and "Diubah oleh rekan" in banner.text
    # A poll of an ended session stops polling instead of swapping a login page in.
    assert clients["anonymous"].get("/admin/live/inbox").status_code == 286


# --- maps --------------------------------------------------------------------------------------


def test_admin_pins_are_open_cases_coloured_by_deadline(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    now = datetime.now(UTC)
    late = _disposed(
        gateway, directory, latitude=-6.70, longitude=111.43, answer_due_at=now - timedelta(days=1)
    )
    approx = make_complaint(
        gateway.db, S.RECEIVED, kecamatan="Lasem", verify_due_at=now + timedelta(days=9)
    )
    make_complaint(gateway.db, S.CLOSED, latitude=-6.7, longitude=111.4)  # not open
    make_complaint(gateway.db, S.RECEIVED)  # nowhere
    pins = {p["code"]: p for p in clients["koor"].get("/admin/map/pins.json").json()["pins"]}
    assert set(pins) == {late.tracking_code, approx.tracking_code}
    assert (
        pins[late.tracking_code]["state"] == "overdue"
        and not pins[late.tracking_code]["approximate"]
    )
    assert pins[approx.tracking_code]["state"] == "ok" and pins[approx.tracking_code]["approximate"]
    liaison = {p["code"] for p in clients["pupr"].get("/admin/map/pins.json").json()["pins"]}
    assert liaison == {late.tracking_code}
    assert clients["dlh"].get("/admin/map/pins.json").json()["pins"] == []
    filtered = clients["koor"].get(f"/admin/map/pins.json?agency={directory.dlh}").json()
    assert filtered["pins"] == []
    page = clients["koor"].get("/admin/map").text
    assert "/static/vendor/leaflet/leaflet.js" in page and "Lasem" in html.unescape(page)


def test_the_public_map_is_rounded_and_keeps_rahasia_and_people_out(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    answered = datetime(2026, 10, 15, 3, 0, tzinfo=UTC)
    shown = _disposed(
        gateway,
        directory,
        latitude=-6.712345,
        longitude=111.456789,
        answered_at=answered,
        title="Jalan rusak, hubungi 0812 3456 7890",
    )
    hidden = _disposed(
        gateway, directory, latitude=-6.7, longitude=111.4, answered_at=answered, rahasia=True
    )
    with gateway.db.session() as session:
        for complaint_id in (shown.id, hidden.id):
            row = session.get(Complaint, complaint_id)
            row.status = S.ANSWERED.value  # type: ignore[union-attr]
        session.commit()
    body = clients["anonymous"].get("/publikasi/2026-10/peta.json").json()
    assert len(body["pins"]) == 1
    pin = body["pins"][0]
    assert (pin["lat"], pin["lon"]) == (-6.71, 111.46)
    assert pin["agency"] == "Dinas Pekerjaan Umum" and "0812" not in pin["title"]
    assert set(pin) == {"lat", "lon", "title", "category", "agency", "kecamatan"}
    raw = clients["anonymous"].get("/publikasi/2026-10/peta.json").text
    assert shown.tracking_code not in raw and hidden.tracking_code not in raw
    page = clients["anonymous"].get("/publikasi/2026-10/peta")
    assert page.status_code == 200 and "/static/vendor/leaflet/leaflet.js" in page.text
    assert 'href="/publikasi/2026-10/peta"' in clients["anonymous"].get("/publikasi/2026-10").text


def test_a_liaison_is_not_told_of_a_staff_only_note(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    code = _disposed(gateway, directory).tracking_code
    page = clients["pupr"].get(f"/admin/complaints/{code}").text
    stamp = re.search(r"/live\?since=(\d+)", page)
    assert stamp
    live_url = f"/admin/complaints/{code}/live?since={stamp.group(1)}"
    clients["koor"].post(f"/admin/complaints/{code}/note", {"body": STAFF_NOTE})
    assert clients["pupr"].get(live_url).status_code == 204
    clients["koor"].post(f"/admin/complaints/{code}/note", {"body": AGENCY_NOTE, "for_agency": "1"})
    told = clients["pupr"].get(live_url)
    assert told.status_code == 200 and "Diubah oleh koor" in told.text
