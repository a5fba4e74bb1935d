"""The fake Graph API shows what it delivered as a phone (or a comment thread) would, for the
demo page, and refuses callers without a token it knows, as Meta does."""

from __future__ import annotations

import asyncio

import httpx

from channels.base import Button, OutboundMessage, ReplyMode
from channels.meta.instagram import InstagramChannel
from channels.meta.whatsapp_cloud import WhatsAppCloudChannel
from tests.channels.cases import FIXED_NOW, channel_settings
from tests.conftest import RunningMeta


def test_deliveries_read_like_the_phone_shows_them(meta: RunningMeta) -> None:
    settings = channel_settings(
        meta_graph_base_url=meta.url, whatsapp_cloud_templates={"answer": "lapor_jawaban"}
    )
    whatsapp = WhatsAppCloudChannel(settings, now=lambda: FIXED_NOW)
    instagram = InstagramChannel(settings, now=lambda: FIXED_NOW)
    sends = [
        (
            whatsapp,
            OutboundMessage(
                "whatsapp_cloud",
                "+6281234560021",
                "Halo",
                "k1",
                recipient_last_inbound_at=FIXED_NOW,
            ),
        ),
        (
            whatsapp,
            OutboundMessage(
                "whatsapp_cloud",
                "+6281234560021",
                "Kirim?",
                "k2",
                buttons=(Button("Ya", "y"),),
                recipient_last_inbound_at=FIXED_NOW,
            ),
        ),
        (
            whatsapp,
            OutboundMessage(
                "whatsapp_cloud",
                "+6281234560021",
                "",
                "k3",
                kind="answer",
                template_variables={"1": "LPR-7K3M9Q"},
            ),
        ),
        (
            instagram,
            OutboundMessage(
                "instagram",
                "639001",
                "Sudah kami terima",
                "k4",
                reply_mode=ReplyMode.PUBLIC,
                reply_to="1799",
            ),
        ),
        (
            instagram,
            OutboundMessage(
                "instagram",
                "639001",
                "Di mana lokasinya?",
                "k5",
                reply_mode=ReplyMode.PRIVATE_REPLY,
                reply_to="1799",
            ),
        ),
    ]
    for channel, message in sends:
        assert asyncio.run(channel.send(message)).ok
    assert [d.text for d in meta.fake.deliveries] == [
        "Halo",
        "Kirim?",
        "(template lapor_jawaban)\nLPR-7K3M9Q",
        "Sudah kami terima",
        "Di mana lokasinya?",
    ]


def test_unknown_token_is_meta_error_190(meta: RunningMeta) -> None:
    response = httpx.post(
        f"{meta.url}/v21.0/me/messages",
        json={"recipient": {"id": "1"}, "message": {"text": "x"}},
        headers={"Authorization": "Bearer guessed"},
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 190
    assert meta.fake.deliveries == []
