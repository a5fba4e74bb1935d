"""The channel registry: an explicit list, looked up by the name in `/webhooks/{name}`."""

from __future__ import annotations

from channels.fakes.server import closed_port_url
from channels.registry import build_channels
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
        "facebook",
        "instagram",
        "telegram",
        "twilio_sms",
        "twilio_whatsapp",
        "whatsapp_cloud",
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
        assert "test-meta" not in shown and "token-not-real" not in shown
