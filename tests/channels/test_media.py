"""Media downloads go only to the provider's own media hosts (issue 13, item 3: an SSRF that
leaked the Twilio credentials): credentials only to the provider's API host, redirects only to
allowed hosts, no private or loopback address in production, error texts that tell nothing of
the network behind the gateway.

A `Trap` stands for an internal service or an attacker's host: a local server that records
every request it gets. The tests pass when it gets none (or none with credentials)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from channels.base import Media, MediaError
from channels.fakes.server import FakeServer, closed_port_url
from channels.media import MediaPolicy, allowed_media_url, fetch_media, media_policy
from channels.meta.instagram import InstagramChannel
from channels.twilio_common import rebase_twilio_url
from channels.twilio_whatsapp import TwilioWhatsAppChannel
from channels.x import XChannel
from tests.channels.cases import TEST_TWILIO_ACCOUNT_SID, channel_settings

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 500
TYPES = ["image/jpeg"]


@dataclass
class Trap:
    url: str
    port: int
    requests: list[dict[str, Any]] = field(default_factory=list)
    redirect_to: str | None = None  # answer every request with a redirect there

    @property
    def credentials_seen(self) -> list[str]:
        return [r["authorization"] for r in self.requests if r["authorization"]]


def _trap_app(trap_ref: list[Trap]) -> FastAPI:
    app = FastAPI()

    @app.get("/{path:path}")
    async def anything(path: str, request: Request) -> Response:
        trap = trap_ref[0]
        trap.requests.append(
            {"path": "/" + path, "authorization": request.headers.get("authorization")}
        )
        if trap.redirect_to:
            return RedirectResponse(trap.redirect_to + "/" + path, 307)
        if path.endswith("missing/ME1"):
            return Response(status_code=404)
        return Response(JPEG, media_type="image/jpeg")

    return app


@pytest.fixture(scope="module")
def _traps() -> Iterator[list[list[Trap]]]:
    servers, refs = [], []
    for _ in range(2):
        ref: list[Trap] = []
        server = FakeServer(_trap_app(ref))
        ref.append(Trap(server.start(), server.port))
        servers.append(server)
        refs.append(ref)
    yield refs
    for server in servers:
        server.stop()


@pytest.fixture
def trap(_traps: list[list[Trap]]) -> Trap:
    """An internal service or an attacker's host, fresh for each test."""
    ref = _traps[0]
    ref[0] = Trap(ref[0].url, ref[0].port)
    return ref[0]


@pytest.fixture
def relay(_traps: list[list[Trap]]) -> Trap:
    """A second host: a provider API that redirects (set `redirect_to`)."""
    ref = _traps[1]
    ref[0] = Trap(ref[0].url, ref[0].port)
    return ref[0]


def _twilio_media_url(base: str, segment: str = "ME1") -> str:
    return f"{base}/2010-04-01/Accounts/{TEST_TWILIO_ACCOUNT_SID}/Messages/MM1/Media/{segment}"


def _download(channel: Any, media: Media) -> tuple[bytes, str | None]:
    return asyncio.run(channel.download(media, 100_000))


# --- Twilio: the credentials ----------------------------------------------------------------------


def test_a_twilio_media_url_on_another_host_is_not_fetched(trap: Trap) -> None:
    """The reported defect: any MediaUrl host was fetched with the Account SID and Auth Token."""
    channel = TwilioWhatsAppChannel(channel_settings())
    media = Media(url=_twilio_media_url(trap.url), content_type="image/jpeg")
    with pytest.raises(MediaError) as caught:
        _download(channel, media)
    assert trap.requests == [] and trap.credentials_seen == []
    assert caught.value.retryable is False
    assert str(trap.port) not in str(caught.value) and "127.0.0.1" not in str(caught.value)


def test_a_redirect_off_the_provider_hosts_is_not_followed(trap: Trap, relay: Trap) -> None:
    relay.redirect_to = trap.url  # the "Twilio API" sends the download elsewhere
    channel = TwilioWhatsAppChannel(channel_settings(twilio_api_base_url=relay.url))
    media = Media(url=_twilio_media_url("https://api.twilio.com"), content_type="image/jpeg")
    with pytest.raises(MediaError):
        _download(channel, media)
    assert len(relay.requests) == 1 and relay.credentials_seen  # the API host has them
    assert trap.requests == []


def test_credentials_go_to_the_api_host_never_to_the_cdn(trap: Trap, relay: Trap) -> None:
    """Twilio answers a media URL with a redirect to its CDN (mms.twiliocdn.com): allowed, and
    fetched without the Basic auth the API host got."""
    relay.redirect_to = trap.url
    settings = channel_settings(
        twilio_api_base_url=relay.url, twilio_media_hosts=[f"127.0.0.1:{trap.port}"]
    )
    channel = TwilioWhatsAppChannel(settings)
    media = Media(url=_twilio_media_url("https://api.twilio.com"), content_type="image/jpeg")
    assert _download(channel, media) == (JPEG, "image/jpeg")
    assert relay.credentials_seen and relay.credentials_seen[0].startswith("Basic ")
    assert len(trap.requests) == 1 and trap.credentials_seen == []


def test_error_texts_do_not_tell_an_open_port_from_a_closed_one(trap: Trap) -> None:
    channel = TwilioWhatsAppChannel(channel_settings())
    errors = []
    for base in (f"{trap.url}/missing", closed_port_url() + "/missing"):
        with pytest.raises(MediaError) as caught:
            _download(channel, Media(url=_twilio_media_url(base), content_type="image/jpeg"))
        errors.append(str(caught.value))
    assert errors[0] == errors[1]
    assert "ConnectError" not in errors[0] and "HTTP" not in errors[0]
    assert trap.requests == []


def test_production_refuses_a_private_address_even_on_an_allowed_host(trap: Trap) -> None:
    """An allowed name that resolves to a loopback or private address (DNS rebinding, a
    misconfigured resolver) is refused in production, and fetched where the fakes live."""
    media = Media(url=f"http://localhost:{trap.port}/ME1", content_type="image/jpeg")
    production = channel_settings(app_env="production", twilio_media_hosts=["localhost"])
    with pytest.raises(MediaError) as caught:
        _download(TwilioWhatsAppChannel(production), media)
    assert caught.value.retryable is False
    assert trap.requests == []
    development = channel_settings(twilio_media_hosts=["localhost"])
    assert _download(TwilioWhatsAppChannel(development), media) == (JPEG, "image/jpeg")
    assert trap.credentials_seen == []  # localhost is allowed, not a credential host


def test_only_twilio_hosts_are_rebased_to_the_api_base() -> None:
    evil = "https://evil-twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
    assert rebase_twilio_url(evil, "http://127.0.0.1:9000") == evil


# --- the other channels ---------------------------------------------------------------------------


def test_a_messenger_attachment_elsewhere_than_meta_cdn_is_not_fetched(trap: Trap) -> None:
    channel = InstagramChannel(channel_settings())
    with pytest.raises(MediaError):
        _download(channel, Media(url=f"{trap.url}/ig.jpg", content_type="image/jpeg"))
    assert trap.requests == []


def test_x_dm_media_credentials_never_go_to_another_host(trap: Trap) -> None:
    """X signed any URL with `/ton/` in its path with the account's OAuth user context."""
    channel = XChannel(channel_settings())
    with pytest.raises(MediaError):
        _download(channel, Media(url=f"{trap.url}/ton/x.jpg", content_type="image/jpeg"))
    assert trap.requests == []


# --- the policy itself ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", True),
        ("https://mms.twiliocdn.com/AC1/abc", True),
        ("https://twiliocdn.com.evil.example/abc", False),
        ("https://eviltwiliocdn.com/abc", False),
        ("https://api.twilio.com.evil.example/x", False),
        ("http://127.0.0.1:8000/fake/twilio/x", True),  # the configured API base (the demo)
        ("http://127.0.0.1:8001/x", False),  # another port of the same machine
        ("http://10.0.0.5:6379/", False),
        ("file:///etc/passwd", False),
        ("gopher://api.twilio.com/", False),
        ("not a url", False),
    ],
)
def test_twilio_media_hosts(url: str, allowed: bool) -> None:
    settings = channel_settings(twilio_api_base_url="http://127.0.0.1:8000/fake/twilio")
    assert allowed_media_url(url, media_policy(settings, "twilio")) is allowed


def test_core_attachments_come_from_the_core_only() -> None:
    """The gateway checks the photos in the core's answers with the same function."""
    settings = channel_settings(
        core_base_url="https://lapor.example.go.id", core_media_hosts=["*.lapor.example.go.id"]
    )
    policy = media_policy(settings, "core")
    assert allowed_media_url("https://lapor.example.go.id/files/1.jpg", policy)
    assert allowed_media_url("https://cdn.lapor.example.go.id/1.jpg", policy)
    assert not allowed_media_url("http://169.254.169.254/latest/meta-data/", policy)
    assert policy.credential_hosts == ()


def test_private_addresses_follow_the_environment() -> None:
    assert media_policy(channel_settings(), "twilio").allow_private is True
    production = channel_settings(app_env="production")
    assert media_policy(production, "twilio").allow_private is False
    forced = channel_settings(app_env="production", media_allow_private_addresses=True)
    assert media_policy(forced, "twilio").allow_private is True


def test_the_address_is_checked_when_connecting(trap: Trap) -> None:
    """An allowed host name is not enough: the connection itself refuses a loopback address
    unless the policy allows private addresses or trusts that host (a configured base URL)."""
    url = f"{trap.url}/ME1"
    strict = MediaPolicy(hosts=("127.0.0.1",))
    with pytest.raises(MediaError):
        asyncio.run(fetch_media(url, policy=strict, max_bytes=10_000, allowed_types=TYPES))
    assert trap.requests == []
    trusted = MediaPolicy(hosts=(), trusted_hosts=(f"127.0.0.1:{trap.port}",))
    fetched = asyncio.run(fetch_media(url, policy=trusted, max_bytes=10_000, allowed_types=TYPES))
    assert fetched == (JPEG, "image/jpeg")
    assert trap.credentials_seen == []
