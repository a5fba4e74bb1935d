"""X and YouTube complaints in the inbox and on the complaint page: the channel named in words,
the post's link kept as the complaint's source and beside the public post in the conversation
(issue 16: "each shows in the inbox with its link")."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import select

from channels.base import InboundMessage as Message
from gateway.complaints.tracking import find_code
from gateway.context import Gateway
from gateway.intake import inbound as intake
from gateway.store.models import Complaint, OutboxItem
from tests.gateway.admin.conftest import Accounts, Admin

YT_LINK = "https://www.youtube.com/watch?v=vidRembang01&lc=UgzPage0001AaABAg"
X_LINK = "https://x.com/warga_kragan/status/1860000000000004242"


def _arrive(gateway: Gateway, message: Message) -> None:
    accepted = intake.accept(gateway.db, message, raw_payload="{}")
    assert intake.process(gateway, accepted.inbound_id)


def _public(channel: str, external_id: str, text: str, link: str, thread: str) -> Message:
    return Message(
        channel=channel,
        external_id=external_id,
        sender="UCWargaSluke" if channel == "youtube" else "1500000000000000777",
        received_at=datetime.now(UTC),
        text=text,
        sender_name="Warga",
        public=True,
        thread_ref=thread,
        permalink=link,
        extra={"username": "warga_kragan"} if channel == "x" else {},
    )


def test_x_and_youtube_complaints_show_their_channel_and_link(
    gateway: Gateway, accounts: Accounts, clients: dict[str, Admin]
) -> None:
    _arrive(
        gateway,
        _public(
            "youtube",
            "UgzPage0001AaABAg",
            "Lampu jalan di Desa Sluke mati semua sejak minggu lalu",
            YT_LINK,
            "UgzPage0001AaABAg",
        ),
    )
    mention = _public(
        "x",
        "tweet:1860000000000004242",
        "Jalan di Desa Sumberjo Kragan berlubang besar, sudah dua motor jatuh",
        X_LINK,
        "1860000000000004242",
    )
    _arrive(gateway, mention)
    for n, text in enumerate(("ya", "kirim")):  # the DMs that follow the mention
        _arrive(
            gateway,
            replace(mention, external_id=f"dm:{n}", text=text, public=False, permalink=None),
        )
    with gateway.db.read_session() as session:
        complaints = {c.origin_channel: c for c in session.scalars(select(Complaint))}
        texts = [o.payload.get("text", "") for o in session.scalars(select(OutboxItem))]
    assert sorted(complaints) == ["x", "youtube"]
    assert any(find_code(text) == complaints["x"].tracking_code for text in texts)

    inbox = clients["koor"].get("/admin").text
    assert "admin.channel." not in inbox
    for channel, link in (("youtube", YT_LINK), ("x", X_LINK)):
        complaint = complaints[channel]
        assert complaint.source_url == link
        assert complaint.tracking_code in inbox
        page = clients["koor"].get(f"/admin/complaints/{complaint.tracking_code}").text
        assert f'href="{link}"' in page.replace("&amp;", "&")
        assert "Komentar publik di bawah postingan" in page
        assert "admin.channel." not in page
    assert "?channel=x" in inbox or 'value="x"' in inbox  # the inbox filter offers X
