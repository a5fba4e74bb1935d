"""Instagram: the webhook table (direct messages, echoes, reads, comments under our posts), and
the link to a commented post, asked of the Graph API after the webhook."""

from __future__ import annotations

import asyncio

import pytest

from channels.meta.instagram import InstagramChannel
from tests.channels.cases import FIXED_NOW, WebhookCase, channel_settings, check_case, raw_request
from tests.channels.meta_cases import instagram_cases
from tests.conftest import RunningMeta


@pytest.mark.parametrize("case", instagram_cases(), ids=lambda case: case.label)
def test_webhook(case: WebhookCase) -> None:
    channel = InstagramChannel(channel_settings(), now=lambda: FIXED_NOW)
    check_case(channel, case)


def _comment(channel: InstagramChannel):  # type: ignore[no-untyped-def]
    case = next(c for c in instagram_cases() if c.fixture == "comment.json")
    [comment] = channel.parse(raw_request(case))
    return comment


def test_post_link_is_asked_of_the_graph_api(meta: RunningMeta) -> None:
    meta.fake.add_permalink("18030000000000001", "https://www.instagram.com/p/DFakeShort1/")
    channel = InstagramChannel(channel_settings(meta_graph_base_url=meta.url))
    comment = _comment(channel)
    assert comment.permalink is None  # the webhook has none, and parse asks nobody
    assert asyncio.run(channel.post_link(comment)) == "https://www.instagram.com/p/DFakeShort1/"


def test_post_link_unknown_media_is_none(meta: RunningMeta) -> None:
    channel = InstagramChannel(channel_settings(meta_graph_base_url=meta.url))
    assert asyncio.run(channel.post_link(_comment(channel))) is None
