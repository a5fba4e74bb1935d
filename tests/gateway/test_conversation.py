"""The bot, as a chat: consent, assembling a draft, asking once for what is missing, the
tracking code, commands, adding to a submitted complaint, languages."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from channels.base import Location, Media, MessageKind
from gateway.complaints import workflow
from gateway.complaints.tracking import find_code, new_code
from gateway.context import Gateway
from gateway.intake import inbound as intake
from gateway.store.models import (
    Attachment,
    Complaint,
    ComplaintEvent,
    Conversation,
    InboundMessage,
    InboundStatus,
    Reporter,
    Status,
)
from tests.gateway.chat import Chat


def _complaints(gateway: Gateway) -> list[Complaint]:
    with gateway.db.read_session() as session:
        return list(session.scalars(select(Complaint).order_by(Complaint.id)).all())


def _consented(gateway: Gateway, **kw: object) -> Chat:
    chat = Chat(gateway, **kw)  # type: ignore[arg-type]
    chat.send("halo")
    chat.send("YA")
    return chat


def test_first_message_greets_and_asks_for_consent(gateway: Gateway) -> None:
    chat = Chat(gateway, name="Budi Santoso")
    replies = chat.send("Jalan di depan SD 2 Lasem berlubang besar")
    assert replies[0].startswith("Halo Budi! Ini layanan LAPOR!")
    assert "Balas YA bila setuju" in replies[1]
    assert _complaints(gateway) == []


def test_no_consent_keeps_nothing_but_the_request(gateway: Gateway) -> None:
    chat = Chat(gateway, name="Budi Santoso")
    chat.send("Jalan di depan SD 2 Lasem berlubang, nomor saya 081234567890")
    replies = chat.send("tidak")
    assert "tidak kami simpan" in replies[0]
    with gateway.db.read_session() as session:
        rows = session.scalars(select(InboundMessage)).all()
        assert all(row.text == "" and row.raw_payload == "" for row in rows)
        assert all(row.status == InboundStatus.IGNORED for row in rows)
        reporter = session.scalar(select(Reporter))
        assert (
            reporter is not None and reporter.display_name is None and reporter.consent_at is None
        )
    assert _complaints(gateway) == []
    # Writing again asks again.
    assert "Balas YA bila setuju" in chat.send("halo lagi")[-1]


def test_consent_then_draft_then_submit_gives_a_tracking_code(gateway: Gateway) -> None:
    chat = Chat(gateway)
    chat.send("Lampu jalan mati sudah seminggu")
    replies = chat.send("ya")
    assert "Pesan diterima" in replies[0]  # what they wrote before consenting starts the draft
    assert chat.send("di depan balai desa Leteh, Kecamatan Rembang") == []  # quiet while drafting
    replies = chat.send("KIRIM")
    code = find_code(replies[0])
    assert code is not None and f"CEK {code}" in replies[0]
    [complaint] = _complaints(gateway)
    assert complaint.tracking_code == code and complaint.status == Status.RECEIVED
    assert complaint.original_text == (
        "Lampu jalan mati sudah seminggu\ndi depan balai desa Leteh, Kecamatan Rembang"
    )
    assert (complaint.reply_channel, complaint.reply_address) == ("twilio_sms", "+6281234567890")


def test_missing_place_is_asked_once_then_submitted_anyway(gateway: Gateway) -> None:
    chat = _consented(gateway)
    chat.send("Sampah tidak diangkut sudah dua minggu dan baunya menyengat")
    asked = chat.wait()
    assert len(asked) == 1 and "Di mana kejadiannya?" in asked[0]
    with gateway.db.read_session() as session:
        question = session.scalars(select(Conversation)).one()
        assert question.state == "asked"
    submitted = chat.wait()  # silence again: no second question, it is filed
    assert find_code(submitted[0]) is not None
    assert len(_complaints(gateway)) == 1


def test_location_pin_and_photo_join_the_draft(gateway: Gateway) -> None:
    chat = _consented(gateway, channel="twilio_whatsapp", sender="+6281299990000")
    chat.send("Pohon tumbang menutup jalan desa sejak tadi pagi")
    chat.send(
        media=[
            Media(
                url="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
                content_type="image/jpeg",
            )
        ]
    )
    chat.send(location=Location(-6.70, 111.45, "Jl. Raya Lasem"))
    replies = chat.send("kirim")
    assert "Lokasi: Jl. Raya Lasem" in replies[0] and "Foto: 1" in replies[0]
    [complaint] = _complaints(gateway)
    assert (complaint.latitude, complaint.longitude) == (-6.70, 111.45)
    with gateway.db.read_session() as session:
        attachment = session.scalar(select(Attachment))
        assert attachment is not None and attachment.status == "pending"
        assert attachment.complaint_id == complaint.id


def test_messages_after_submitting_add_to_the_complaint(gateway: Gateway) -> None:
    chat = _consented(gateway)
    chat.send("Jalan berlubang di Jl. Pemuda dekat pasar Rembang")
    code = find_code(chat.send("kirim")[0])
    added = chat.send("lubangnya makin besar setelah hujan")
    assert added == [f"Tambahan Anda sudah kami catat pada laporan {code}."]
    assert chat.send("tolong segera ya") == []  # one acknowledgement per burst
    with gateway.db.read_session() as session:
        notes = session.scalars(
            select(ComplaintEvent.note).where(ComplaintEvent.action == "reporter_message")
        ).all()
    assert notes == ["lubangnya makin besar setelah hujan", "tolong segera ya"]
    assert len(_complaints(gateway)) == 1


def test_baru_starts_a_new_complaint_instead(gateway: Gateway) -> None:
    chat = _consented(gateway)
    chat.send("Jalan berlubang di Jl. Pemuda dekat pasar Rembang")
    chat.send("kirim")
    assert "laporan baru" in chat.send("BARU")[0]
    chat.send("Air PDAM mati tiga hari di Kelurahan Leteh")
    chat.send("kirim")
    assert len(_complaints(gateway)) == 2


def test_answering_the_admins_question_returns_it_to_the_inbox(gateway: Gateway) -> None:
    chat = _consented(gateway)
    chat.send("Jalan berlubang di Jl. Pemuda dekat pasar Rembang")
    code = find_code(chat.send("kirim")[0])
    with gateway.db.session() as session:
        complaint = session.scalar(select(Complaint))
        assert complaint is not None
        workflow.transition(session, complaint, Status.PENDING, actor="user:1", action="pending")
        session.commit()
    replies = chat.send("Lubangnya tepat di depan toko Sumber Rejeki")
    assert replies == [
        f"Terima kasih, jawaban Anda sudah kami teruskan ke admin untuk laporan {code}."
    ]
    [complaint] = _complaints(gateway)
    assert complaint.status == Status.RECEIVED


@pytest.mark.parametrize("typed", ["CEK {code}", "cek {lower}", "status {code}", "stauts {code}"])
def test_check_status_of_ones_own_complaint(gateway: Gateway, typed: str) -> None:
    chat = _consented(gateway)
    chat.send("Jalan berlubang di Jl. Pemuda dekat pasar Rembang")
    code = find_code(chat.send("kirim")[0])
    assert code
    reply = chat.send(typed.format(code=code, lower=code.lower()))
    assert reply[0].startswith(f"Laporan {code}: Diterima.")


def test_check_refuses_someone_elses_code_and_bad_codes(gateway: Gateway) -> None:
    owner = _consented(gateway, sender="+6281200000001")
    owner.send("Jalan berlubang di Jl. Pemuda dekat pasar Rembang")
    code = find_code(owner.send("kirim")[0])
    stranger = _consented(gateway, sender="+6281200000002")
    assert stranger.send(f"CEK {code}") == [f"Kode {code} tidak ditemukan untuk nomor/akun Anda."]
    assert stranger.send("CEK LPR-AAAAAA") == ["Kode tidak valid. Contoh: CEK LPR-7K3M9U"]
    assert "belum punya laporan" in stranger.send("cek")[0]
    assert new_code() not in stranger.send("cek")[0]


def test_batal_cancels_the_draft(gateway: Gateway) -> None:
    chat = _consented(gateway)
    chat.send("Ada pungli di kantor desa")
    assert "dibatalkan" in chat.send("batal")[0]
    assert chat.wait() == []
    assert _complaints(gateway) == []
    assert "Tidak ada draf" in chat.send("BATAL")[0]


def test_help_in_both_languages(gateway: Gateway) -> None:
    chat = _consented(gateway)
    assert chat.send("BANTUAN")[0].startswith("Perintah: CEK <kode>")
    assert chat.send("bantaun")[0].startswith("Perintah:")  # a typo is forgiven
    english = Chat(gateway, sender="+6281200000009")
    replies = english.send("Hello, the street light near my house has been broken for a week")
    assert replies[0].startswith("Hello! This is LAPOR!")
    assert "Reply YES to agree" in replies[1]
    assert "Message received" in english.send("yes")[0]


def test_anonim_and_rahasia_flags_reach_the_complaint(gateway: Gateway) -> None:
    chat = _consented(gateway)
    chat.send("Kepala desa minta uang pelicin untuk surat keterangan di Desa Sumbergirang")
    assert "identitas Anda tidak akan ditampilkan" in chat.send("ANONIM")[0]
    assert "tidak akan dipublikasikan" in chat.send("rahasia")[0]
    replies = chat.send("kirim")
    assert "(anonim, rahasia)" in replies[0]
    [complaint] = _complaints(gateway)
    assert complaint.anonim and complaint.rahasia


def test_an_edited_message_edits_the_draft_never_a_second_complaint(gateway: Gateway) -> None:
    chat = _consented(gateway, channel="telegram", sender="5550001")
    chat.send("Jalan rusak di Jl. Pemuda", message_ref="5550001:77")
    chat.send(
        "Jalan rusak parah di Jl. Pemuda dekat pasar", kind=MessageKind.EDITED, edits="5550001:77"
    )
    chat.send("kirim")
    [complaint] = _complaints(gateway)
    assert complaint.original_text == "Jalan rusak parah di Jl. Pemuda dekat pasar"
    chat.send("Jalan rusak parah sekali", kind=MessageKind.EDITED, edits="5550001:77")
    assert len(_complaints(gateway)) == 1
    with gateway.db.read_session() as session:
        assert (
            session.scalar(
                select(ComplaintEvent.note).where(ComplaintEvent.action == "reporter_edited")
            )
            == "Jalan rusak parah sekali"
        )


def test_consent_buttons_on_telegram(gateway: Gateway) -> None:
    chat = Chat(gateway, channel="telegram", sender="5550002")
    replies = chat.send("/start")
    assert replies[0].startswith("Halo! Ini layanan LAPOR!")
    buttons = chat.last[1].payload["buttons"]
    assert buttons == [
        {"label": "Setuju", "payload": "cmd:yes"},
        {"label": "Tidak", "payload": "cmd:no"},
    ]
    assert "Ceritakan apa yang terjadi" in chat.send(button="cmd:yes")[0]


def test_processing_a_message_twice_replies_once(gateway: Gateway) -> None:
    chat = Chat(gateway)
    chat.send("halo")
    with gateway.db.session() as session:
        row = session.scalar(select(InboundMessage))
        assert row is not None
        row.status = InboundStatus.PENDING.value  # as if the process died after replying
        session.commit()
        inbound_id = row.id
    intake.process(gateway, inbound_id)  # type: ignore[arg-type]
    assert chat.replies() == []


def test_a_greeting_after_submitting_says_where_it_stands(gateway: Gateway) -> None:
    chat = _consented(gateway)
    chat.send("Jalan berlubang di Jl. Pemuda dekat pasar Rembang")
    code = find_code(chat.send("kirim")[0])
    reply = chat.send("halo min")
    assert reply == [
        f"Halo! Laporan Anda {code}: Diterima. Tulis tambahan untuk laporan itu, "
        "atau ketik BARU untuk laporan baru."
    ]
