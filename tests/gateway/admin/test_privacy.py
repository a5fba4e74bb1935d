"""Personal data is safe by default (issue 10, section 2): what leaves the gateway is built by
`gateway.complaints.disclosure` from the masked clean text; the complaint page shows exactly that;
public pages show an allow-list; every stored photo has lost its metadata."""

from __future__ import annotations

import asyncio
import base64
import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from channels.base import Media
from config.settings import Settings, load_settings
from forwarder.simulator.core import CoreSimulator
from gateway.complaints.public_status import PUBLIC_EVENTS
from gateway.context import Gateway
from gateway.intake import attachments
from gateway.jobs.scheduler import worker_id
from gateway.store.db import Database
from gateway.store.models import (
    Attachment,
    AttachmentStatus,
    Complaint,
    ComplaintEvent,
    InboundMessage,
    OutboxItem,
    Status,
)
from tests.conftest import RunningTelegram, RunningTwilio
from tests.gateway.admin.conftest import Admin, Directory, csrf_of, version_of
from tests.gateway.chat import Chat
from tests.gateway.core_env import make_gateway, start_core
from tests.gateway.factories import make_complaint
from tests.images import phone_photo, private_traces

S = Status
NIK = "3317012304850002"
OTHER_PHONE = "0813-2222-3333"
ACCOUNT = "1234 5678 9012 345"
EMAIL = "siti.lapor@example.com"
REPORTER_PHONE = "0812 3456 7890"
REPORTER_E164 = "+6281234567890"
TEXT = (
    "Jln depan SD 2 Lasem rusak parah bgt, sdh 3 motor jatuh. NIK saya "
    f"{NIK}, hp {OTHER_PHONE}, rek BRI {ACCOUNT}, email {EMAIL}. "
    f"Kalau perlu hubungi {REPORTER_PHONE}."
)
SECRETS = (
    NIK,
    OTHER_PHONE,
    "08132222",
    ACCOUNT,
    EMAIL,
    REPORTER_PHONE,
    REPORTER_E164,
    "81234567890",
)
INTERNAL_NOTE = "Catatan internal: pelapor ini sering mengadu"


@pytest.fixture
def core(tmp_path: Path) -> Iterator[tuple[CoreSimulator, str]]:
    server, simulator, url = start_core(tmp_path)
    try:
        yield simulator, url
    finally:
        server.stop()


@pytest.fixture
def settings(tmp_path: Path, db_url: str, core: tuple[CoreSimulator, str]) -> Settings:
    return load_settings(
        app_env="test",
        database_url=db_url,
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        secret_key="test-secret-key-not-for-production",
        core_backend="simulator",
        core_base_url=core[1],
        core_timeout_seconds=2,
        core_retries=0,
        _env_file=None,
    )


def _dispatch(gateway: Gateway) -> None:
    asyncio.run(gateway.dispatcher(worker_id()).drain())


def _file_by_form(
    client: Admin, *, anonim: bool = False, text: str = TEXT, photo: bytes | None = None
) -> str:
    page = client.get("/lapor").text
    token = re.search(r'name="submission_id" value="([0-9a-f]{32})"', page)
    assert token
    data = {
        "submission_id": token.group(1),
        "description": text,
        "name": "Siti Aminah",
        "phone": REPORTER_PHONE,
        "location_text": "Depan SD 2 Lasem, rumah Bu Siti 0812 3456 7890",
        "consent": "1",
    }
    if anonim:
        data["anonim"] = "1"
    files = [("photos", ("IMG_0001.jpg", photo, "image/jpeg"))] if photo else []
    response = client.client.post("/lapor", data=data, files=files, follow_redirects=False)
    assert response.status_code == 303, response.text[:500]
    return response.headers["location"].split("/status/")[1].split("?")[0].split("/")[0]


def _verify_and_dispose(koor: Admin, code: str, agency_id: int, title: str) -> None:
    verified = koor.act(
        code,
        "verify",
        {
            "relevant": "1",
            "complete": "1",
            "clear": "1",
            "title": title,
            "category": "pengaduan",
        },
    )
    assert verified.status_code == 303
    disposed = koor.act(code, "dispose", {"agency_id": str(agency_id), "note": INTERNAL_NOTE})
    assert disposed.status_code == 303


def _shown(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">(.*?)</(?:div|dd)>', page, re.S)
    assert match, f"no #{element_id} on the page"
    return html.unescape(match.group(1))


def _core_report(core: tuple[CoreSimulator, str], code: str) -> dict:
    report = core[0].store.find_report(code)
    assert report is not None, "the core has no report"
    return report.payload


# --- the text that leaves: core, page, liaison ---------------------------------------------------


def test_what_the_page_says_is_forwarded_is_what_the_core_receives_without_personal_data(
    clients: dict[str, Admin],
    gateway: Gateway,
    directory: Directory,
    core: tuple[CoreSimulator, str],
) -> None:
    koor = clients["koor"]
    code = _file_by_form(clients["anonymous"])
    # The admin types a title with a number in it and never presses "Anonimkan".
    _verify_and_dispose(koor, code, directory.dpupr, f"Jalan rusak, hubungi {OTHER_PHONE}")
    page = koor.get(f"/admin/complaints/{code}").text
    _dispatch(gateway)

    report = _core_report(core, code)
    for secret in SECRETS:
        assert secret not in report["description"], secret
        assert secret not in report["title"], secret
        assert secret not in (report.get("location_text") or ""), secret
    assert "[NIK]" in report["description"] and "[REKENING]" in report["description"]
    assert "jalan" in report["description"].lower() and "bgt" not in report["description"]
    # The reporter's contact travels in the reporter fields, and only there.
    assert (report["reporter_name"], report["reporter_contact"]) == ("Siti Aminah", REPORTER_E164)
    # Byte for byte: the page's preview is the report.
    assert _shown(page, "published-text") == report["description"]
    assert _shown(page, "forwarded-title") == report["title"]
    assert REPORTER_E164 in _shown(page, "forwarded-reporter")
    assert all(not a["filename"].startswith("IMG") for a in report.get("attachments", []))

    with gateway.db.read_session() as session:
        notices = session.scalars(
            select(OutboxItem).where(OutboxItem.kind == "notify_liaison")
        ).all()
    assert len(notices) == len(directory.dpupr_liaisons)
    for notice in notices:
        flat = repr(notice.payload)
        assert code in flat
        for secret in SECRETS:
            assert secret not in flat, secret


def test_an_anonim_report_reaches_the_core_without_any_identity(
    clients: dict[str, Admin],
    gateway: Gateway,
    directory: Directory,
    core: tuple[CoreSimulator, str],
) -> None:
    text = "Saya Siti Aminah warga Leteh, jalan depan rumah saya rusak. Hubungi 0812 3456 7890."
    code = _file_by_form(clients["anonymous"], anonim=True, text=text)
    _verify_and_dispose(clients["koor"], code, directory.dpupr, "Jalan rusak di Leteh")
    _dispatch(gateway)
    report = _core_report(core, code)
    assert report["anonim"] is True
    assert report["reporter_name"] is None and report["reporter_contact"] is None
    for secret in ("Siti Aminah", REPORTER_PHONE, REPORTER_E164):
        assert secret not in repr(report), secret
    # The agency's liaison officer sees what the core got, and no reporter.
    page = clients["pupr"].get(f"/admin/complaints/{code}").text
    assert _shown(page, "published-text") == report["description"]
    assert "Siti Aminah" not in page and REPORTER_E164 not in page


def test_an_admin_edited_text_is_what_is_forwarded_with_numbers_still_masked(
    clients: dict[str, Admin],
    gateway: Gateway,
    directory: Directory,
    core: tuple[CoreSimulator, str],
) -> None:
    koor = clients["koor"]
    code = _file_by_form(clients["anonymous"])
    edited = f"Jalan depan SD 2 Lasem rusak parah. Pelapor: {NIK}."
    assert koor.act(code, "anonymise", {"masked_text": edited, "rahasia": "1"}).status_code == 303
    _verify_and_dispose(koor, code, directory.dpupr, "Jalan rusak")
    page = koor.get(f"/admin/complaints/{code}").text
    _dispatch(gateway)
    report = _core_report(core, code)
    assert report["description"] == "Jalan depan SD 2 Lasem rusak parah. Pelapor: [NIK]."
    assert _shown(page, "published-text") == report["description"]


# --- public pages: an allow-list ------------------------------------------------------------------


def _every_action() -> set[str]:
    """Every action the admin timeline knows a label for, and every one the public list names:
    a new action is walked as soon as it gets a label."""
    catalog = yaml.safe_load(Path("config/messages/id.yaml").read_text("utf-8"))
    return set(catalog["admin"]["event"]) | set(catalog["event"]) | set(PUBLIC_EVENTS)


def test_public_pages_show_only_allow_listed_events_and_texts(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    complaint = make_complaint(gateway.db, S.ANSWERED, agency_id=directory.dpupr)
    actions = sorted(_every_action())
    with gateway.db.session() as session:
        for action in actions:
            session.add(
                ComplaintEvent(
                    complaint_id=complaint.id,  # type: ignore[arg-type]
                    actor="user:1",
                    action=action,
                    to_status=S.ANSWERED.value,
                    note=f"catatan-{action} hubungi {OTHER_PHONE}",
                    public=True,
                )
            )
        session.commit()
    code = complaint.tracking_code
    anonymous = clients["anonymous"]
    page = anonymous.get(f"/status/{code}").text
    api = anonymous.get(f"/api/v1/complaints/{code}").text
    for action in actions:
        rule = PUBLIC_EVENTS.get(action)
        for where, body in (("html", page), ("json", api)):
            shown = f"catatan-{action} " in body
            assert shown == bool(rule and rule.shows_note), (action, where)
    for body in (page, api):
        assert OTHER_PHONE not in body and "08132222" not in body
        assert "[TELEPON]" in body  # the allowed texts are shown, masked
        assert "koor" not in body  # never who did it


def test_a_disposition_note_stays_inside_but_the_question_reaches_the_status_page(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    koor = clients["koor"]
    complaint = make_complaint(
        gateway.db, S.RECEIVED, reply_channel="webform", reply_address="web:warga"
    )
    code = complaint.tracking_code
    question = f"Mohon kirim foto lokasi; atau telepon kami di {OTHER_PHONE}"
    assert koor.act(code, "pend", {"question": question}).status_code == 303
    assert koor.act(code, "resume").status_code == 303
    _verify_and_dispose(koor, code, directory.dpupr, "Jalan rusak")
    page = clients["anonymous"].get(f"/status/{code}").text
    api = clients["anonymous"].get(f"/api/v1/complaints/{code}").json()
    notes = [h["note"] for h in api["history"] if h["note"]]
    assert INTERNAL_NOTE not in page and INTERNAL_NOTE not in repr(api)
    assert notes == ["Mohon kirim foto lokasi; atau telepon kami di [TELEPON]"]
    assert "Mohon kirim foto lokasi" in page and OTHER_PHONE not in page
    assert "Dinas Pekerjaan Umum" in page  # where it went is public


def test_publikasi_shows_the_clean_masked_text(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    code = _file_by_form(clients["anonymous"])
    with gateway.db.session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert complaint is not None
        complaint.status = S.ANSWERED.value
        complaint.agency_id = directory.dpupr
        complaint.answered_at = datetime(2026, 10, 15, 3, 0, tzinfo=UTC)
        session.commit()
    anonymous = clients["anonymous"]
    for suffix in ("", ".txt", ".csv"):
        body = anonymous.get(f"/publikasi/2026-10{suffix}").text
        assert "Dinas Pekerjaan Umum" in body, suffix
        for secret in (*SECRETS, "Siti Aminah", code):
            assert secret not in body, (suffix, secret)
    page = anonymous.get("/publikasi/2026-10").text
    assert "Jalan depan SD 2 Lasem rusak parah sekali" in page and "bgt" not in page
    assert "[NIK]" in page


# --- photos: stripped on every path ---------------------------------------------------------------


def _stored_photos(gateway: Gateway, **where: object) -> list[Attachment]:
    with gateway.db.read_session() as session:
        query = select(Attachment).order_by(Attachment.id)
        for name, value in where.items():
            query = query.where(getattr(Attachment, name) == value)
        return list(session.scalars(query).all())


def _assert_clean_everywhere(gateway: Gateway, admin: Admin, attachment: Attachment) -> None:
    assert attachment.status == AttachmentStatus.STORED and attachment.storage_key
    stored = gateway.files.read(attachment.storage_key)
    assert private_traces(stored) == []
    assert attachment.size == len(stored)
    served = admin.get(f"/admin/attachments/{attachment.id}")
    assert served.status_code == 200 and private_traces(served.content) == []
    assert attachment.id is not None
    link = gateway.media_links.url(attachment.id).split("/media/")[1]
    public = admin.client.get(f"/media/{link}")
    assert public.status_code == 200 and public.content == stored


def test_web_form_and_api_photos_are_stored_without_metadata(
    clients: dict[str, Admin], gateway: Gateway
) -> None:
    original = phone_photo("JPEG", size=(120, 80))
    _file_by_form(clients["anonymous"], photo=original)
    body = {
        "description": "Lampu jalan mati di depan balai desa Leteh sejak seminggu",
        "consent": True,
        "anonim": True,
        "photos": [{"filename": "gps.jpg", "content_base64": base64.b64encode(original).decode()}],
    }
    assert clients["anonymous"].client.post("/api/v1/complaints", json=body).status_code == 202
    photos = _stored_photos(gateway, source="reporter")
    assert len(photos) == 2
    for attachment in photos:
        _assert_clean_everywhere(gateway, clients["koor"], attachment)
        assert gateway.files.read(attachment.storage_key or "") != original
    # The original bytes are kept nowhere.
    assert not any(
        path.read_bytes() == original
        for path in Path(gateway.files.root).rglob("*")
        if path.is_file()
    )


def test_a_file_that_only_looks_like_a_photo_gets_a_readable_message(
    clients: dict[str, Admin], gateway: Gateway
) -> None:
    page = clients["anonymous"].get("/lapor").text
    token = re.search(r'name="submission_id" value="([0-9a-f]{32})"', page)
    assert token
    fake = b"\xff\xd8\xff\xe0" + b"\x00" * 500  # a JPEG's first bytes, then nothing
    response = clients["anonymous"].client.post(
        "/lapor",
        data={"submission_id": token.group(1), "description": TEXT, "consent": "1"},
        files=[("photos", ("foto.jpg", fake, "image/jpeg"))],
    )
    assert response.status_code == 422
    assert "foto.jpg bukan foto JPG, PNG, WebP atau HEIC" in response.text
    assert _stored_photos(gateway) == []


def test_manual_entry_photos_are_stored_without_metadata(
    clients: dict[str, Admin], gateway: Gateway
) -> None:
    koor = clients["koor"]
    page = koor.get("/admin/entry").text
    response = koor.client.post(
        "/admin/entry",
        data={
            "csrf_token": csrf_of(page),
            "source": "instagram",
            "description": "Foto warga: jembatan di Desa Pandean ambrol, anak sekolah memutar.",
        },
        files=[("photos", ("jembatan.jpg", phone_photo("PNG"), "image/png"))],
        follow_redirects=False,
    )
    assert response.status_code == 303
    with gateway.db.read_session() as session:
        row = session.scalars(select(InboundMessage)).one()
    [media] = row.media
    assert private_traces(gateway.files.read(media["ref"])) == []


def test_liaison_answer_photos_are_stored_without_metadata(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    complaint = make_complaint(
        gateway.db,
        S.DISPOSED,
        agency_id=directory.dpupr,
        reply_channel="webform",
        reply_address="web:warga",
    )
    pupr = clients["pupr"]
    page = pupr.get(f"/admin/complaints/{complaint.tracking_code}").text
    response = pupr.client.post(
        f"/admin/complaints/{complaint.tracking_code}/answer",
        data={
            "csrf_token": csrf_of(page),
            "version": version_of(page),
            "text": "Lubang sudah ditambal, terima kasih.",
        },
        files=[("photos", ("hasil.webp", phone_photo("WEBP"), "image/webp"))],
        follow_redirects=False,
    )
    assert response.status_code == 303
    [photo] = _stored_photos(gateway, source="liaison")
    assert photo.content_type == "image/webp"
    _assert_clean_everywhere(gateway, pupr, photo)


@pytest.fixture
def live(
    db: Database,
    db_url: str,
    tmp_path: Path,
    twilio: RunningTwilio,
    telegram: RunningTelegram,
    core: tuple[CoreSimulator, str],
) -> Gateway:
    return make_gateway(db, db_url, tmp_path / "live", core[1], twilio, telegram)


def test_downloaded_chat_and_core_photos_are_stored_without_metadata(
    live: Gateway, twilio: RunningTwilio, core: tuple[CoreSimulator, str]
) -> None:
    photo = twilio.fake.add_media("MM9", "ME9", phone_photo("JPEG"), "image/jpeg")
    junk = twilio.fake.add_media("MM9", "ME10", b"\xff\xd8\xff" + b"\x00" * 64, "image/jpeg")
    chat = Chat(live, channel="twilio_whatsapp", sender="+6281233330009")
    chat.send("halo")
    chat.send("ya")
    chat.send(
        "Tumpukan sampah di depan Pasar Kragan sudah seminggu",
        media=[
            Media(url=photo, content_type="image/jpeg"),
            Media(url=junk, content_type="image/jpeg"),
        ],
    )
    chat.send("kirim")
    # A photo in an answer from the core: fetched from the core's own link.
    name = "0123456789abcdef0123456789abcdef.png"  # the core names its files so
    (core[0].media_dir / name).write_bytes(phone_photo("PNG"))
    with live.db.session() as session:
        complaint = session.scalars(select(Complaint)).one()
        session.add(
            Attachment(
                complaint_id=complaint.id,
                source="core",
                kind="photo",
                content_type="image/png",
                original_url=f"{core[1]}/media/{name}",
                status=AttachmentStatus.PENDING,
            )
        )
        session.commit()
    stored_now = asyncio.run(attachments.fetch_pending(live))
    chat_photo, refused, core_photo = _stored_photos(live)
    assert stored_now == 2, [(a.status, a.error) for a in _stored_photos(live)]
    for attachment in (chat_photo, core_photo):
        assert attachment.status == AttachmentStatus.STORED
        assert private_traces(live.files.read(attachment.storage_key or "")) == []
    assert refused.status == AttachmentStatus.FAILED and refused.storage_key is None
    assert "not a usable photo" in (refused.error or "")
    assert asyncio.run(attachments.fetch_pending(live)) == 0  # refused for good, not retried


def test_storage_refuses_an_image_that_still_carries_metadata(gateway: Gateway) -> None:
    from gateway.store.files import UncleanImage

    with pytest.raises(UncleanImage):
        gateway.files.put(phone_photo("JPEG"), "image/jpeg")
    assert not any(Path(gateway.files.root).rglob("*.jpg"))


def test_strip_photos_cleans_what_was_stored_before_and_deletes_the_original(
    gateway: Gateway,
) -> None:
    from gateway.store.photo_cleanup import strip_stored_photos

    original = phone_photo("JPEG")
    key = "ab/old-original.jpg"  # written as the gateway did before photos were cleaned
    path = gateway.files.root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(original)
    complaint = make_complaint(gateway.db, S.RECEIVED)
    with gateway.db.session() as session:
        session.add(
            Attachment(
                complaint_id=complaint.id,
                content_type="image/jpeg",
                storage_key=key,
                size=len(original),
                status=AttachmentStatus.STORED,
            )
        )
        session.commit()
    result = strip_stored_photos(gateway)
    assert (result.cleaned, result.deleted_files, result.failed) == (1, 1, 0)
    [attachment] = _stored_photos(gateway)
    assert attachment.storage_key != key and not path.exists()
    assert private_traces(gateway.files.read(attachment.storage_key or "")) == []
    assert strip_stored_photos(gateway).cleaned == 0  # a clean photo is left alone
