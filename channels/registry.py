"""The channels the gateway serves, listed by hand: no scanning, no import side effects.

`build_channels(settings)` constructs each channel once; the webhook route looks a channel up by
its name (`/webhooks/{name}`), the outbox by `OutboundMessage.channel`. `build_pollers(channels)`
lists the sources to poll that this configuration can read (X mentions and DMs, YouTube
comments, the mailbox), each with its own cursor name (`Poller.name`). Constructing either
contacts no provider: SDK clients open their connections on first use.

Every channel is listed whether or not it is configured, as Twilio and Telegram are: without
its secret a channel's webhook accepts nothing (403) and its `send` fails permanently saying
which setting is missing, so an unconfigured channel is visible, never silently absent.
"""

from __future__ import annotations

from collections.abc import Mapping

from channels.base import Channel, Poller
from channels.email import EmailChannel
from channels.meta.facebook import FacebookChannel
from channels.meta.instagram import InstagramChannel
from channels.meta.whatsapp_cloud import WhatsAppCloudChannel
from channels.telegram import TelegramChannel
from channels.twilio_sms import TwilioSmsChannel
from channels.twilio_whatsapp import TwilioWhatsAppChannel
from channels.x import XChannel
from channels.youtube import YouTubeChannel
from config.settings import Settings


def build_channels(settings: Settings) -> dict[str, Channel]:
    channels: list[Channel] = [
        TwilioSmsChannel(settings),
        TwilioWhatsAppChannel(settings),
        TelegramChannel(settings),
        XChannel(settings),
        YouTubeChannel(settings),
        EmailChannel(settings),
        WhatsAppCloudChannel(settings),
        InstagramChannel(settings),
        FacebookChannel(settings),
    ]
    return {channel.name: channel for channel in channels}


def build_pollers(channels: Mapping[str, Channel]) -> dict[str, Poller]:
    """The polled sources the configured credentials allow, by cursor name."""
    pollers: list[Poller] = []
    for name in ("x", "youtube", "email"):
        channel = channels.get(name)
        if isinstance(channel, XChannel | YouTubeChannel | EmailChannel):
            pollers.extend(channel.pollers())
    return {poller.name: poller for poller in pollers}
