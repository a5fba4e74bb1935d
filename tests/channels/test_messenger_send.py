"""Sending on Instagram and Facebook through the real client against the local fake Graph API:
direct messages within the window (or with a tag), Meta's private reply to a comment, and the
public reply under it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from channels.base import Button, Media, OutboundMessage, ReplyMode
from channels.meta.facebook import FacebookChannel
from channels.meta.instagram import InstagramChannel
from channels.meta.messenger import MessengerChannel
from tests.channels.cases import (
    FIXED_NOW,
    INSTAGRAM_ID,
    PAGE_ID,
    TEST_FACEBOOK_TOKEN,
    TEST_INSTAGRAM_TOKEN,
    channel_settings,
)
from tests.conftest import RunningMeta

USER = "6390012345678901"
COMMENT = "17990000000000001"
COMMENTER = "6390012345678902"
ACK = "Terima kasih, sudah kami terima — kami lanjutkan lewat pesan langsung."
TEXT = "Laporan LPR-7K3M9Q sudah dijawab oleh Dinas PUPR."
PHOTO = "https://lapor.example.go.id/media/jawaban-1.jpg"
CONFIRM = (Button("Ya, kirim", "confirm_submit"), Button("Tidak, ubah laporannya", "edit_report"))
CHANNELS: dict[str, tuple[type[MessengerChannel], str, str]] = {
    # name: (class, our account, its token)
    "instagram": (InstagramChannel, INSTAGRAM_ID, TEST_INSTAGRAM_TOKEN),
    "facebook": (FacebookChannel, PAGE_ID, TEST_FACEBOOK_TOKEN),
}


def _ago(**delta: float) -> datetime:
    return FIXED_NOW - timedelta(**delta)


@dataclass(frozen=True)
class SendCase:
    label: str
    reply_mode: ReplyMode = ReplyMode.DIRECT
    last_inbound: datetime | None = None
    text: str = TEXT
    kind: str = "answer"
    reply_to: str | None = None
    media: tuple[Media, ...] = ()
    buttons: tuple[Button, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    failure: dict[str, Any] | None = None
    twice: bool = False  # send the same message again (the second must fail)
    ok: bool = True
    retryable: bool = False
    error_mentions: str = ""
    # what Meta received: (delivery kind, to, the part of the body that matters)
    sent: tuple[tuple[str, str, dict[str, Any]], ...] = ()
    recipient: str | None = None  # SendResult.recipient


SEND_CASES = [
    SendCase(
        "direct, inside the window: a response",
        last_inbound=_ago(hours=3),
        sent=(("message", USER, {"messaging_type": "RESPONSE", "message": {"text": TEXT}}),),
    ),
    SendCase(
        "direct: the photo first, then the text with quick replies",
        last_inbound=_ago(hours=3),
        text="Kirim laporan ini?",
        media=(Media(url=PHOTO, content_type="image/jpeg"),),
        buttons=CONFIRM,
        sent=(
            (
                "message",
                USER,
                {
                    "message": {
                        "attachment": {
                            "type": "image",
                            "payload": {"url": PHOTO, "is_reusable": True},
                        }
                    }
                },
            ),
            (
                "message",
                USER,
                {
                    "message": {
                        "text": "Kirim laporan ini?",
                        "quick_replies": [
                            {
                                "content_type": "text",
                                "title": "Ya, kirim",
                                "payload": "confirm_submit",
                            },
                            {
                                "content_type": "text",
                                "title": "Tidak, ubah laporan…",
                                "payload": "edit_report",
                            },
                        ],
                    }
                },
            ),
        ),
    ),
    SendCase(
        "direct, outside the window, with a tag for the kind",
        last_inbound=_ago(days=3),
        tags={"answer": "HUMAN_AGENT"},
        sent=(("message", USER, {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}),),
    ),
    SendCase(
        "direct, outside the window, no tag: not sent",
        last_inbound=_ago(days=3),
        ok=False,
        error_mentions="no message tag is configured for message kind 'answer'",
    ),
    SendCase(
        "direct: Meta says the window closed (10/2018278): permanent",
        last_inbound=_ago(hours=3),
        failure={"code": 10, "subcode": 2018278, "kind": "message"},
        ok=False,
        error_mentions="outside the messaging window",
    ),
    SendCase(
        "direct: the person is not available (551): permanent",
        last_inbound=_ago(hours=3),
        failure={"code": 551, "kind": "message"},
        ok=False,
        error_mentions="551",
    ),
    SendCase(
        "direct: rate limit (613): retried later",
        last_inbound=_ago(hours=3),
        failure={"code": 613, "kind": "message"},
        ok=False,
        retryable=True,
    ),
    SendCase(
        "private reply to a comment: Meta names the commenter",
        reply_mode=ReplyMode.PRIVATE_REPLY,
        reply_to=COMMENT,
        text="Halo, laporan Anda kami terima. Di mana lokasi persisnya?",
        sent=(
            (
                "private_reply",
                COMMENT,
                {
                    "recipient": {"comment_id": COMMENT},
                    "message": {
                        "text": "Halo, laporan Anda kami terima. Di mana lokasi persisnya?"
                    },
                },
            ),
        ),
        recipient=COMMENTER,
    ),
    SendCase(
        "a second private reply to the same comment is refused by Meta",
        reply_mode=ReplyMode.PRIVATE_REPLY,
        reply_to=COMMENT,
        twice=True,
        ok=False,
        error_mentions="Meta 10",
        sent=(("private_reply", COMMENT, {"recipient": {"comment_id": COMMENT}}),),
    ),
    SendCase(
        "a private reply too long for one message",
        reply_mode=ReplyMode.PRIVATE_REPLY,
        reply_to=COMMENT,
        text="kata " * 500,
        ok=False,
        error_mentions="one message",
    ),
    SendCase(
        "a private reply needs the comment",
        reply_mode=ReplyMode.PRIVATE_REPLY,
        ok=False,
        error_mentions="reply_to",
    ),
    SendCase(
        "public reply under the comment",
        reply_mode=ReplyMode.PUBLIC,
        reply_to=COMMENT,
        text=ACK,
        sent=(("public_reply", COMMENT, {"message": ACK}),),
    ),
    SendCase(
        "a public reply carries no photo",
        reply_mode=ReplyMode.PUBLIC,
        reply_to=COMMENT,
        text=ACK,
        media=(Media(url=PHOTO, content_type="image/jpeg"),),
        ok=False,
        error_mentions="text only",
    ),
    SendCase(
        "public reply: Meta's temporary failure is retried",
        reply_mode=ReplyMode.PUBLIC,
        reply_to=COMMENT,
        text=ACK,
        failure={"code": 2, "status": 500, "kind": "public_reply"},
        ok=False,
        retryable=True,
    ),
]


def _subset(got: Any, expected: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(got, dict) and all(_subset(got.get(k), v) for k, v in expected.items())
    return bool(got == expected)


@pytest.mark.parametrize("name", sorted(CHANNELS))
@pytest.mark.parametrize("case", SEND_CASES, ids=lambda case: case.label)
def test_send(meta: RunningMeta, name: str, case: SendCase) -> None:
    channel_class, account, token = CHANNELS[name]
    meta.fake.add_comment(COMMENT, COMMENTER, media_id="18030000000000001")
    if case.failure:
        meta.fake.fail(**case.failure)
    settings = channel_settings(
        meta_graph_base_url=meta.url,
        instagram_message_tags=case.tags,
        facebook_message_tags=case.tags,
    )
    channel = channel_class(settings, now=lambda: FIXED_NOW)
    message = OutboundMessage(
        name,
        USER,
        case.text,
        idempotency_key="k1",
        kind=case.kind,
        media=case.media,
        buttons=case.buttons,
        recipient_last_inbound_at=case.last_inbound,
        reply_mode=case.reply_mode,
        reply_to=case.reply_to,
    )

    result = asyncio.run(channel.send(message))
    if case.twice:
        assert result.ok
        result = asyncio.run(channel.send(message))

    assert (result.ok, result.retryable) == (case.ok, case.retryable), result.error
    assert case.error_mentions in (result.error or "")
    assert token not in (result.error or "")
    delivered = meta.fake.delivered()
    assert [(d.kind, d.to) for d in delivered] == [(k, to) for k, to, _ in case.sent]
    for delivery, (_, _, expected) in zip(delivered, case.sent, strict=True):
        assert delivery.sender == account  # sent with this channel's own token
        assert _subset(delivery.body, expected), delivery.body
    if case.ok:
        assert result.provider_message_id == delivered[0].id
        assert result.parts == len(delivered)
        assert result.recipient == case.recipient


@pytest.mark.parametrize(("name", "edge"), [("instagram", "replies"), ("facebook", "comments")])
def test_the_public_reply_goes_to_each_platforms_edge(
    meta: RunningMeta, name: str, edge: str
) -> None:
    """Instagram answers a comment at /{id}/replies, Facebook at /{id}/comments."""
    channel_class = CHANNELS[name][0]
    channel = channel_class(channel_settings(meta_graph_base_url=meta.url))
    message = OutboundMessage(
        name, COMMENTER, ACK, "k1", reply_mode=ReplyMode.PUBLIC, reply_to=COMMENT
    )
    assert asyncio.run(channel.send(message)).ok
    [delivery] = meta.fake.delivered("public_reply")
    assert (delivery.to, delivery.edge) == (COMMENT, edge)


def test_unconfigured_channels_send_nothing(meta: RunningMeta) -> None:
    for name, (channel_class, _, _) in CHANNELS.items():
        settings = channel_settings(
            meta_graph_base_url=meta.url,
            instagram_access_token=None,
            facebook_page_access_token=None,
        )
        result = asyncio.run(channel_class(settings).send(OutboundMessage(name, USER, TEXT, "k1")))
        assert not result.ok and not result.retryable and "access token" in (result.error or "")
    assert meta.fake.delivered() == []
