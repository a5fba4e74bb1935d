"""Issue 13 defect 6: Telegram replies in flight at a crash are uncertain dead letters. The
koordinator sees them per conversation with what the reporter did next, and resends one at a
time (CSRF, audited); there is no "resend all" that would double the one that arrived."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from channels.base import InboundMessage as Incoming
from config.settings import Settings
from gateway.clock import utcnow
from gateway.context import Gateway
from gateway.intake import inbound as intake
from gateway.outbox import delivery
from gateway.outbox.payloads import ChannelPayload
from gateway.outbox.queue import UNCERTAIN, OutboxMessage, enqueue
from gateway.store.models import AuditEntry, Complaint, OutboxItem, OutboxStatus
from gateway.store.models import Status as S
from tests.channels.cases import channel_settings
from tests.conftest import RunningTelegram
from tests.gateway.admin.conftest import Accounts, Admin
from tests.gateway.factories import make_complaint

CHAT = "123456789"
GREETING = "Terima kasih sudah menghubungi Lapor Rembang."
QUESTION = "Bolehkah kami meneruskan nama Anda ke dinas terkait? Jawab YA atau TIDAK."


@pytest.fixture
def settings(tmp_path: Path, db_url: str, telegram: RunningTelegram) -> Settings:
    return channel_settings(
        app_env="test",
        database_url=db_url,
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        secret_key="test-secret-key-not-for-production",
        telegram_api_base_url=telegram.url,
        public_base_url="http://127.0.0.1:8000",  # the admin test clients' address (cookies)
    )


def _crash_with_two_replies_in_flight(gateway: Gateway) -> Complaint:
    complaint = make_complaint(gateway.db, S.RECEIVED, origin_channel="telegram")
    with gateway.db.session() as session:
        for key, text in (("greet", GREETING), ("consent", QUESTION)):
            enqueue(
                session,
                OutboxMessage(
                    kind=delivery.REPLY,
                    key=key,
                    channel="telegram",
                    recipient=CHAT,
                    payload=ChannelPayload(text),
                    complaint_id=complaint.id,
                ),
            )
        session.commit()
    assert gateway.dispatcher("dead-worker").claim()  # claimed, then the process died
    asyncio.run(gateway.dispatcher("w2").run_once(utcnow() + timedelta(hours=1)))
    return complaint


def _reporter_says(gateway: Gateway, text: str, n: int) -> None:
    message = Incoming(
        channel="telegram",
        external_id=f"update:{900 + n}",
        sender=CHAT,
        received_at=utcnow() + timedelta(minutes=n),
        text=text,
    )
    intake.accept(gateway.db, message, raw_payload="{}", raw_content_type="application/json")


def _row(gateway: Gateway, key: str) -> OutboxItem:
    with gateway.db.read_session() as session:
        row = session.scalar(select(OutboxItem).where(OutboxItem.idempotency_key == key))
        assert row is not None
        return row


def test_uncertain_replies_are_shown_per_conversation_with_what_the_reporter_did_next(
    gateway: Gateway, accounts: Accounts, clients: dict[str, Admin]
) -> None:
    complaint = _crash_with_two_replies_in_flight(gateway)
    greet, consent = _row(gateway, "greet"), _row(gateway, "consent")
    assert (greet.status, greet.last_error) == (OutboxStatus.DEAD, UNCERTAIN)
    assert (consent.status, consent.last_error) == (OutboxStatus.DEAD, UNCERTAIN)
    _reporter_says(gateway, "YA, saya setuju", 1)  # answers the question: it did arrive
    koor = clients["koor"]

    page = koor.get("/admin/outbox").text
    block = page.split(f'id="uncertain-telegram-{CHAT}"')[1].split("</section>")[0]
    assert GREETING in block and QUESTION in block and "YA, saya setuju" in block
    assert complaint.tracking_code in block
    # Only one-at-a-time resends: every form on the page posts one row's resend.
    actions = re.findall(r'<form[^>]*action="(/admin/outbox[^"]*)"', page)
    assert len(actions) == 2 and all(re.fullmatch(r"/admin/outbox/\d+/resend", a) for a in actions)
    assert f'action="/admin/outbox/{greet.id}/resend"' in block

    # The complaint's chat marks both replies uncertain, with their own resend buttons.
    chat = koor.get(f"/admin/complaints/{complaint.tracking_code}").text
    assert chat.count('data-state="uncertain"') == 2
    assert f'action="/admin/outbox/{greet.id}/resend"' in chat

    # The koordinator judges the greeting lost (the reporter answered only the question).
    back = f"/admin/complaints/{complaint.tracking_code}"
    answer = koor.post(f"/admin/outbox/{greet.id}/resend", {"back": back})
    assert answer.status_code == 303 and answer.headers["location"] == back
    assert _row(gateway, "greet").status == OutboxStatus.PENDING
    assert _row(gateway, "consent").status == OutboxStatus.DEAD  # untouched
    koor.post(f"/admin/outbox/{greet.id}/resend", {"back": back})  # a double click
    with gateway.db.read_session() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.area == "outbox")).all()
    assert [(e.action, e.subject, e.detail["uncertain"]) for e in entries] == [
        ("resent", f"outbox {greet.id}", True)
    ]
    assert "outbox" in koor.get("/admin/audit?area=outbox").text


def test_a_resend_needs_the_csrf_token_and_a_koordinator(
    gateway: Gateway, accounts: Accounts, clients: dict[str, Admin]
) -> None:
    _crash_with_two_replies_in_flight(gateway)
    greet = _row(gateway, "greet")
    forged = clients["koor"].client.post(
        f"/admin/outbox/{greet.id}/resend", data={}, follow_redirects=False
    )
    assert forged.status_code in (400, 403)
    assert clients["pupr"].post(f"/admin/outbox/{greet.id}/resend").status_code == 403
    assert _row(gateway, "greet").status == OutboxStatus.DEAD
    # An off-site `back` is not followed.
    answer = clients["koor"].post(
        f"/admin/outbox/{greet.id}/resend", {"back": "https://evil.example/"}
    )
    assert answer.headers["location"] == "/admin/outbox"


def test_an_uncertain_letter_that_is_no_reply_stays_in_the_dead_letters(
    gateway: Gateway, accounts: Accounts, clients: dict[str, Admin]
) -> None:
    """A liaison notice Twilio holds twice (ambiguous) is uncertain too, but not a reply to a
    reporter: it is listed with the other dead letters, never hidden."""
    with gateway.db.session() as session:
        notice = OutboxItem(
            kind=delivery.NOTIFY_LIAISON,
            idempotency_key="notice-1",
            channel="twilio_whatsapp",
            recipient="+6281100000101",
            status=OutboxStatus.DEAD,
            last_error=delivery.AMBIGUOUS,
        )
        session.add(notice)
        session.commit()
    page = clients["koor"].get("/admin/outbox").text
    assert f'id="outbox-{notice.id}"' in page and 'id="uncertain"' not in page
