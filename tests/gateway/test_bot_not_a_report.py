"""The bot and messages that are not reports (issue 14 §6): with no open complaint, thanks,
chit-chat or a joke opens no draft (the bot says how to report, the message is kept aside);
spam and promotions become complaints that the inbox offers for archiving — the admin decides."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from gateway.context import Gateway
from gateway.store.models import Complaint, InboundMessage, InboundStatus
from tests.gateway.test_conversation import _complaints, _consented
from tests.gateway.test_enrich_dedup import _directory

NOT_RECORDED = "Pesan ini tidak kami catat sebagai laporan"


def test_thanks_and_chit_chat_open_no_draft(gateway: Gateway) -> None:
    _directory(gateway)
    chat = _consented(gateway, sender="+6281255553001")
    for text in (
        "makasih min",
        "Terima kasih banyak ya pak",
        "wkwk iya bro nanti malam kita ngopi",
    ):
        replies = chat.send(text)
        assert len(replies) == 1 and replies[0].startswith(NOT_RECORDED)
    with gateway.db.read_session() as session:
        statuses = session.scalars(
            select(InboundMessage.status).where(col(InboundMessage.text).like("%ngopi%"))
        ).all()
    assert statuses == [InboundStatus.IGNORED.value]  # kept, in no draft
    # A real report afterwards is filed without the chit-chat in it.
    chat.send("Jalan di desa Leteh kecamatan Rembang berlubang besar sejak seminggu")
    chat.send("kirim")
    [complaint] = _complaints(gateway)
    assert "ngopi" not in complaint.original_text and "makasih" not in complaint.original_text
    assert complaint.not_report == {}


def test_a_promotion_is_filed_and_offered_for_archiving(gateway: Gateway) -> None:
    _directory(gateway)
    chat = _consented(gateway, sender="+6281255553002")
    promo = (
        "Promo spesial! Paket internet 10GB cuma Rp25rb, aktifkan sekarang di *123# berlaku s/d "
        "31 Desember"
    )
    assert not chat.send(promo)[0].startswith(NOT_RECORDED)
    chat.send("kirim")
    chat.send("kirim")  # asked once for what is missing; sent as it is
    complaints: list[Complaint] = _complaints(gateway)
    assert len(complaints) == 1
    assert complaints[0].not_report["kind"] == "promosi"
