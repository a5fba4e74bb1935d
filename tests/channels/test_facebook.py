"""Facebook Page: the webhook table (Messenger messages, echoes, deliveries, `feed` comments)."""

from __future__ import annotations

import pytest

from channels.meta.facebook import FacebookChannel
from tests.channels.cases import FIXED_NOW, WebhookCase, channel_settings, check_case
from tests.channels.meta_cases import facebook_cases


@pytest.mark.parametrize("case", facebook_cases(), ids=lambda case: case.label)
def test_webhook(case: WebhookCase) -> None:
    channel = FacebookChannel(channel_settings(), now=lambda: FIXED_NOW)
    check_case(channel, case)
