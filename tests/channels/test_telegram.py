"""Telegram: the webhook table, sending through python-telegram-bot, downloads and polling."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from channels.base import (
    Button,
    Media,
    MediaError,
    MessageKind,
    OutboundMessage,
    PayloadError,
    SignatureError,
)
from channels.fakes.server import closed_port_url
from channels.telegram import TelegramChannel, split_telegram_text
from config.settings import Settings
from tests.channels.cases import (
    FIXED_NOW,
    WebhookCase,
    channel_settings,
    check_case,
    fixture_bytes,
    raw_request,
    telegram_cases,
)
from tests.conftest import RunningTelegram

CHAT = "111222333"
T = TypeVar("T")


@pytest.mark.parametrize("case", telegram_cases(), ids=lambda case: case.label)
def test_webhook(case: WebhookCase) -> None:
    channel = TelegramChannel(channel_settings(), now=lambda: FIXED_NOW)
    check_case(channel, case)


def test_webhook_refused_when_no_secret_is_configured() -> None:
    case = next(c for c in telegram_cases() if c.label == "text")
    channel = TelegramChannel(channel_settings(telegram_webhook_secret=None))
    with pytest.raises(SignatureError):
        channel.verify(raw_request(case))


def _settings(telegram: RunningTelegram, **overrides: Any) -> Settings:
    values = {"telegram_api_base_url": telegram.url, "telegram_poll_timeout_seconds": 0}
    values.update(overrides)
    if values["telegram_api_base_url"] == "closed":
        values["telegram_api_base_url"] = closed_port_url()
    return channel_settings(**values)


def _run(channel: TelegramChannel, work: Callable[[], Awaitable[T]]) -> T:
    """Run on a fresh loop and close the bot's connections on that same loop."""

    async def scenario() -> T:
        try:
            return await work()
        finally:
            await channel.aclose()

    return asyncio.run(scenario())


# --- sending -------------------------------------------------------------------------------------

PHOTO_1 = "https://lapor.example.go.id/media/jawaban-1.jpg"
PHOTO_2 = "https://lapor.example.go.id/media/jawaban-2.jpg"
PDF = "https://lapor.example.go.id/media/surat-jawaban.pdf"
INLINE = {
    "inline_keyboard": [
        [{"text": "Ya, kirim", "callback_data": "confirm_submit"}],
        [{"text": "Batal", "callback_data": "cancel_draft"}],
    ]
}
REMOVE = {"remove_keyboard": True}


@dataclass(frozen=True)
class SendCase:
    label: str
    text: str = "Laporan Anda sudah kami terima."
    media: tuple[Media, ...] = ()
    buttons: tuple[Button, ...] = ()
    request_location: bool = False
    location_label: str = ""
    failure: dict[str, Any] | None = None  # FakeTelegram.fail() arguments
    api: str = "fake"
    ok: bool = True
    retryable: bool = False
    error_mentions: str = ""
    # what Telegram received: (method, the parameters that matter)
    calls: tuple[tuple[str, dict[str, Any]], ...] = field(default_factory=tuple)


CONFIRM = (Button("Ya, kirim", "confirm_submit"), Button("Batal", "cancel_draft"))
TEXT = "Laporan Anda sudah kami terima."

SEND_CASES = [
    SendCase(
        "text removes an old reply keyboard",
        calls=(("sendMessage", {"text": TEXT, "reply_markup": REMOVE}),),
    ),
    SendCase(
        "inline buttons",
        text="Kirim laporan ini?",
        buttons=CONFIRM,
        calls=(("sendMessage", {"text": "Kirim laporan ini?", "reply_markup": INLINE}),),
    ),
    SendCase(
        "share-location keyboard",
        text="Di mana lokasinya?",
        request_location=True,
        location_label="📍 Kirim lokasi saya",
        calls=(
            (
                "sendMessage",
                {
                    "text": "Di mana lokasinya?",
                    "reply_markup": {
                        "keyboard": [[{"text": "📍 Kirim lokasi saya", "request_location": True}]],
                        "one_time_keyboard": True,
                        "resize_keyboard": True,
                    },
                },
            ),
        ),
    ),
    SendCase(
        "one photo carries the text as caption",
        media=(Media(url=PHOTO_1, content_type="image/jpeg"),),
        calls=(("sendPhoto", {"photo": PHOTO_1, "caption": TEXT, "reply_markup": REMOVE}),),
    ),
    SendCase(
        "two photos as an album, then the text with the buttons",
        media=(Media(url=PHOTO_1), Media(ref="AgACAgUAAxkBAAIBZ2-1280")),
        buttons=CONFIRM,
        calls=(
            (
                "sendMediaGroup",
                {
                    "media": [
                        {"type": "photo", "media": PHOTO_1},
                        {"type": "photo", "media": "AgACAgUAAxkBAAIBZ2-1280"},
                    ]
                },
            ),
            ("sendMessage", {"text": TEXT, "reply_markup": INLINE}),
        ),
    ),
    SendCase(
        "a document, then the text",
        media=(Media(url=PDF, content_type="application/pdf", filename="jawaban.pdf"),),
        calls=(
            ("sendDocument", {"document": PDF}),
            ("sendMessage", {"text": TEXT, "reply_markup": REMOVE}),
        ),
    ),
    SendCase(
        "bot blocked by the user",
        failure={"description": "Forbidden: bot was blocked by the user", "status": 403},
        ok=False,
        error_mentions="blocked",
    ),
    SendCase(
        "chat not found",
        failure={"description": "Bad Request: chat not found", "status": 400},
        ok=False,
        error_mentions="Chat not found",
    ),
    SendCase(
        "flood control",
        failure={
            "description": "Too Many Requests: retry after 7",
            "status": 429,
            "retry_after": 7,
        },
        ok=False,
        retryable=True,
        error_mentions="7s",
    ),
    SendCase(
        "Telegram server error",
        failure={"description": "Internal Server Error", "status": 500},
        ok=False,
        retryable=True,
    ),
    SendCase("Telegram unreachable", api="closed", ok=False, retryable=True),
    SendCase("token rejected", api="wrong-token", ok=False, retryable=True, error_mentions="TOKEN"),
    SendCase(
        "button payload over 64 bytes",
        buttons=(Button("Ya", "x" * 65),),
        ok=False,
        error_mentions="64 bytes",
    ),
]


def _essentials(params: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The parameters the case names; media items reduced to type and media."""
    picked = {key: params.get(key) for key in wanted}
    if "media" in picked and isinstance(picked["media"], list):
        picked["media"] = [{"type": m["type"], "media": m["media"]} for m in picked["media"]]
    return picked


@pytest.mark.parametrize("case", SEND_CASES, ids=lambda case: case.label)
def test_send(telegram: RunningTelegram, case: SendCase) -> None:
    if case.failure:
        telegram.fake.fail(**case.failure)
    overrides: dict[str, Any] = {"closed": {"telegram_api_base_url": "closed"}}.get(case.api, {})
    if case.api == "wrong-token":
        overrides = {"telegram_bot_token": "900000001:not-the-token-the-fake-knows"}
    channel = TelegramChannel(_settings(telegram, **overrides))
    message = OutboundMessage(
        "telegram",
        CHAT,
        case.text,
        idempotency_key="k1",
        media=case.media,
        buttons=case.buttons,
        request_location=case.request_location,
        location_button_label=case.location_label,
    )

    result = _run(channel, lambda: channel.send(message))

    assert (result.ok, result.retryable) == (case.ok, case.retryable), result.error
    assert case.error_mentions in (result.error or "")
    if case.ok:
        calls = telegram.fake.sent(CHAT)
        assert [c.method for c in calls] == [method for method, _ in case.calls]
        for call, (_, wanted) in zip(calls, case.calls, strict=True):
            assert _essentials(call.params, wanted) == wanted
        assert result.parts == sum(
            len(c.params["media"]) if c.method == "sendMediaGroup" else 1 for c in calls
        )
        assert result.provider_message_id is not None
        assert result.provider_message_id.startswith(f"{CHAT}:")


def test_long_text_is_sent_in_parts(telegram: RunningTelegram) -> None:
    text = ("Jawaban dinas terkait atas laporan LPR-7K3M9Q. " * 120).strip()
    channel = TelegramChannel(_settings(telegram))
    result = _run(channel, lambda: channel.send(OutboundMessage("telegram", CHAT, text, "k1")))
    sent = [c.params["text"] for c in telegram.fake.sent(CHAT)]
    assert result.ok and result.parts == len(sent) == 2
    assert all(len(part) <= 4096 for part in sent)
    assert " ".join(sent).split() == text.split()
    assert split_telegram_text(text) == sent


def test_location_keyboard_without_a_label_uses_a_pin(telegram: RunningTelegram) -> None:
    channel = TelegramChannel(_settings(telegram))
    message = OutboundMessage("telegram", CHAT, "Lokasi?", "k1", request_location=True)
    assert _run(channel, lambda: channel.send(message)).ok
    keyboard = telegram.fake.sent(CHAT)[0].params["reply_markup"]["keyboard"]
    assert keyboard == [[{"text": "📍", "request_location": True}]]


@pytest.mark.parametrize("refused", [False, True])
def test_answer_button(telegram: RunningTelegram, refused: bool) -> None:
    if refused:
        telegram.fake.fail("Bad Request: query is too old", method="answerCallbackQuery")
    channel = TelegramChannel(_settings(telegram))
    answered = _run(channel, lambda: channel.answer_button("4382bfdwdsb323b2d9"))
    assert answered is not refused
    calls = [c for c in telegram.fake.calls if c.method == "answerCallbackQuery"]
    assert [c.params["callback_query_id"] for c in calls] == ["4382bfdwdsb323b2d9"]


def test_register_webhook_sends_the_secret(telegram: RunningTelegram) -> None:
    channel = TelegramChannel(_settings(telegram))
    _run(channel, lambda: channel.register_webhook("https://lapor.example.go.id/webhooks/telegram"))
    assert telegram.fake.webhook["url"] == "https://lapor.example.go.id/webhooks/telegram"
    assert (
        telegram.fake.webhook["secret_token"]
        == channel.settings.telegram_webhook_secret.get_secret_value()
    )  # type: ignore[union-attr]
    assert telegram.fake.webhook["allowed_updates"] == [
        "message",
        "edited_message",
        "callback_query",
    ]


# --- downloads -----------------------------------------------------------------------------------

JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 3000


@dataclass(frozen=True)
class DownloadCase:
    label: str
    stored: bytes | None
    claimed: str | None = "image/jpeg"
    max_bytes: int = 10_000
    api: str = "fake"
    error: bool = False
    retryable: bool = False


DOWNLOAD_CASES = [
    DownloadCase("a photo", JPEG),
    DownloadCase("no type claimed: the bytes say JPEG", JPEG, claimed=None),
    DownloadCase("no type claimed, bytes unknown", b"MZ\x90\x00" * 100, claimed=None, error=True),
    DownloadCase("over the size limit", JPEG, max_bytes=1000, error=True),
    DownloadCase("unknown file id", None, error=True),
    DownloadCase("Telegram unreachable", JPEG, api="closed", error=True, retryable=True),
]


@pytest.mark.parametrize("case", DOWNLOAD_CASES, ids=lambda case: case.label)
def test_download(telegram: RunningTelegram, case: DownloadCase) -> None:
    if case.stored is not None:
        telegram.fake.add_file("AgACAgUAAxkBAAIBZ2-1280", case.stored, "photos/file_7.jpg")
    channel = TelegramChannel(
        _settings(telegram, telegram_api_base_url=telegram.url if case.api == "fake" else "closed")
    )
    media = Media(ref="AgACAgUAAxkBAAIBZ2-1280", content_type=case.claimed)

    if case.error:
        with pytest.raises(MediaError) as caught:
            _run(channel, lambda: channel.download(media, case.max_bytes))
        assert caught.value.retryable is case.retryable
        assert "test-telegram-token" not in str(caught.value)
        if case.label == "over the size limit":  # getFile told the size: nothing fetched
            assert telegram.fake.file_downloads == 0
    else:
        data, content_type = _run(channel, lambda: channel.download(media, case.max_bytes))
        assert data == case.stored
        assert content_type == "image/jpeg"  # Telegram's file server says only octet-stream


# --- polling -------------------------------------------------------------------------------------


def _update(name: str) -> dict[str, Any]:
    """A fixture update without its id: the fake numbers updates in the order they arrive."""
    update = json.loads(fixture_bytes("telegram", name))
    del update["update_id"]
    return update


def test_polling_yields_updates_and_confirms_them(telegram: RunningTelegram) -> None:
    text_id = telegram.fake.push_update(_update("text.json"))
    sticker_id = telegram.fake.push_update(_update("sticker.json"))
    channel = TelegramChannel(_settings(telegram))

    async def scenario() -> tuple[list[Any], int]:
        polled = []
        updates = channel.poll()
        polled.append(await anext(updates))
        polled.append(await anext(updates))
        edit_id = telegram.fake.push_update(_update("edited_message.json"))
        polled.append(await anext(updates))
        await updates.aclose()
        return polled, edit_id

    polled, edit_id = _run(channel, scenario)

    assert telegram.fake.calls[0].method == "deleteWebhook"
    assert [[m.external_id for m in p.messages] for p in polled] == [
        [str(text_id)],
        [],
        [str(edit_id)],
    ]
    assert polled[2].messages[0].kind is MessageKind.EDITED
    # The stored raw update parses to the same message as the webhook gives.
    assert channel.parse(polled[0].raw) == polled[0].messages
    # Updates are confirmed with the next getUpdates, only after both were handed over.
    assert telegram.fake.offsets_seen == [None, sticker_id + 1]


def test_polling_survives_updates_it_cannot_read(telegram: RunningTelegram) -> None:
    """An old sticker (which python-telegram-bot's own getUpdates cannot even build) and an
    unreadable location are handed over raw, with no messages, and polling goes on: the gateway
    keeps them for the admins instead of polling dying on them."""
    old_id = telegram.fake.push_update(_update("sticker_old_shape.json"))
    bad_id = telegram.fake.push_update(_update("location_not_numbers.json"))
    text_id = telegram.fake.push_update(_update("text.json"))
    channel = TelegramChannel(_settings(telegram))

    async def scenario() -> list[Any]:
        updates = channel.poll()
        polled = [await anext(updates) for _ in range(3)]
        await updates.aclose()
        return polled

    polled = _run(channel, scenario)
    assert [[m.external_id for m in p.messages] for p in polled] == [[], [], [str(text_id)]]
    assert [json.loads(p.raw.body)["update_id"] for p in polled] == [old_id, bad_id, text_id]
    with pytest.raises(PayloadError):
        channel.parse(polled[1].raw)  # the gateway keeps this one raw, as from the webhook


def test_polling_backs_off_after_errors(telegram: RunningTelegram) -> None:
    telegram.fake.fail("Bad Gateway", status=502, method="getUpdates", times=2)
    text_id = telegram.fake.push_update(_update("text.json"))
    channel = TelegramChannel(_settings(telegram))
    delays: list[float] = []

    async def no_wait(seconds: float) -> None:
        delays.append(seconds)

    async def scenario() -> Any:
        updates = channel.poll(sleep=no_wait)
        first = await anext(updates)
        await updates.aclose()
        return first

    first = _run(channel, scenario)
    assert [m.external_id for m in first.messages] == [str(text_id)]
    assert delays == [1.0, 2.0]


def test_a_polled_update_with_a_lone_surrogate_does_not_stop_polling() -> None:
    """Polling re-serialises each update; a lone surrogate (no UTF-8 encoder takes it) raised
    UnicodeEncodeError there, out of the polling loop."""
    from channels.base import RawRequest
    from channels.telegram import _update_body

    update = json.loads(fixture_bytes("telegram", "text.json"))
    update["message"]["text"] = "Jalan rusak \ud800"
    raw = RawRequest(_update_body(update), {}, "telegram:getUpdates", subpath="polling")
    [message] = TelegramChannel(channel_settings(), now=lambda: FIXED_NOW).parse(raw)
    assert message.text == "Jalan rusak \ufffd"


def test_one_channel_is_used_from_several_event_loops(telegram: RunningTelegram) -> None:
    """The gateway sends from the outbox dispatcher's thread and downloads photos on the
    scheduler's loop with the same channel object; PTB's client is bound to the loop that first
    used it ("... is bound to a different event loop" lost a photo in the multi-instance test).
    Each loop gets its own bot."""
    channel = TelegramChannel(_settings(telegram))

    def message(key: str) -> OutboundMessage:
        return OutboundMessage("telegram", CHAT, f"balasan {key}", idempotency_key=key)

    async def on_the_dispatchers_loop() -> None:
        assert (await channel.send(message("k1"))).ok

    done = threading.Event()
    dispatcher = threading.Thread(
        target=lambda: (asyncio.run(on_the_dispatchers_loop()), done.set()), daemon=True
    )
    dispatcher.start()
    dispatcher.join(30)
    assert done.is_set()
    # The same channel on another loop (the scheduler's) still works.
    assert _run(channel, lambda: channel.send(message("k2"))).ok
    assert [call.params.get("text") for call in telegram.fake.sent(CHAT)] == [
        "balasan k1",
        "balasan k2",
    ]
