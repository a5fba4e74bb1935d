"""Every channel case through the real webhook route and intake, on both databases: signatures
403 with nothing stored, a signed payload the parser cannot read kept raw (status `unreadable`)
and acknowledged, ignored events 200 with nothing stored, messages stored once even when the
provider retries."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from gateway.app import create_app
from gateway.context import Gateway
from gateway.outbox.queue import OutboxMessage, enqueue
from gateway.store.db import Database
from gateway.store.models import InboundMessage, InboundStatus, OutboxItem
from tests.channels.cases import WebhookCase, all_cases, channel_settings, route_request

CASES = all_cases()


@pytest.fixture
def chat_client(db: Database, db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = channel_settings(
        database_url=db_url,
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        app_env="test",
        secret_key="test-secret-key-not-for-production",
    )
    gateway = Gateway.create(settings, db=db)
    # Background processing is the conversation's business, tested elsewhere.
    gateway.processors = {name: (lambda *_: None) for name in gateway.processors}
    with TestClient(create_app(settings, gateway), base_url="http://testserver") as client:
        yield client, gateway


def _stored(gateway: Gateway) -> int:
    with gateway.db.read_session() as session:
        return session.scalar(select(func.count()).select_from(InboundMessage)) or 0


def _rows(gateway: Gateway) -> list[InboundMessage]:
    with gateway.db.read_session() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all())


@pytest.mark.parametrize("case", CASES, ids=[f"{c.channel}:{c.label}" for c in CASES])
def test_webhook_route(chat_client, case: WebhookCase) -> None:  # type: ignore[no-untyped-def]
    client, gateway = chat_client
    path, body, headers = route_request(case, received_base="http://testserver")
    response = client.post(path, content=body, headers=headers)
    if case.http_status:
        assert response.status_code == case.http_status
        assert _stored(gateway) == 0
        return
    assert 200 <= response.status_code < 300
    expected = 1 if case.unreadable else len(case.messages)
    assert _stored(gateway) == expected
    if case.unreadable:
        [row] = _rows(gateway)
        assert row.status == InboundStatus.UNREADABLE and row.last_error
        assert row.channel == case.channel and row.raw_payload == body.decode("utf-8", "replace")
    else:
        assert all(row.status != InboundStatus.UNREADABLE for row in _rows(gateway))
    again = client.post(path, content=body, headers=headers)  # the provider retries
    assert 200 <= again.status_code < 300
    assert _stored(gateway) == expected


def test_unknown_channel_is_404(chat_client) -> None:  # type: ignore[no-untyped-def]
    client, _ = chat_client
    assert client.post("/webhooks/myspace", content=b"{}").status_code == 404
    assert client.post("/webhooks/webform", content=b"{}").status_code == 404


def test_status_callback_updates_the_outbox_row(chat_client) -> None:  # type: ignore[no-untyped-def]
    client, gateway = chat_client
    case = next(
        c
        for c in CASES
        if c.statuses and c.channel == "twilio_sms" and c.statuses[0].state.value == "failed"
    )
    sid = case.statuses[0].provider_message_id
    with gateway.db.session() as session:
        enqueue(
            session,
            OutboxMessage(kind="reply", key="r1", channel="twilio_sms", recipient="+6281234567890"),
        )
        session.flush()
        row = session.scalar(select(OutboxItem))
        assert row is not None
        row.status, row.provider_message_id = "sent", sid
        session.commit()
    path, body, headers = route_request(case)
    assert client.post(path, content=body, headers=headers).status_code < 300
    with gateway.db.read_session() as session:
        row = session.scalar(select(OutboxItem))
        assert row is not None and row.delivery_state == "failed"
