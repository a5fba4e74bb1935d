"""What the three Meta channels share: the signature checked before parsing, the GET set-up
handshake, and secrets that never show."""

from __future__ import annotations

import pytest

from channels.base import Channel, RawRequest, SignatureError
from channels.meta.facebook import FacebookChannel
from channels.meta.instagram import InstagramChannel
from channels.meta.webhook import sign
from channels.meta.whatsapp_cloud import WhatsAppCloudChannel
from tests.channels.cases import (
    TEST_META_APP_SECRET,
    TEST_META_VERIFY_TOKEN,
    channel_settings,
    fixture_bytes,
)
from tests.channels.meta_cases import HANDSHAKE_CASES, HandshakeCase

CHANNELS = (WhatsAppCloudChannel, InstagramChannel, FacebookChannel)


def _raw(channel: Channel, body: bytes, headers: dict[str, str]) -> RawRequest:
    return RawRequest(
        body=body, headers=headers, url=f"https://lapor.example.go.id/webhooks/{channel.name}"
    )


@pytest.mark.parametrize("channel_class", CHANNELS, ids=lambda c: c.name)
@pytest.mark.parametrize("case", HANDSHAKE_CASES, ids=lambda case: case.label)
def test_handshake(channel_class: type[Channel], case: HandshakeCase) -> None:
    channel = channel_class(channel_settings(**case.settings))  # type: ignore[call-arg]
    raw = RawRequest(body=b"", headers={}, url="https://lapor.example.go.id/", query=case.query)
    if case.error is not None:
        with pytest.raises(case.error):
            channel.handshake(raw)
        return
    ack = channel.handshake(raw)
    assert ack is not None
    assert (ack.status_code, ack.body, ack.media_type) == (200, case.echo, "text/plain")


@pytest.mark.parametrize("channel_class", CHANNELS, ids=lambda c: c.name)
def test_the_signature_is_checked_before_the_body_is_read(channel_class: type[Channel]) -> None:
    """A garbled body with a wrong signature is a signature error, never a parse error: the
    gateway answers 403 and has looked at nothing."""
    channel = channel_class(channel_settings())  # type: ignore[call-arg]
    body = b"\x00 not json at all"
    with pytest.raises(SignatureError):
        channel.verify(_raw(channel, body, {"x-hub-signature-256": sign(body, "wrong-secret")}))
    channel.verify(_raw(channel, body, {"x-hub-signature-256": sign(body, TEST_META_APP_SECRET)}))


@pytest.mark.parametrize("channel_class", CHANNELS, ids=lambda c: c.name)
@pytest.mark.parametrize(
    "header",
    ["", "sha1=0123", "sha256=", "sha256=" + "0" * 64, "SHA256=deadbeef"],
    ids=["empty", "sha1", "no digest", "zero digest", "upper-case prefix"],
)
def test_malformed_signature_headers_are_refused(channel_class: type[Channel], header: str) -> None:
    channel = channel_class(channel_settings())  # type: ignore[call-arg]
    body = fixture_bytes(channel.name, "text.json")
    with pytest.raises(SignatureError):
        channel.verify(_raw(channel, body, {"x-hub-signature-256": header}))


@pytest.mark.parametrize("channel_class", CHANNELS, ids=lambda c: c.name)
def test_without_an_app_secret_nothing_is_trusted(channel_class: type[Channel]) -> None:
    channel = channel_class(channel_settings(meta_app_secret=None))  # type: ignore[call-arg]
    body = fixture_bytes(channel.name, "text.json")
    with pytest.raises(SignatureError, match="META_APP_SECRET"):
        channel.verify(_raw(channel, body, {"x-hub-signature-256": sign(body, "")}))


def test_secrets_never_show_in_repr() -> None:
    for channel_class in CHANNELS:
        channel = channel_class(channel_settings())  # type: ignore[call-arg]
        shown = repr(channel) + repr(vars(channel)) + repr(channel.graph)  # type: ignore[attr-defined]
        assert "not-real" not in shown, channel.name
        assert TEST_META_APP_SECRET not in shown and TEST_META_VERIFY_TOKEN not in shown
