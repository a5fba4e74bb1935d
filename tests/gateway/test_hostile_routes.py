"""Issue 13 defect 2: hostile input gets a 4xx (or, signed by a provider, is kept raw and
acknowledged), never a 500. Deep JSON, lone surrogates, NUL bytes and oversized bodies on the
JSON API, every webhook and `/core/events`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.store.db import Database
from gateway.store.models import InboundMessage, InboundStatus
from tests.channels.cases import deep_json
from tests.gateway.hostile import (
    JSON_WEBHOOKS,
    WEBHOOKS,
    hostile_client,
    hostile_gateway,
    signed_push,
    signed_webhook,
)


@pytest.fixture
def gw(db: Database, db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    return hostile_gateway(db, db_url, tmp_path)


@pytest.fixture
def client(gw):  # type: ignore[no-untyped-def]
    yield from hostile_client(gw)


def _rows(gateway) -> list[InboundMessage]:  # type: ignore[no-untyped-def]
    with gateway.db.read_session() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all())


DEEP = deep_json(1000)
SURROGATE = b'{"description": "Jalan rusak \\ud800 di Lasem sejak lama", "consent": true}'


@pytest.mark.parametrize("body", [DEEP, b"[" * 1000 + b"]" * 1000, SURROGATE, b"\x00{}"])
def test_json_api_hostile_body_is_4xx(client, gw, body: bytes) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/v1/complaints", content=body, headers={"content-type": "application/json"}
    )
    if body is SURROGATE:
        # A lone surrogate is no reason to lose a complaint: stored with U+FFFD in its place.
        assert response.status_code == 202, response.text
        [row] = _rows(gw)
        assert row.text is not None and "\ufffd" in row.text
    else:
        assert 400 <= response.status_code < 500, response.text
        assert response.json()["message"]
        assert _rows(gw) == []


@pytest.mark.parametrize("channel", JSON_WEBHOOKS)
@pytest.mark.parametrize("kind", ["deep", "surrogate"])
def test_signed_hostile_json_at_every_webhook_is_kept_not_500(client, gw, channel, kind) -> None:  # type: ignore[no-untyped-def]
    body = DEEP if kind == "deep" else b'{"update_id": 7, "object": "\\ud800", "entry": "\\ud800"}'
    path, headers = signed_webhook(channel, body)
    response = client.post(path, content=body, headers=headers)
    assert response.status_code < 300, response.text
    again = client.post(path, content=body, headers=headers)  # the provider retries
    assert again.status_code < 300
    rows = _rows(gw)
    assert len(rows) <= 1
    assert all(row.status == InboundStatus.UNREADABLE for row in rows)


@pytest.mark.parametrize("channel", WEBHOOKS)
def test_a_webhook_body_over_the_cap_is_413_before_it_is_read(client, gw, channel) -> None:  # type: ignore[no-untyped-def]
    cap = gw.settings.webhook_max_bytes
    body = b"a" * (cap + 1)
    path, headers = signed_webhook(channel, body)
    response = client.post(path, content=body, headers=headers)
    assert response.status_code == 413
    assert _rows(gw) == []


def test_a_chunked_webhook_body_over_the_cap_is_413(client, gw) -> None:  # type: ignore[no-untyped-def]
    cap = gw.settings.webhook_max_bytes

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(cap // 65536 + 2):
            yield b"a" * 65536

    path, headers = signed_webhook("telegram", b"")
    response = client.post(path, content=chunks(), headers=headers)
    assert response.status_code == 413
    assert _rows(gw) == []


@pytest.mark.parametrize(
    "body",
    [
        DEEP,
        b'{"events": [{"id": "\\ud800", "type": "\\ud800", "complaint_id": "\\ud800"}]}',
        b'{"events": [{"id": "e1\\u0000", "type": "status", "status": "\\u0000"}]}',
        b"\x00",
        json.dumps({"events": [[[[[]]]]] * 3}).encode(),
    ],
)
def test_signed_hostile_core_push_is_400_not_500(client, body: bytes) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/core/events", content=body, headers=signed_push(body))
    assert 400 <= response.status_code < 500, response.text


def test_a_core_push_over_the_cap_is_413(client, gw) -> None:  # type: ignore[no-untyped-def]
    body = b" " * (gw.settings.webhook_max_bytes + 1)
    response = client.post("/core/events", content=body, headers=signed_push(body))
    assert response.status_code == 413


def test_web_form_with_invalid_utf8_and_surrogates_is_not_500(client, gw) -> None:  # type: ignore[no-untyped-def]
    body = b"description=Jalan+rusak+%ED%A0%80+di+Lasem+sejak+lama&consent=on&name=%FF%FE"
    response = client.post(
        "/lapor",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert response.status_code < 500, response.text
