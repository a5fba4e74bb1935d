"""A mail on the complaint page: its subject, and what was wrong with it (broken MIME, an
unknown charset, no text, an attachment too large to copy) — shown, never dropped."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.context import Gateway
from gateway.store.models import InboundMessage, Status
from tests.gateway.admin.conftest import Admin
from tests.gateway.factories import make_complaint

HOSTILE = '<script>alert("x")</script>'


def test_the_complaint_page_shows_what_was_wrong_with_a_mail(
    clients: dict[str, Admin], gateway: Gateway
) -> None:
    complaint = make_complaint(gateway.db, Status.RECEIVED, origin_channel="email")
    with gateway.db.session() as session:
        session.add(
            InboundMessage(
                channel="email",
                external_id="<rusak-1@contoh.test>",
                sender="budi@contoh.test",
                text="Jalan di Desa Pasarbanggi berlubang",
                received_at=datetime(2026, 11, 2, 3, 0, tzinfo=UTC),
                complaint_id=complaint.id,
                status="processed",
                extra={
                    "subject": f"Jalan rusak {HOSTILE}",
                    "defects": "unknown charset x-unknown-8",
                    "large_attachments": "left in the mailbox",
                },
            )
        )
        session.commit()
    page = clients["koor"].get(f"/admin/complaints/{complaint.tracking_code}").text
    assert "Subjek: Jalan rusak &lt;script&gt;" in page and HOSTILE not in page
    assert "rusak sebagian (unknown charset x-unknown-8)" in page
    assert "Lampiran terlalu besar" in page
