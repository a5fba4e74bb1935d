"""Issue 13 (hostile input): what a channel had to change to read a message — a provider time
it could not use, a location or attachment it dropped, a text it cut — is shown to the
koordinator on that message in the complaint's chat, so nobody takes "now" for the time the
citizen wrote or wonders where the pin went."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import col, update

from channels.base import InboundMessage as Incoming
from gateway.context import Gateway
from gateway.intake import inbound as intake
from gateway.store.models import InboundMessage
from tests.gateway.admin.conftest import Accounts, Admin
from tests.gateway.factories import make_complaint


def test_the_chat_says_what_the_channel_changed_to_read_a_message(
    gateway: Gateway, accounts: Accounts, clients: dict[str, Admin]
) -> None:
    complaint = make_complaint(gateway.db, origin_channel="telegram")
    message = Incoming(
        channel="telegram",
        external_id="update:77",
        sender="123456789",
        received_at=datetime(2026, 11, 29, 3, 0, tzinfo=UTC),
        text="Jembatan di Desa Sluke retak",
        extra={
            "provider_time": "99999-01-01T00:00:00",
            "location_dropped": "true",
            "media_dropped": "2",
            "text_truncated": "4096",
            "text_chars": "10000",
        },
    )
    accepted = intake.accept(gateway.db, message, raw_payload="{}", raw_content_type="")
    with gateway.db.session() as session:
        session.execute(
            update(InboundMessage)
            .where(col(InboundMessage.id) == accepted.inbound_id)
            .values(complaint_id=complaint.id)
        )
        session.commit()
    chat = clients["koor"].get(f"/admin/complaints/{complaint.tracking_code}").text
    notes = chat.split('class="reading-notes')[1].split("</ul>")[0]
    assert "99999-01-01T00:00:00" in notes  # the provider's own value, kept
    assert "Lokasi" in notes and "2 lampiran" in notes and "4096" in notes and "10000" in notes
