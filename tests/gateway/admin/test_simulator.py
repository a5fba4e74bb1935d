"""The bot simulator page: a conversation with the bot, replies recorded and sent to nobody."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from gateway.context import Gateway
from gateway.jobs.scheduler import worker_id
from gateway.store.models import Complaint, OutboxItem, OutboxStatus
from tests.gateway.admin.conftest import Admin


def _say(admin: Admin, text: str, channel: str = "twilio_sms") -> str:
    response = admin.post("/admin/simulator", {"channel": channel, "who": "budi", "text": text})
    assert response.status_code == 303
    return admin.get(response.headers["location"]).text


def test_a_whole_complaint_through_the_simulator(
    clients: dict[str, Admin], gateway: Gateway
) -> None:
    koor = clients["koor"]
    page = _say(koor, "Jalan di depan SD 1 Leteh berlubang besar, dua motor jatuh")
    assert "Balas YA bila setuju" in page
    _say(koor, "ya")
    page = _say(koor, "kirim")
    assert "Laporan Anda sudah kami terima dengan kode LPR-" in page
    with gateway.db.read_session() as session:
        complaint = session.scalar(select(Complaint))
        assert complaint is not None and complaint.reply_address == "sim:budi"
    # Delivery marks the replies sent without any provider (none is configured here).
    asyncio.run(gateway.dispatcher(worker_id()).drain())
    with gateway.db.read_session() as session:
        statuses = set(
            session.scalars(
                select(OutboxItem.status).where(OutboxItem.recipient == "sim:budi")
            ).all()
        )
        ids = set(
            session.scalars(
                select(OutboxItem.provider_message_id).where(OutboxItem.recipient == "sim:budi")
            ).all()
        )
    assert statuses == {OutboxStatus.SENT} and ids == {"simulated"}


def test_the_simulator_escapes_what_is_typed(clients: dict[str, Admin]) -> None:
    page = _say(clients["koor"], "<script>alert('x')</script> halo")
    assert "<script>alert" not in page and "&lt;script&gt;" in page


def test_the_sender_name_cannot_become_a_real_address(clients: dict[str, Admin]) -> None:
    page = clients["koor"].get("/admin/simulator?who=%2B62812%3Cb%3E&channel=telegram")
    assert page.status_code == 200
    assert 'value="+62812b"' in page.text  # stored as sim:+62812b, never +62812...


def test_a_public_instagram_comment_in_the_simulator(
    clients: dict[str, Admin], gateway: Gateway
) -> None:
    """A comment under a post, simulated: the transcript shows the neutral public reply and
    the private reply with the bot's question; the DMs that follow file the complaint."""
    koor = clients["koor"]
    page = koor.get("/admin/simulator?channel=instagram&who=budi").text
    assert 'name="comment"' in page  # offered on Instagram and Facebook only
    assert 'name="comment"' not in koor.get("/admin/simulator?channel=telegram").text
    response = koor.post(
        "/admin/simulator",
        {
            "channel": "instagram",
            "who": "budi",
            "text": "Lampu jalan di Jl. Pemuda Rembang mati sudah seminggu",
            "comment": "1",
        },
    )
    page = koor.get(response.headers["location"]).text
    assert "balasan publik di bawah komentar" in page and "kami lanjutkan lewat pesan" in page
    assert "balasan pribadi atas komentar" in page and "Balas YA bila setuju" in page
    _say(koor, "ya", channel="instagram")
    page = _say(koor, "kirim", channel="instagram")
    assert "Laporan Anda sudah kami terima dengan kode LPR-" in page
    with gateway.db.read_session() as session:
        complaint = session.scalar(select(Complaint))
        assert complaint is not None and complaint.origin_channel == "instagram"
