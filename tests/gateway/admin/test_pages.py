"""What the complaint page shows (messages as received, highlighted personal data, suggestions,
cluster, timeline, deadlines), that nothing a citizen wrote is ever rendered as HTML, and the
manual entry, users, agencies and outbox pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from markupsafe import Markup
from sqlalchemy import select

from gateway.admin import complaint_view
from gateway.context import Gateway
from gateway.store.models import (
    Agency,
    Attachment,
    Complaint,
    InboundMessage,
    Liaison,
    OutboxItem,
    OutboxStatus,
    Reporter,
    Role,
    Status,
    User,
)
from tests.gateway.admin.conftest import Admin, Directory, csrf_of
from tests.gateway.factories import make_complaint
from tests.images import image_bytes, same_picture

S = Status
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>"\'><b>'


def _message(gateway: Gateway, complaint: Complaint, **fields: object) -> int:
    values: dict[str, object] = {
        "channel": "twilio_whatsapp",
        "external_id": f"wa-{fields.get('text', '')[:10]}-{complaint.id}",  # type: ignore[index]
        "sender": "+6281234500001",
        "received_at": datetime(2026, 11, 2, 3, 0, tzinfo=UTC),
        "complaint_id": complaint.id,
        "status": "processed",
        **fields,
    }
    with gateway.db.session() as session:
        row = InboundMessage(**values)  # type: ignore[arg-type]
        session.add(row)
        session.commit()
        return row.id  # type: ignore[return-value]


def test_complaint_page_shows_messages_in_order_with_photos_and_map(
    clients: dict[str, Admin], gateway: Gateway
) -> None:
    complaint = make_complaint(gateway.db, S.RECEIVED, origin_channel="twilio_whatsapp")
    second = _message(
        gateway,
        complaint,
        text="ini fotonya",
        external_id="wa-2",
        received_at=datetime(2026, 11, 2, 3, 5, tzinfo=UTC),
    )
    _message(
        gateway,
        complaint,
        text="jalan di depan pasar rusak",
        external_id="wa-1",
        latitude=-6.7001,
        longitude=111.4302,
        location_label="Pasar Lasem",
    )
    stored = gateway.files.put(image_bytes("PNG"), "image/png")
    with gateway.db.session() as session:
        photo = Attachment(
            complaint_id=complaint.id,
            inbound_message_id=second,
            storage_key=stored.key,
            content_type="image/png",
        )
        session.add(photo)
        session.commit()
    page = clients["koor"].get(f"/admin/complaints/{complaint.tracking_code}").text
    messages = page[page.index('id="h-messages"') : page.index('id="h-cluster"')]
    assert messages.index("jalan di depan pasar rusak") < messages.index("ini fotonya")
    assert "Pasar Lasem" in messages and "-6.700100, 111.430200" in messages
    assert "openstreetmap.org/?mlat=-6.700100&amp;mlon=111.430200" in messages
    assert f'src="/admin/attachments/{photo.id}"' in messages
    assert clients["koor"].get(f"/admin/attachments/{photo.id}").content == image_bytes("PNG")


def test_personal_data_is_highlighted_in_the_original_text(
    clients: dict[str, Admin], gateway: Gateway
) -> None:
    text = "Nama saya Budi, NIK 3317010101900001, jalan rusak"
    complaint = make_complaint(
        gateway.db,
        S.RECEIVED,
        original_text=text,
        pii_spans=[
            {"kind": "nama", "start": 10, "end": 14, "text": "Budi"},
            {"kind": "nik", "start": 20, "end": 36, "text": "3317010101900001"},
        ],
    )
    page = clients["koor"].get(f"/admin/complaints/{complaint.tracking_code}").text
    original = page[page.index('id="original-text"') :]
    original = original[: original.index("</div>")]
    assert '<mark class="pii" data-kind="nama" title="Nama">Budi</mark>' in original
    assert '<mark class="pii" data-kind="nik" title="NIK">3317010101900001</mark>' in original
    assert original.endswith(", jalan rusak")


def test_highlight_escapes_every_piece_and_ignores_spans_that_do_not_fit() -> None:
    text = "<b>Budi</b> & 0812"
    spans = [
        {"kind": "nama", "start": 3, "end": 7},
        {"kind": '"><script>', "start": 14, "end": 18},
        {"kind": "nik", "start": 5, "end": 9},  # overlaps: skipped
        {"kind": "x", "start": 17, "end": 99},  # out of range: skipped
        {"kind": "x", "start": "a", "end": None},  # garbage: skipped
    ]
    html = complaint_view.highlight(text, spans, {"nama": "Nama"})
    assert isinstance(html, Markup)
    assert str(html) == (
        '&lt;b&gt;<mark class="pii" data-kind="nama" title="Nama">Budi</mark>&lt;/b&gt; &amp; '
        '<mark class="pii" data-kind="&#34;&gt;&lt;script&gt;" '
        'title="&#34;&gt;&lt;script&gt;">0812</mark>'
    )


def test_suggestions_are_shown_with_reasons_or_said_to_be_missing(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    bare = make_complaint(gateway.db, S.RECEIVED)
    page = clients["koor"].get(f"/admin/complaints/{bare.tracking_code}").text
    assert page.count("belum ada saran") == 3
    suggested = make_complaint(
        gateway.db,
        S.RECEIVED,
        category_suggestions=[{"category": "pengaduan", "score": 0.91, "reason": "kata: rusak"}],
        agency_suggestions=[
            {
                "code": "DPUPR",
                "agency_id": directory.dpupr,
                "score": 0.75,
                "reason": "kata kunci: jalan",
            }
        ],
        place_suggestion={
            "kecamatan": "Lasem",
            "kelurahan": "Soditan",
            "score": 80.0,  # a percentage, as normalizer/location.py scores a place
            "matched": "soditan",
        },
    )
    page = clients["koor"].get(f"/admin/complaints/{suggested.tracking_code}").text
    panel = page[page.index('id="suggestions"') : page.index('id="actions"')]
    for text in (
        "Pengaduan",
        "91%",
        "kata: rusak",
        "Dinas Pekerjaan Umum",
        "75%",
        "kata kunci: jalan",
        "Soditan, Lasem",
        "80%",
        "“soditan”",
    ):
        assert text in panel
    assert "belum ada saran" not in panel
    # ... and prefilled in the verify form.
    assert '<option value="pengaduan" selected>' in page
    assert 'name="kecamatan" maxlength="100" value="Lasem"' in page


def test_timeline_names_the_admin_and_deadlines_show_their_state(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    complaint = make_complaint(
        gateway.db, S.VERIFIED, verify_due_at=datetime.now(UTC) - timedelta(hours=3)
    )
    koor = clients["koor"]
    koor.act(complaint.tracking_code, "anonymise", {"anonim": "1"})
    page = koor.get(f"/admin/complaints/{complaint.tracking_code}").text
    timeline = page[page.index('id="timeline"') :]
    assert "Dianonimkan / dirahasiakan" in timeline and "koor" in timeline
    deadlines = page[page.index('id="deadlines"') :]
    assert "Verifikasi dan disposisi" in deadlines and "Lewat tenggat" in deadlines


def test_hostile_text_is_never_rendered_as_html(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    with gateway.db.session() as session:
        reporter = Reporter(display_name=HOSTILE, phone="+6281200000001", email="a@b.id")
        agency = session.get(Agency, directory.dpupr)
        agency.name = "Dinas " + HOSTILE  # type: ignore[union-attr]
        session.add_all([reporter, agency])  # type: ignore[list-item]
        session.commit()
    text = f"Tolong {HOSTILE} segera"
    complaint = make_complaint(
        gateway.db,
        S.DISPOSED,
        agency_id=directory.dpupr,
        reporter_id=reporter.id,
        title=HOSTILE,
        original_text=text,
        clean_text=text,
        masked_text=text,
        location_text=HOSTILE,
        kecamatan=HOSTILE,
        kelurahan=HOSTILE,
        source_url=HOSTILE,
        pii_spans=[{"kind": HOSTILE, "start": 7, "end": 30, "text": HOSTILE}],
        category_suggestions=[{"category": "pengaduan", "score": 1, "reason": HOSTILE}],
        agency_suggestions=[{"code": HOSTILE, "agency_id": None, "score": 1, "reason": HOSTILE}],
        place_suggestion={
            "kecamatan": HOSTILE,
            "kelurahan": HOSTILE,
            "score": 1,
            "matched": HOSTILE,
        },
    )
    make_complaint(gateway.db, S.RECEIVED, cluster_id=complaint.id, clean_text=HOSTILE)
    _message(
        gateway,
        complaint,
        text=HOSTILE,
        sender_name=HOSTILE,
        location_label=HOSTILE,
        latitude=1.0,
        longitude=2.0,
    )
    with gateway.db.session() as session:
        row = session.get(Complaint, complaint.id)
        row.delivery_problem = HOSTILE  # type: ignore[union-attr]
        session.commit()
    pages = [
        clients["koor"].get(f"/admin/complaints/{complaint.tracking_code}").text,
        clients["koor"].get("/admin").text,
        clients["koor"].get(f"/admin?q={complaint.tracking_code}&kecamatan={HOSTILE[:20]}").text,
        clients["pupr"].get(f"/admin/complaints/{complaint.tracking_code}").text,
        clients["koor"].get("/admin/agencies").text,
    ]
    for page in pages:
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "onerror=alert(1)>" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in pages[0]
    assert 'href="&lt;script' not in pages[0]  # only an http(s) source becomes a link
    # Every tag in the page is one of ours; the only scripts are our own static files.
    own_scripts = re.compile(r'<script src="/static/[\w./-]+" defer></script>')
    assert "<script" not in own_scripts.sub("", pages[0])
    tags = set(re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", own_scripts.sub("", pages[0])))
    assert tags <= {
        "html",
        "head",
        "meta",
        "title",
        "link",
        "body",
        "a",
        "header",
        "div",
        "strong",
        "span",
        "nav",
        "form",
        "input",
        "button",
        "main",
        "p",
        "h1",
        "h2",
        "h3",
        "section",
        "mark",
        "article",
        "time",
        "ol",
        "li",
        "blockquote",
        "dl",
        "dt",
        "dd",
        "br",
        "small",
        "details",
        "summary",
        "label",
        "textarea",
        "select",
        "option",
        "fieldset",
        "legend",
    }


# --- manual entry ---------------------------------------------------------------------------


def test_manual_entry_creates_a_complaint_that_follows_the_same_path(
    clients: dict[str, Admin], gateway: Gateway
) -> None:
    koor = clients["koor"]
    form = {
        "source": "tiktok",
        "source_url": "https://www.tiktok.com/@warga/video/123",
        "description": "Video warga: jembatan di Desa Pandean ambrol, anak sekolah memutar jauh.",
        "name": "Warga Pandean",
        "phone": "0812 3456 7890",
        "location_text": "Desa Pandean, Rembang",
        "received_at": "2026-11-01T09:30",
    }
    page = koor.get("/admin/entry").text
    response = koor.client.post(
        "/admin/entry",
        data={"csrf_token": csrf_of(page), **form},
        files=[("photos", ("jembatan.jpg", image_bytes("JPEG"), "image/jpeg"))],
        follow_redirects=False,
    )
    assert response.status_code == 303
    code = response.headers["location"].rsplit("/", 1)[1]
    with gateway.db.read_session() as session:
        row = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert row is not None
        assert (row.origin_channel, row.source, row.source_url, row.status) == (
            "manual",
            "tiktok",
            form["source_url"],
            S.RECEIVED,
        )
        assert row.reply_channel is None and row.title  # enriched like any complaint
        assert row.received_at == datetime(2026, 11, 1, 2, 30, tzinfo=UTC)  # 09:30 WIB
        reporter = session.get(Reporter, row.reporter_id)
        assert reporter is not None and reporter.phone == "+6281234567890"
        inbound = session.scalars(
            select(InboundMessage).where(InboundMessage.complaint_id == row.id)
        ).one()
        assert inbound.channel == "manual" and inbound.extra["entered_by"].startswith("user:")
        assert session.scalars(select(Attachment).where(Attachment.complaint_id == row.id)).one()
    page = koor.get(f"/admin/complaints/{code}").text
    assert f"Aduan tercatat dengan kode {code}." in page
    assert "TikTok" in page and "Dicatat manual oleh admin" in page
    assert "jawab di sumber aduan" in page
    assert code in koor.get("/admin?channel=manual").text
    verified = koor.act(
        code,
        "verify",
        {
            "relevant": "1",
            "complete": "1",
            "clear": "1",
            "title": "Jembatan ambrol",
            "category": "pengaduan",
        },
    )
    assert verified.status_code == 303


def test_a_photo_entered_by_hand_is_stored_and_shown_at_once(
    clients: dict[str, Admin], gateway: Gateway
) -> None:
    """The manual entry stores its photos before intake, like the web form: they are not
    provider references to download (that said "channel manual is not configured")."""
    koor = clients["koor"]
    photo = image_bytes("JPEG")
    page = koor.get("/admin/entry").text
    response = koor.client.post(
        "/admin/entry",
        data={
            "csrf_token": csrf_of(page),
            "source": "walk_in",
            "description": "Warga datang: talud sungai di Desa Leteh longsor kemarin sore.",
        },
        files=[("photos", ("talud.jpg", photo, "image/jpeg"))],
        follow_redirects=False,
    )
    assert response.status_code == 303
    code = response.headers["location"].rsplit("/", 1)[1]
    with gateway.db.read_session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert complaint is not None
        attachment = session.scalars(
            select(Attachment).where(Attachment.complaint_id == complaint.id)
        ).one()
    assert attachment.status == "stored" and attachment.error is None
    assert same_picture(gateway.files.read(attachment.storage_key or ""), photo)
    page = koor.get(f"/admin/complaints/{code}").text
    assert f'src="/admin/attachments/{attachment.id}"' in page
    assert same_picture(koor.get(f"/admin/attachments/{attachment.id}").content, photo)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("source", "", "Pilih dari mana aduan ini datang"),
        ("source_url", "javascript:alert(1)", "alamat web lengkap"),
        ("received_at", "2099-01-01T00:00", "masa depan"),
        ("description", "pendek", "Uraian terlalu singkat"),
        ("phone", "12", "Nomor HP tidak valid"),
    ],
)
def test_manual_entry_explains_what_is_wrong(
    clients: dict[str, Admin], gateway: Gateway, field: str, value: str, message: str
) -> None:
    form = {"source": "phone", "description": "Lampu jalan di gang mati sejak seminggu."}
    form[field] = value
    response = clients["koor"].post("/admin/entry", form)
    assert response.status_code == 422 and message in response.text
    with gateway.db.read_session() as session:
        assert session.scalar(select(Complaint.id)) is None


# --- users, agencies, outbox --------------------------------------------------------------------


def test_koordinator_creates_and_edits_accounts(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    koor = clients["koor"]
    response = koor.post(
        "/admin/users",
        {
            "username": "Penghubung.DLH",
            "display_name": "Bu Dwi",
            "role": "liaison",
            "agency_id": str(directory.dlh),
            "password": "rahasia sekali",
        },
    )
    assert response.status_code == 303
    with gateway.db.read_session() as session:
        user = session.scalar(select(User).where(User.username == "penghubung.dlh"))
        assert user is not None and user.role == Role.LIAISON and user.agency_id == directory.dlh
    refused = koor.post("/admin/users", {"username": "x", "role": "liaison", "password": "p" * 12})
    assert refused.status_code == 422 and "harus terhubung ke satu perangkat daerah" in refused.text
    short = koor.post("/admin/users", {"username": "y", "role": "viewer", "password": "pendek"})
    assert short.status_code == 422 and "minimal 10 karakter" in short.text
    koor.post(f"/admin/users/{user.id}", {"role": "viewer", "display_name": "Bu Dwi", "active": ""})
    with gateway.db.read_session() as session:
        changed = session.get(User, user.id)
        assert changed is not None and changed.role == Role.VIEWER
        assert changed.agency_id is None and not changed.active


def test_a_koordinator_cannot_lock_themselves_out(clients: dict[str, Admin], accounts) -> None:  # type: ignore[no-untyped-def]
    response = clients["koor"].post(
        f"/admin/users/{accounts.koordinator}", {"role": "viewer", "active": "1"}
    )
    assert response.status_code == 422 and "akun Anda sendiri" in response.text
    assert clients["koor"].get("/admin/users").status_code == 200


def test_agency_directory_is_editable(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    koor = clients["koor"]
    response = koor.post(
        "/admin/agencies",
        {
            "code": "dishub",
            "name": "Dinas Perhubungan",
            "function_group": "Infrastruktur",
            "keywords": "Rambu, parkir\nlampu lalu lintas, rambu",
        },
    )
    assert response.status_code == 303
    with gateway.db.read_session() as session:
        agency = session.scalar(select(Agency).where(Agency.code == "DISHUB"))
        assert agency is not None
        assert agency.keywords == ["rambu", "parkir", "lampu lalu lintas"]
        assert agency.function_group == "infrastruktur"
    taken = koor.post("/admin/agencies", {"code": "DPUPR", "name": "Lagi"})
    assert taken.status_code == 422 and "sudah dipakai" in taken.text
    assert (
        koor.post(
            f"/admin/agencies/{agency.id}/liaisons", {"name": "Agus", "whatsapp": "0811-0000-0201"}
        ).status_code
        == 303
    )
    bad = koor.post(f"/admin/agencies/{agency.id}/liaisons", {"name": "Agus", "whatsapp": "123"})
    assert bad.status_code == 422 and "Nomor WhatsApp tidak valid" in bad.text
    with gateway.db.read_session() as session:
        liaison = session.scalar(select(Liaison).where(Liaison.agency_id == agency.id))
        assert liaison is not None and liaison.whatsapp == "+6281100000201"
    koor.post(f"/admin/liaisons/{liaison.id}", {"name": "Agus P.", "whatsapp": "+6281100000201"})
    with gateway.db.read_session() as session:
        changed = session.get(Liaison, liaison.id)
        assert changed is not None and changed.name == "Agus P." and not changed.active
    page = koor.get("/admin/agencies").text
    assert "DISHUB — Dinas Perhubungan" in page and "rambu, parkir, lampu lalu lintas" in page


def test_dead_letters_are_listed_and_can_be_sent_again(
    clients: dict[str, Admin], gateway: Gateway
) -> None:
    complaint = make_complaint(gateway.db, S.DISPOSED)
    with gateway.db.session() as session:
        dead = OutboxItem(
            kind="notify_liaison",
            idempotency_key="k-dead",
            channel="twilio_whatsapp",
            recipient="+6281100000101",
            complaint_id=complaint.id,
            status=OutboxStatus.DEAD,
            attempts=8,
            last_error="63016 outside window",
        )
        session.add(dead)
        session.commit()
    koor = clients["koor"]
    page = koor.get("/admin/outbox").text
    assert "63016 outside window" in page and complaint.tracking_code in page
    assert "WhatsApp ke pejabat penghubung" in page and "8 kali dicoba" in page
    assert koor.post(f"/admin/outbox/{dead.id}/resend").status_code == 303
    with gateway.db.read_session() as session:
        row = session.get(OutboxItem, dead.id)
        assert row is not None and row.status == OutboxStatus.PENDING and row.attempts == 0
    after = koor.get("/admin/outbox").text
    assert "Pesan masuk antrean lagi" in after and 'id="no-dead"' in after
    again = koor.post(f"/admin/outbox/{dead.id}/resend")
    assert "tidak (lagi) berstatus gagal" in koor.get(again.headers["location"]).text


def test_an_escalated_complaint_is_marked_in_the_inbox(
    clients: dict[str, Admin], gateway: Gateway
) -> None:
    from gateway.clock import utcnow
    from tests.gateway.factories import make_complaint

    late = make_complaint(gateway.db, Status.DISPOSED, escalated=True, escalated_at=utcnow())
    on_time = make_complaint(gateway.db, Status.DISPOSED)
    page = clients["koor"].get("/admin?status=disposed").text
    row_late = page.split(late.tracking_code, 1)[1].split("</tr>", 1)[0]
    row_ok = page.split(on_time.tracking_code, 1)[1].split("</tr>", 1)[0]
    from config.messages import t

    label = t("id", "admin.flag.escalated")
    assert label in row_late and label not in row_ok
