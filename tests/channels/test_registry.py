"""The channel registry: an explicit list, looked up by the name in `/webhooks/{name}`."""

from __future__ import annotations

from channels.fakes.server import closed_port_url
from channels.registry import build_channels, build_pollers
from tests.channels.cases import channel_settings


def test_registry_lists_the_chat_channels_by_name() -> None:
    # Providers unreachable: building the channels must not contact them.
    unreachable = closed_port_url()
    settings = channel_settings(
        twilio_api_base_url=unreachable,
        telegram_api_base_url=unreachable,
        meta_graph_base_url=unreachable,
    )
    channels = build_channels(settings)
    assert sorted(channels) == [
        "email",
        "facebook",
        "instagram",
        "telegram",
        "twilio_sms",
        "twilio_whatsapp",
        "whatsapp_cloud",
        "x",
        "youtube",
    ]
    assert all(channel.name == name for name, channel in channels.items())
    assert channels["twilio_sms"].can_find_sent and channels["twilio_whatsapp"].can_find_sent
    assert not channels["telegram"].can_find_sent
    # Meta keeps no searchable list of what a business sent: a crash mid-send cannot be checked.
    assert not any(
        channels[name].can_find_sent for name in ("whatsapp_cloud", "instagram", "facebook")
    )


def test_channels_never_show_secrets() -> None:
    channels = build_channels(channel_settings())
    for channel in channels.values():
        shown = repr(channel) + repr(vars(channel))
        assert "test-twilio-auth-token" not in shown
        assert "test-telegram" not in shown
        for secret in ("test-x-bearer", "test-x-consumer-secret", "test-x-access-secret"):
            assert secret not in shown
        assert "test-meta" not in shown and "token-not-real" not in shown


def test_pollers_follow_the_credentials() -> None:
    bare = channel_settings(x_user_id="", x_bearer_token=None)
    assert build_pollers(build_channels(bare)) == {}
    full = channel_settings(
        youtube_api_key="k",
        youtube_channel_id="UCfake",
        imap_host="127.0.0.1",
        imap_user="pengaduan@lapor.test",
        imap_password="p",
    )
    pollers = build_pollers(build_channels(full))
    assert sorted(pollers) == ["email", "x_dm", "x_mentions", "youtube_comments"]
    assert {p.channel for p in pollers.values()} == {"x", "youtube", "email"}
    assert pollers["x_mentions"].daily_budget == full.x_daily_read_budget
    assert pollers["youtube_comments"].daily_budget == full.youtube_daily_quota_budget
    assert pollers["email"].daily_budget is None
