"""WhatsApp Cloud API: the webhook table, sending inside and outside the 24-hour window through
the real client against the local fake Graph API, and media ids resolved at download time."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from channels.base import Button, Media, MediaError, OutboundMessage, ReplyMode
from channels.fakes.server import closed_port_url
from channels.meta.whatsapp_cloud import WhatsAppCloudChannel
from config.settings import Settings
from tests.channels.cases import (
    FIXED_NOW,
    PHONE_NUMBER_ID,
    TEST_WHATSAPP_CLOUD_TOKEN,
    WebhookCase,
    channel_settings,
    check_case,
)
from tests.channels.meta_cases import whatsapp_cloud_cases
from tests.conftest import RunningMeta

CITIZEN = "+6281234560021"
TEMPLATES = {"answer": "lapor_jawaban", "reminder": "lapor_pengingat:id"}
TEXT = "Laporan LPR-7K3M9Q sudah dijawab oleh Dinas PUPR."
PHOTO = "https://lapor.example.go.id/media/jawaban-1.jpg"


@pytest.mark.parametrize("case", whatsapp_cloud_cases(), ids=lambda case: case.label)
def test_webhook(case: WebhookCase) -> None:
    channel = WhatsAppCloudChannel(channel_settings(), now=lambda: FIXED_NOW)
    check_case(channel, case)


def _settings(meta: RunningMeta, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "meta_graph_base_url": meta.url,
        "whatsapp_cloud_templates": TEMPLATES,
    }
    values.update(overrides)
    return channel_settings(**values)


def _ago(**delta: float) -> datetime:
    return FIXED_NOW - timedelta(**delta)


@dataclass(frozen=True)
class SendCase:
    label: str
    last_inbound: datetime | None
    text: str = TEXT
    kind: str = "answer"
    language: str = "id"
    media: tuple[Media, ...] = ()
    buttons: tuple[Button, ...] = ()
    request_location: bool = False
    variables: dict[str, str] = field(default_factory=dict)
    reply_mode: ReplyMode = ReplyMode.DIRECT
    failure: dict[str, Any] | None = None  # FakeMetaGraph.fail() arguments
    settings: dict[str, Any] = field(default_factory=dict)
    ok: bool = True
    retryable: bool = False
    error_mentions: str = ""
    # what Meta received: each message's `type` and the part of it that matters
    sent: tuple[tuple[str, Any], ...] = ()


CONFIRM = (Button("Ya, kirim", "confirm_submit"), Button("Tidak, ubah", "edit_report"))
KECAMATAN = tuple(
    Button(f"Kec. {n}", f"kec_{n.lower()}")
    for n in ("Sarang", "Kragan", "Sluke", "Lasem", "Pamotan")
)

SEND_CASES = [
    SendCase(
        "inside the window: free text",
        _ago(hours=2),
        sent=(("text", {"body": TEXT, "preview_url": False}),),
    ),
    SendCase(
        "inside the window: a photo with the text as its caption",
        _ago(hours=2),
        media=(Media(url=PHOTO, content_type="image/jpeg"),),
        sent=(("image", {"link": PHOTO, "caption": TEXT}),),
    ),
    SendCase(
        "inside the window: a document, then the text",
        _ago(hours=2),
        text="x" * 1100,
        media=(
            Media(
                url=PHOTO.replace(".jpg", ".pdf"),
                content_type="application/pdf",
                filename="jawaban.pdf",
            ),
        ),
        sent=(
            ("document", {"link": PHOTO.replace(".jpg", ".pdf"), "filename": "jawaban.pdf"}),
            ("text", {"body": "x" * 1100, "preview_url": False}),
        ),
    ),
    SendCase(
        "inside the window: two buttons are reply buttons",
        _ago(hours=2),
        text="Kirim laporan ini?",
        buttons=CONFIRM,
        sent=(
            (
                "interactive",
                {
                    "type": "button",
                    "body": {"text": "Kirim laporan ini?"},
                    "action": {
                        "buttons": [
                            {
                                "type": "reply",
                                "reply": {"id": "confirm_submit", "title": "Ya, kirim"},
                            },
                            {
                                "type": "reply",
                                "reply": {"id": "edit_report", "title": "Tidak, ubah"},
                            },
                        ]
                    },
                },
            ),
        ),
    ),
    SendCase(
        "inside the window: five choices are a list",
        _ago(hours=2),
        text="Di kecamatan mana?",
        buttons=KECAMATAN,
        sent=(
            (
                "interactive",
                {
                    "type": "list",
                    "body": {"text": "Di kecamatan mana?"},
                    "action": {
                        "button": "Menu",
                        "sections": [
                            {"rows": [{"id": b.payload, "title": b.label} for b in KECAMATAN]}
                        ],
                    },
                },
            ),
        ),
    ),
    SendCase(
        "inside the window: asking for the location",
        _ago(hours=2),
        text="Di mana lokasinya?",
        request_location=True,
        sent=(
            (
                "interactive",
                {
                    "type": "location_request_message",
                    "body": {"text": "Di mana lokasinya?"},
                    "action": {"name": "send_location"},
                },
            ),
        ),
    ),
    SendCase(
        "inside the window: a long text in parts of at most 4096, cut after a sentence",
        _ago(hours=2),
        text=("Kalimat panjang sekali. " * 250).strip(),
        sent=(("text", 4079), ("text", 1919)),
    ),
    SendCase(
        "outside the window: the template for the kind, in the message's language",
        _ago(hours=30),
        language="en",
        variables={"1": "LPR-7K3M9Q", "2": "Dinas PUPR"},
        sent=(
            (
                "template",
                {
                    "name": "lapor_jawaban",
                    "language": {"code": "en"},
                    "components": [
                        {
                            "type": "body",
                            "parameters": [
                                {"type": "text", "text": "LPR-7K3M9Q"},
                                {"type": "text", "text": "Dinas PUPR"},
                            ],
                        }
                    ],
                },
            ),
        ),
    ),
    SendCase(
        "never wrote: the template with its pinned language and named parameters",
        None,
        kind="reminder",
        language="en",
        variables={"kode": "LPR-7K3M9Q"},
        sent=(
            (
                "template",
                {
                    "name": "lapor_pengingat",
                    "language": {"code": "id"},
                    "components": [
                        {
                            "type": "body",
                            "parameters": [
                                {"type": "text", "parameter_name": "kode", "text": "LPR-7K3M9Q"}
                            ],
                        }
                    ],
                },
            ),
        ),
    ),
    SendCase(
        "window closing within the margin: the template",
        _ago(hours=23, minutes=55),
        sent=(("template", {"name": "lapor_jawaban", "language": {"code": "id"}}),),
    ),
    SendCase(
        "outside the window, no template for the kind",
        _ago(days=3),
        kind="status",
        ok=False,
        error_mentions="no approved template is configured for message kind 'status'",
    ),
    SendCase(
        "Meta says the window is closed (131047): permanent",
        _ago(hours=1),
        failure={"code": 131047},
        ok=False,
        error_mentions="131047",
    ),
    SendCase(
        "throughput limit (130429): retried later",
        _ago(hours=1),
        failure={"code": 130429},
        ok=False,
        retryable=True,
    ),
    SendCase(
        "Meta's server error: retried later",
        _ago(hours=1),
        failure={"code": 131000},
        ok=False,
        retryable=True,
    ),
    SendCase(
        "the template does not exist in that language: permanent",
        None,
        failure={"code": 132001},
        ok=False,
        error_mentions="132001",
    ),
    SendCase(
        "a token Meta does not know: retried once an admin renews it",
        _ago(hours=1),
        settings={"whatsapp_cloud_access_token": "expired-token"},
        ok=False,
        retryable=True,
        error_mentions="190",
    ),
    SendCase(
        "Graph API unreachable: retried later",
        _ago(hours=1),
        settings={"meta_graph_base_url": "closed"},
        ok=False,
        retryable=True,
    ),
    SendCase(
        "not configured",
        _ago(hours=1),
        settings={"whatsapp_cloud_access_token": None},
        ok=False,
        error_mentions="WHATSAPP_CLOUD_ACCESS_TOKEN",
    ),
    SendCase(
        "a public reply is not WhatsApp's",
        _ago(hours=1),
        reply_mode=ReplyMode.PUBLIC,
        ok=False,
        error_mentions="no public or private replies",
    ),
    SendCase(
        "media without a URL",
        _ago(hours=1),
        media=(Media(ref="local/1.jpg", content_type="image/jpeg"),),
        ok=False,
        error_mentions="URL",
    ),
]


def _message(case: SendCase) -> OutboundMessage:
    return OutboundMessage(
        "whatsapp_cloud",
        CITIZEN,
        case.text,
        idempotency_key="k1",
        kind=case.kind,
        language=case.language,
        media=case.media,
        buttons=case.buttons,
        request_location=case.request_location,
        recipient_last_inbound_at=case.last_inbound,
        template_variables=case.variables,
        reply_mode=case.reply_mode,
    )


@pytest.mark.parametrize("case", SEND_CASES, ids=lambda case: case.label)
def test_send(meta: RunningMeta, case: SendCase) -> None:
    if case.failure:
        meta.fake.fail(**case.failure)
    overrides = dict(case.settings)
    if overrides.get("meta_graph_base_url") == "closed":
        overrides["meta_graph_base_url"] = closed_port_url()
    channel = WhatsAppCloudChannel(_settings(meta, **overrides), now=lambda: FIXED_NOW)

    result = asyncio.run(channel.send(_message(case)))

    assert (result.ok, result.retryable) == (case.ok, case.retryable), result.error
    assert case.error_mentions in (result.error or "")
    assert TEST_WHATSAPP_CLOUD_TOKEN not in (result.error or "")
    delivered = meta.fake.delivered("whatsapp")
    assert len(delivered) == len(case.sent)
    for delivery, (kind, expected) in zip(delivered, case.sent, strict=True):
        assert (delivery.sender, delivery.to) == (PHONE_NUMBER_ID, CITIZEN.lstrip("+"))
        assert delivery.body["messaging_product"] == "whatsapp"
        assert delivery.body["type"] == kind
        got = delivery.body[kind]
        if isinstance(expected, int):  # a text part of that length
            assert len(got["body"]) == expected
        elif kind == "template" and "components" not in expected:
            assert {k: got[k] for k in expected} == expected
        else:
            assert got == expected
    if case.ok:
        assert result.provider_message_id == delivered[0].id
        assert result.parts == len(delivered)


def test_the_fake_refuses_free_text_after_the_window_like_meta(meta: RunningMeta) -> None:
    """Our clock says the window is open, Meta's says it closed: Meta's 131047 is permanent."""
    meta.fake.enforce_windows = True
    channel = WhatsAppCloudChannel(_settings(meta), now=lambda: FIXED_NOW)
    result = asyncio.run(channel.send(_message(SendCase("x", _ago(hours=1)))))
    assert not result.ok and not result.retryable
    assert "131047" in (result.error or "")
    meta.fake.customer_wrote(PHONE_NUMBER_ID, CITIZEN.lstrip("+"))
    assert asyncio.run(channel.send(_message(SendCase("x", _ago(hours=1))))).ok


# --- media: the id is resolved when the gateway downloads, not when the webhook arrives --------

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 2000


@dataclass(frozen=True)
class DownloadCase:
    label: str
    stored: tuple[bytes, str] | None
    max_bytes: int = 10_000
    settings: dict[str, Any] = field(default_factory=dict)
    retryable: bool | None = None  # None: the download succeeds
    fetched: int = 1  # how many times the file itself was fetched


DOWNLOAD_CASES = [
    DownloadCase("a photo", (JPEG, "image/jpeg")),
    DownloadCase("a voice note", (b"OggS" + b"\x00" * 500, "audio/ogg")),
    DownloadCase(
        "over the size limit: refused before fetching",
        (JPEG, "image/jpeg"),
        max_bytes=1000,
        retryable=False,
        fetched=0,
    ),
    DownloadCase("a type we do not accept", (b"<html></html>", "text/html"), retryable=False),
    DownloadCase("unknown to Meta", None, retryable=False, fetched=0),
    DownloadCase(
        "Graph API unreachable",
        (JPEG, "image/jpeg"),
        settings={"meta_graph_base_url": "closed"},
        retryable=True,
        fetched=0,
    ),
]


@pytest.mark.parametrize("case", DOWNLOAD_CASES, ids=lambda case: case.label)
def test_download(meta: RunningMeta, case: DownloadCase) -> None:
    if case.stored:
        meta.fake.add_media("1479537139650973", *case.stored)
    overrides = dict(case.settings)
    if overrides.get("meta_graph_base_url") == "closed":
        overrides["meta_graph_base_url"] = closed_port_url()
    channel = WhatsAppCloudChannel(_settings(meta, **overrides))
    media = Media(ref="1479537139650973", content_type="image/jpeg")

    if case.retryable is None:
        assert case.stored is not None
        data, content_type = asyncio.run(channel.download(media, case.max_bytes))
        assert (data, content_type) == (case.stored[0], case.stored[1])
    else:
        with pytest.raises(MediaError) as caught:
            asyncio.run(channel.download(media, case.max_bytes))
        assert caught.value.retryable is case.retryable
        assert TEST_WHATSAPP_CLOUD_TOKEN not in str(caught.value)
    assert meta.fake.media_downloads == case.fetched
