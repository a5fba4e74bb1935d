"""Meta's channels in the gateway, end to end (issue 15): the GET set-up handshake through the
route, an Instagram comment that becomes a complaint (a neutral public reply, a private reply,
the bot in the DMs, the answer in the DM and a public note with the code under the comment),
and a WhatsApp Cloud photo that ends up stored without its metadata.

Requests are Meta's fixtures, rewritten and signed as `lapor-gateway send-fixture` does, through
the real webhook route; what the gateway sends goes through the real Graph client to the local
fake Graph API on 127.0.0.1. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select
from sqlmodel import col

from config.messages import t
from gateway.admin import accounts
from gateway.admin.directory import load_directory, sync_directory
from gateway.app import create_app
from gateway.bot import conversation
from gateway.clock import utcnow
from gateway.complaints import actions, workflow
from gateway.complaints.tracking import find_code
from gateway.context import Gateway
from gateway.dev import signing
from gateway.jobs.scheduler import worker_id
from gateway.reports import digest
from gateway.store.db import Database
from gateway.store.models import (
    Attachment,
    AttachmentStatus,
    Complaint,
    InboundMessage,
    InboundStatus,
    OutboxItem,
    OutboxStatus,
    ReporterIdentity,
)
from tests.channels.cases import channel_settings
from tests.channels.meta_cases import HANDSHAKE_CASES, IG_COMMENTER, HandshakeCase
from tests.conftest import RunningMeta
from tests.gateway.factories import answer_as_agency, verify_and_dispose
from tests.images import DEVICE, XMP_MARKER, phone_photo

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
COMMENT_ID = "17990000000000001"  # tests/fixtures/instagram/comment.json
POST_ID = "18030000000000001"
POST_LINK = "https://www.instagram.com/p/DEMO1708/"
COMMENT_TEXT = "Pak, jalan ke Desa Sumberjo rusak parah, kapan diperbaiki?"
WA_SENDER = "+6281234560021"  # tests/fixtures/whatsapp_cloud/image.json
WA_MEDIA_ID = "1479537139650973"
ANSWER = "Jalan ke Desa Sumberjo sudah ditambal tim DPUPR pada 20 November."


class MetaEnv:
    def __init__(self, client: TestClient, gateway: Gateway, meta: RunningMeta) -> None:
        self.client, self.gateway, self.meta = client, gateway, meta

    def post(
        self, channel: str, fixture: str, *, text: str | None = None, sender: str | None = None
    ) -> int:
        """A Meta webhook, as `send-fixture --fresh` sends it: new ids, now, signed."""
        body = (FIXTURES / channel / fixture).read_bytes()
        body = signing.rewrite(channel, body, fresh=True, text=text, sender=sender)
        url = f"{self.gateway.settings.public_base_url}/webhooks/{channel}"
        headers = signing.signed_headers(self.gateway.settings, channel, url, body)
        return self.client.post(f"/webhooks/{channel}", content=body, headers=headers).status_code

    def post_original(self, channel: str, fixture: str) -> int:
        body = (FIXTURES / channel / fixture).read_bytes()
        url = f"{self.gateway.settings.public_base_url}/webhooks/{channel}"
        headers = signing.signed_headers(self.gateway.settings, channel, url, body)
        return self.client.post(f"/webhooks/{channel}", content=body, headers=headers).status_code

    def dispatch(self) -> int:
        return asyncio.run(self.gateway.dispatcher(worker_id()).drain())

    def delivered(self, kind: str | None = None, to: str | None = None) -> list:  # type: ignore[type-arg]
        return self.meta.fake.delivered(kind, to)


@pytest.fixture
def env(db: Database, db_url: str, tmp_path: Path, meta: RunningMeta) -> Iterator[MetaEnv]:
    settings = channel_settings(
        database_url=db_url,
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        app_env="test",
        secret_key="test-secret-key-not-for-production",
        core_backend="manual",
        meta_graph_base_url=meta.url,
        # Liaison notices go through WhatsApp Cloud here, so nothing leaves for Twilio.
        liaison_whatsapp_channel="whatsapp_cloud",
        whatsapp_cloud_templates={
            "notification": "lapor_notifikasi",
            "answer": "lapor_jawaban",
            "digest": "lapor_ringkasan",
        },
        instagram_message_tags={"answer": "HUMAN_AGENT"},
    )
    gateway = Gateway.create(settings, db=db)
    with gateway.db.session() as session:
        sync_directory(session, load_directory(settings.agency_directory_file))
        session.commit()
    with TestClient(create_app(settings, gateway), base_url="http://testserver") as client:
        yield MetaEnv(client, gateway, meta)


def _complaint(gateway: Gateway, code: str) -> Complaint:
    with gateway.db.read_session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert complaint is not None
        return complaint


# --- the GET set-up handshake, through the route ------------------------------------------------

# A lone surrogate cannot travel in a URL; the channel's own table covers those rows.
ROUTE_HANDSHAKES = [c for c in HANDSHAKE_CASES if "surrogate" not in c.label]


@pytest.mark.parametrize("channel", ["whatsapp_cloud", "instagram", "facebook"])
@pytest.mark.parametrize("case", ROUTE_HANDSHAKES, ids=lambda c: c.label)
def test_the_handshake_through_the_route(
    db: Database, db_url: str, tmp_path: Path, channel: str, case: HandshakeCase
) -> None:
    settings = channel_settings(
        database_url=db_url,
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        app_env="test",
        secret_key="test-secret-key-not-for-production",
        **case.settings,
    )
    gateway = Gateway.create(settings, db=db)
    with TestClient(create_app(settings, gateway), base_url="http://testserver") as client:
        response = client.get(f"/webhooks/{channel}", params=dict(case.query))
    if case.echo is not None:
        assert response.status_code == 200
        assert response.text == case.echo
        assert response.headers["content-type"].startswith("text/plain")
    else:
        assert response.status_code == (403 if "Signature" in case.error.__name__ else 400)  # type: ignore[union-attr]
        assert case.query.get("hub.challenge", "") not in response.text
    with gateway.db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 0


def test_get_on_a_channel_without_a_handshake_is_405(client: TestClient) -> None:
    assert client.get("/webhooks/telegram").status_code == 405
    assert client.get("/webhooks/myspace").status_code == 404
    assert client.get("/webhooks/webform").status_code == 404


def test_an_unsigned_or_forged_comment_is_refused_and_nothing_is_stored(env: MetaEnv) -> None:
    body = (FIXTURES / "instagram" / "comment.json").read_bytes()
    forged = {"content-type": "application/json", "x-hub-signature-256": "sha256=" + "0" * 64}
    assert env.client.post("/webhooks/instagram", content=body).status_code == 403
    assert env.client.post("/webhooks/instagram", content=body, headers=forged).status_code == 403
    with env.gateway.db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 0
    assert env.dispatch() == 0 and env.delivered() == []


# --- an Instagram comment, all the way to the answer ----------------------------------------------


@pytest.mark.parametrize("rahasia", [False, True], ids=["public", "rahasia"])
def test_an_instagram_comment_becomes_a_complaint_answered_in_the_dm_and_under_the_comment(
    env: MetaEnv, rahasia: bool
) -> None:
    fake = env.meta.fake
    fake.add_comment(COMMENT_ID, IG_COMMENTER, POST_ID)  # Meta knows who wrote it
    fake.add_permalink(POST_ID, POST_LINK)

    # The comment: kept with the post's link; a neutral public reply and one private reply.
    assert env.post_original("instagram", "comment.json") == 200
    env.dispatch()
    [public] = env.delivered("public_reply")
    assert public.to == COMMENT_ID and public.edge == "replies"
    assert public.text == t("id", "public.ack")
    for private_detail in ("warga.sulang", "Sumberjo", "jalan", IG_COMMENTER):
        assert private_detail.lower() not in public.text.lower()
    [private] = env.delivered("private_reply")
    assert private.to == COMMENT_ID
    assert t("id", "bot.consent") in private.text  # the bot's first question, in private
    assert [q["payload"] for q in private.body["message"]["quick_replies"]] == [
        "cmd:yes",
        "cmd:no",
    ]
    assert env.delivered("message") == []  # nothing direct before the person writes
    with env.gateway.db.read_session() as session:
        [row] = session.scalars(select(InboundMessage)).all()
    assert row.extra["public"] is True and row.extra["thread_ref"] == COMMENT_ID
    assert row.extra["permalink"] == POST_LINK

    # The person answers in the DMs: consent, then KIRIM files the comment as the complaint.
    assert env.post("instagram", "text.json", text="ya", sender=IG_COMMENTER) == 200
    env.dispatch()
    [started] = env.delivered("message", IG_COMMENTER)
    assert started.text == t("id", "bot.draft_started")
    if rahasia:
        assert env.post("instagram", "text.json", text="RAHASIA", sender=IG_COMMENTER) == 200
    assert env.post("instagram", "text.json", text="kirim", sender=IG_COMMENTER) == 200
    env.dispatch()
    code = find_code(env.delivered("message", IG_COMMENTER)[-1].text)
    assert code is not None
    complaint = _complaint(env.gateway, code)
    assert (complaint.origin_channel, complaint.reply_channel) == ("instagram", "instagram")
    assert complaint.reply_address == IG_COMMENTER
    assert "Sumberjo" in complaint.original_text and complaint.rahasia is rahasia

    # Verified, disposed (the liaison officers get WhatsApp Cloud templates), answered.
    verify_and_dispose(env.gateway, code, title="Jalan ke Desa Sumberjo rusak parah")
    answer_as_agency(env.gateway, code, ANSWER)
    env.dispatch()
    notices = env.delivered("whatsapp")
    assert notices and all(n.body["type"] == "template" for n in notices)
    assert {n.body["template"]["name"] for n in notices} == {"lapor_notifikasi"}
    answers = [m for m in env.delivered("message", IG_COMMENTER) if ANSWER in m.text]
    assert len(answers) == 1  # the answer, in the DM thread
    notes = env.delivered("public_reply")[1:]
    if rahasia:
        assert notes == []  # nothing more in public for a confidential complaint
        return
    [note] = notes
    assert note.to == COMMENT_ID
    assert code in note.text and ANSWER not in note.text and "Sumberjo" not in note.text
    assert note.text == t(
        "id",
        "public.answered",
        code=code,
        link=f"{env.gateway.settings.public_base_url}/status/{code}",
    )
    # Nothing failed on the way, and the note is not queued twice.
    with env.gateway.db.read_session() as session:
        dead = session.scalars(select(OutboxItem).where(OutboxItem.status == OutboxStatus.DEAD))
        assert [d.last_error for d in dead] == []
    env.dispatch()
    assert len(env.delivered("public_reply")) == 2


def test_praise_under_a_post_is_recorded_and_left_alone(env: MetaEnv) -> None:
    assert (
        env.post("instagram", "comment.json", text="Mantaaap pak bupati 👍🔥 semoga sukses") == 200
    )
    env.dispatch()
    assert env.delivered() == []
    with env.gateway.db.read_session() as session:
        [row] = session.scalars(select(InboundMessage)).all()
        assert row.status == InboundStatus.IGNORED and row.text.startswith("Mantaaap")
        assert session.scalar(select(func.count()).select_from(ReporterIdentity)) == 0


def test_a_comment_retried_by_meta_is_answered_once(env: MetaEnv) -> None:
    env.meta.fake.add_comment(COMMENT_ID, IG_COMMENTER, POST_ID)
    assert env.post_original("instagram", "comment.json") == 200
    assert env.post_original("instagram", "comment.json") == 200
    env.dispatch()
    assert len(env.delivered("public_reply")) == 1 and len(env.delivered("private_reply")) == 1


def test_a_facebook_private_reply_links_the_messenger_id_to_the_commenter(env: MetaEnv) -> None:
    """On Facebook the id Meta answers the private reply with (the PSID) may differ from the
    comment's author id: the person's DMs from it continue the conversation of the comment."""
    comment_id = "900000000000001_1200000000000001"  # tests/fixtures/facebook/comment.json
    commenter, psid = "25000000000000002", "25000000000009999"
    env.meta.fake.add_comment(comment_id, psid)
    assert env.post_original("facebook", "comment.json") == 200
    env.dispatch()
    assert [d.to for d in env.delivered("public_reply")] == [comment_id]
    assert env.delivered("public_reply")[0].edge == "comments"
    with env.gateway.db.read_session() as session:
        identities = session.scalars(select(ReporterIdentity).order_by(ReporterIdentity.id)).all()
        assert [i.address for i in identities] == [commenter, psid]
        assert len({i.reporter_id for i in identities}) == 1
    assert env.post("facebook", "text.json", text="ya", sender=psid) == 200
    assert env.post("facebook", "text.json", text="kirim", sender=psid) == 200
    env.dispatch()
    replies = [d.text for d in env.delivered("message", psid)]
    assert replies[0] == t("id", "bot.draft_started")
    code = find_code(replies[-1])
    assert code is not None
    complaint = _complaint(env.gateway, code)
    assert complaint.reply_address == psid and "PDAM" in complaint.original_text


# --- WhatsApp Cloud: a photo, downloaded at once and stored clean -------------------------------


def test_a_whatsapp_cloud_photo_is_stored_without_its_metadata(env: MetaEnv) -> None:
    photo = phone_photo()
    assert DEVICE.encode() in photo and XMP_MARKER.encode() in photo
    env.meta.fake.add_media(WA_MEDIA_ID, photo, "image/jpeg")
    assert env.post("whatsapp_cloud", "image.json") == 200  # the photo with a caption
    assert env.post("whatsapp_cloud", "text.json", text="ya", sender=WA_SENDER) == 200
    where = "Lampu jalan di Jl. Pemuda Rembang mati sejak seminggu"
    assert env.post("whatsapp_cloud", "text.json", text=where, sender=WA_SENDER) == 200
    assert env.post("whatsapp_cloud", "text.json", text="kirim", sender=WA_SENDER) == 200
    # Fetched right after the KIRIM that filed it, through the media id and the bearer token.
    assert env.meta.fake.media_downloads == 1
    with env.gateway.db.read_session() as session:
        [attachment] = session.scalars(select(Attachment)).all()
    assert attachment.status == AttachmentStatus.STORED and attachment.provider_ref == WA_MEDIA_ID
    stored = env.gateway.files.read(attachment.storage_key)  # type: ignore[arg-type]
    assert DEVICE.encode() not in stored and XMP_MARKER.encode() not in stored
    assert not Image.open(io.BytesIO(stored)).getexif()
    env.dispatch()
    texts = [d.text for d in env.delivered("whatsapp", WA_SENDER.lstrip("+"))]
    assert t("id", "bot.consent") in texts  # free text: the person wrote within 24 hours
    code = find_code(texts[-1])
    assert code is not None and _complaint(env.gateway, code).origin_channel == "whatsapp_cloud"


def test_a_closed_whatsapp_window_fails_for_good_and_the_complaint_says_so(env: MetaEnv) -> None:
    """Meta's error 131047 (more than 24 hours since the person wrote) is not retried: the
    outbox row is dead at once and the complaint shows the delivery problem."""
    assert env.post("whatsapp_cloud", "text.json", text="halo", sender=WA_SENDER) == 200
    assert env.post("whatsapp_cloud", "text.json", text="ya", sender=WA_SENDER) == 200
    road = "Jalan berlubang besar di Jl. Pemuda Rembang depan pasar"
    assert env.post("whatsapp_cloud", "text.json", text=road, sender=WA_SENDER) == 200
    assert env.post("whatsapp_cloud", "text.json", text="kirim", sender=WA_SENDER) == 200
    env.dispatch()
    code = find_code(env.delivered("whatsapp")[-1].text)
    assert code is not None
    env.meta.fake.fail(131047, to=WA_SENDER.lstrip("+"))
    with env.gateway.db.session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert complaint is not None
        actions.verify(
            env.gateway,
            session,
            complaint,
            actor="user:1",
            relevant=True,
            complete=True,
            clear=True,
            title="Jalan berlubang di Jl. Pemuda",
            category="pengaduan",
        )
        workflow.commit(session)
    env.dispatch()
    with env.gateway.db.read_session() as session:
        [row] = session.scalars(
            select(OutboxItem)
            .where(OutboxItem.recipient == WA_SENDER)
            .where(OutboxItem.status == OutboxStatus.DEAD)
        ).all()
        assert row.attempts == 1 and "131047" in (row.last_error or "")
    assert "131047" in (_complaint(env.gateway, code).delivery_problem or "")


def test_a_whatsapp_cloud_failed_status_reaches_the_outbox_row_and_the_complaint(
    env: MetaEnv,
) -> None:
    """Meta's `failed` status for a reply we sent: the outbox row says so, and the complaint
    shows the delivery problem with Meta's code and meaning, as for Twilio."""
    for text in ("halo", "ya", "Jalan berlubang besar di Jl. Pemuda Rembang depan pasar", "kirim"):
        assert env.post("whatsapp_cloud", "text.json", text=text, sender=WA_SENDER) == 200
    env.dispatch()
    with env.gateway.db.read_session() as session:
        submitted = session.scalars(
            select(OutboxItem).where(col(OutboxItem.complaint_id).is_not(None))
        ).first()
    assert submitted is not None and submitted.provider_message_id
    data = json.loads((FIXTURES / "whatsapp_cloud" / "status_failed.json").read_text())
    data["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = submitted.provider_message_id
    raw = json.dumps(data).encode()
    url = f"{env.gateway.settings.public_base_url}/webhooks/whatsapp_cloud"
    headers = signing.signed_headers(env.gateway.settings, "whatsapp_cloud", url, raw)
    response = env.client.post("/webhooks/whatsapp_cloud", content=raw, headers=headers)
    assert response.status_code == 200
    with env.gateway.db.read_session() as session:
        row = session.get(OutboxItem, submitted.id)
        complaint = session.get(Complaint, submitted.complaint_id)
    assert row is not None and row.delivery_state == "failed"
    assert complaint is not None and "131047" in (complaint.delivery_problem or "")


def test_the_digest_goes_over_whatsapp_cloud_when_configured(env: MetaEnv) -> None:
    """LIAISON_WHATSAPP_CHANNEL=whatsapp_cloud: the koordinators' morning digest (like the
    liaison notices above) is an approved WhatsApp Cloud template, not a Twilio message."""
    with env.gateway.db.session() as session:
        user = accounts.create_user(session, "koor", "correct horse battery")
        user.whatsapp = "+6281211112222"
        session.add(user)
        session.commit()
    wednesday_morning = datetime(2026, 11, 25, 0, 5, tzinfo=UTC)  # 07:05 WIB
    assert digest.send(env.gateway, wednesday_morning) == 1
    env.dispatch()
    [sent] = env.delivered("whatsapp", "6281211112222")
    assert sent.body["type"] == "template"
    assert sent.body["template"]["name"] == "lapor_ringkasan"


def test_a_private_reply_is_never_sent_twice_after_an_unknown_outcome(env: MetaEnv) -> None:
    """A dispatcher that died while sending the private reply: Meta keeps no list of what it
    sent and allows one private reply per comment, so the row is not sent again but becomes a
    dead letter saying the outcome is unknown."""
    env.meta.fake.add_comment(COMMENT_ID, IG_COMMENTER, POST_ID)
    assert env.post_original("instagram", "comment.json") == 200
    dispatcher = env.gateway.dispatcher(worker_id())
    claimed = dispatcher.claim()
    assert {c.item.payload["reply_mode"] for c in claimed} == {"public", "private_reply"}
    later = utcnow() + timedelta(seconds=env.gateway.settings.outbox_lease_seconds + 5)
    asyncio.run(env.gateway.dispatcher("another-worker").drain(later))
    assert env.delivered() == []
    with env.gateway.db.read_session() as session:
        rows = session.scalars(select(OutboxItem)).all()
    assert {r.status for r in rows} == {OutboxStatus.DEAD}
    assert all((r.last_error or "").startswith("uncertain") for r in rows)


def test_a_comment_does_not_open_the_messaging_window(env: MetaEnv) -> None:
    """Someone who consented in the DMs two days ago comments under a post: the private reply
    starts the draft, and when the idle window files it, the bot knows the DM window is closed
    (a comment opens none): it does not send free text Meta would refuse, and says why."""
    assert env.post("instagram", "text.json", text="halo", sender=IG_COMMENTER) == 200
    assert env.post("instagram", "text.json", text="ya", sender=IG_COMMENTER) == 200
    env.dispatch()
    two_days_ago = utcnow() - timedelta(days=2)
    with env.gateway.db.session() as session:
        identity = session.scalars(select(ReporterIdentity)).one()
        identity.last_inbound_at = two_days_ago
        session.add(identity)
        session.commit()
    env.meta.fake.add_comment(COMMENT_ID, IG_COMMENTER, POST_ID)
    assert env.post_original("instagram", "comment.json") == 200
    env.dispatch()
    [private] = env.delivered("private_reply")
    assert private.text == t("id", "bot.draft_started")
    sent_before = len(env.delivered("message"))
    assert conversation.idle_sweep(env.gateway, now=utcnow() + timedelta(minutes=30)) == 1
    env.dispatch()
    assert len(env.delivered("message")) == sent_before  # nothing Meta would refuse
    with env.gateway.db.read_session() as session:
        complaint = session.scalars(select(Complaint)).one()
        [row] = session.scalars(
            select(OutboxItem).where(col(OutboxItem.idempotency_key).contains("submitted"))
        ).all()
    assert row.status == OutboxStatus.DEAD and "INSTAGRAM_MESSAGE_TAGS" in (row.last_error or "")
    assert "INSTAGRAM_MESSAGE_TAGS" in (complaint.delivery_problem or "")
