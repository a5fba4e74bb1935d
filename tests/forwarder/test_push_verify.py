"""`verify_push`: what the gateway's POST /core/events accepts (200), refuses as unsigned (403)
or refuses as unreadable (400). A table of cases, signed with a secret made up per test run."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from forwarder.base import CoreEventKind
from forwarder.rest import PushPayloadError, PushSignatureError, verify_push
from forwarder.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, compute_signature, sign_push

from .conftest import START

SECRET = secrets.token_hex(16)
EVENT = {
    "event_id": "sim-ab12-7",
    "seq": 7,
    "report_id": "5000001",
    "kind": "answer",
    "status": "answered",
    "status_label": "Ditindaklanjuti",
    "text": "Sudah diperbaiki.",
    "agency_code": None,
    "attachments": [
        {"url": "http://core.test/media/a.jpg", "filename": "a.jpg", "content_type": "image/jpeg"}
    ],
    "occurred_at": "2024-05-02T01:30:00.000000+00:00",
}
BODY = json.dumps({"events": [EVENT]}).encode()


def signed(body: bytes = BODY, secret: str = SECRET, at=START) -> dict[str, str]:
    return sign_push(body, secret, at)


@dataclass
class Case:
    label: str
    body: bytes
    headers: Callable[[], dict[str, str]]
    error: type[Exception]


REFUSED = [
    Case("no headers", BODY, dict, PushSignatureError),
    Case("wrong secret", BODY, lambda: signed(secret=secrets.token_hex(16)), PushSignatureError),
    Case(
        "signature only",
        BODY,
        lambda: {SIGNATURE_HEADER: signed()[SIGNATURE_HEADER]},
        PushSignatureError,
    ),
    Case(
        "timestamp only",
        BODY,
        lambda: {TIMESTAMP_HEADER: signed()[TIMESTAMP_HEADER]},
        PushSignatureError,
    ),
    Case("stale", BODY, lambda: signed(at=START - timedelta(seconds=301)), PushSignatureError),
    Case(
        "from the future",
        BODY,
        lambda: signed(at=START + timedelta(minutes=10)),
        PushSignatureError,
    ),
    Case(
        "tampered body",
        BODY.replace(b"Sudah diperbaiki", b"Tidak ditangani"),
        signed,
        PushSignatureError,
    ),
    Case(
        "timestamp changed after signing",
        BODY,
        lambda: {**signed(), TIMESTAMP_HEADER: str(int(START.timestamp()) + 1)},
        PushSignatureError,
    ),
    Case(
        "unknown scheme",
        BODY,
        lambda: {**signed(), SIGNATURE_HEADER: "md5=" + signed()[SIGNATURE_HEADER][7:]},
        PushSignatureError,
    ),
    Case(
        "timestamp not a number",
        BODY,
        lambda: {**signed(), TIMESTAMP_HEADER: "gestern"},
        PushSignatureError,
    ),
    Case("signed, not JSON", b"events=1", lambda: signed(b"events=1"), PushPayloadError),
    Case(
        "signed, events not a list",
        b'{"events": 3}',
        lambda: signed(b'{"events": 3}'),
        PushPayloadError,
    ),
    Case(
        "signed, event without id",
        json.dumps({"events": [{**EVENT, "event_id": None}]}).encode(),
        lambda: signed(json.dumps({"events": [{**EVENT, "event_id": None}]}).encode()),
        PushPayloadError,
    ),
    Case(
        "signed, event with a bad time",
        json.dumps({"events": [{**EVENT, "occurred_at": "kemarin"}]}).encode(),
        lambda: signed(json.dumps({"events": [{**EVENT, "occurred_at": "kemarin"}]}).encode()),
        PushPayloadError,
    ),
]


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.label)
def test_refused_pushes(case: Case) -> None:
    with pytest.raises(case.error):
        verify_push(case.body, case.headers(), SECRET, START)


def test_a_signed_push_gives_its_events() -> None:
    [event] = verify_push(BODY, signed(), SECRET, START + timedelta(seconds=299))
    assert event.event_id == "sim-ab12-7"
    assert event.core_id == "5000001"
    assert event.kind is CoreEventKind.ANSWER
    assert event.status == "answered"
    assert event.text == "Sudah diperbaiki."
    assert event.occurred_at == START
    assert [a.filename for a in event.attachments] == ["a.jpg"]


def test_header_names_are_case_insensitive() -> None:
    headers = {k.lower(): v for k, v in signed().items()}
    assert len(verify_push(BODY, headers, SECRET, START)) == 1


def test_no_secret_configured_refuses_everything() -> None:
    with pytest.raises(PushSignatureError):
        verify_push(BODY, signed(), None, START)
    with pytest.raises(PushSignatureError):
        verify_push(BODY, signed(), "", START)


def test_an_unknown_event_kind_is_skipped_not_refused() -> None:
    body = json.dumps({"events": [{**EVENT, "kind": "rating"}, EVENT]}).encode()
    events = verify_push(body, signed(body), SECRET, START)
    assert [e.event_id for e in events] == ["sim-ab12-7"]


def test_signature_format_is_the_documented_one() -> None:
    headers = signed()
    assert headers[TIMESTAMP_HEADER] == str(int(START.timestamp()))
    expected = compute_signature(BODY, SECRET, int(START.timestamp()))
    assert headers[SIGNATURE_HEADER] == f"sha256={expected}"
    import hashlib
    import hmac

    by_hand = hmac.new(
        SECRET.encode(), f"{int(START.timestamp())}.".encode() + BODY, hashlib.sha256
    ).hexdigest()
    assert expected == by_hand
