"""The webhook case tables of Meta's channels (WhatsApp Cloud, Instagram, Facebook), and the
table of Meta's GET set-up handshake.

The fixtures under `tests/fixtures/<channel>/` are written from Meta's documented payloads
(WhatsApp Cloud API webhooks, Messenger Platform webhook events, Instagram and Page `feed`
webhooks) with fake ids, numbers and names; every request is signed here with the test app
secret (`X-Hub-Signature-256`), never stored signed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from channels.base import DeliveryState, MessageKind, PayloadError, SignatureError
from tests.channels.cases import (
    DROP,
    FIXED_NOW,
    PHONE_NUMBER_ID,
    TEST_META_VERIFY_TOKEN,
    Expect,
    ExpectStatus,
    Sign,
    WebhookCase,
    deep_json,
    mutated,
)

AT = datetime(2024, 11, 20, 8, 30, tzinfo=UTC)
WA_MESSAGE = "entry.0.changes.0.value.messages.0"  # a WhatsApp fixture's message, for `mutated`
SITI, BUDI = "+6281234560021", "+6281234560022"
IG_CITIZEN, IG_COMMENTER = "6390012345678901", "6390012345678902"
FB_CITIZEN, FB_COMMENTER = "25000000000000001", "25000000000000002"
OUR_WAMID = "wamid.HBgNNjI4MTEwMDAwMTcwOBUCABEYEjBBQkMxMjM0NTY3ODkwQUJDAA=="  # what they answered
FB_POST_LINK = "https://www.facebook.com/pemkabrembang/posts/pfbid0FakePermalink1708"


def wamid(n: int) -> str:
    return f"wamid.HBgNNjI4MTIzNDU2MDAyMRUCABIYFjNFQjBDMDAw{n:04d}"


def wa_status_id(n: int) -> str:
    return f"wamid.HBgNNjI4MTIzNDU2MDAyMhUCABEYEkFBQkJDQ0RERUVGRjAw{n:04d}"


def ig_mid(n: int) -> str:
    return (
        "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAxNzA4OjM0MDI4MjM2Njg0MTcxMDMw"
        f"MTI0NDI1OTk{n:05d}"
    )


def fb_mid(n: int) -> str:
    return f"m_Fk9aSgL1bWJ8r0c2QXxZ{n:04d}pQe7Vn3yU5tR"


def _garbled(channel: str, other_object: str) -> list[WebhookCase]:
    """The rows every Meta channel shares: signatures and bodies that are not ours."""
    fixture = "text.json"
    return [
        WebhookCase("invalid signature", channel, fixture, sign=Sign.INVALID, error=SignatureError),
        WebhookCase("missing signature", channel, fixture, sign=Sign.MISSING, error=SignatureError),
        WebhookCase(
            "body changed after signing",
            channel,
            fixture,
            sign=Sign.TAMPERED,
            error=SignatureError,
        ),
        WebhookCase("not JSON", channel, body=b"object=page&entry=1", error=PayloadError),
        WebhookCase("JSON but not an object", channel, body=b'[{"entry": []}]', error=PayloadError),
        WebhookCase(
            "JSON nested 1,000 levels deep",
            channel,
            body=b'{"object": "'
            + other_object.encode()
            + b'", "entry": ['
            + deep_json(1000)
            + b"]}",
            error=PayloadError,
        ),
        WebhookCase(
            "a body over WEBHOOK_MAX_BYTES",
            channel,
            body=b'{"object": "'
            + other_object.encode()
            + b'", "entry": [], "x": "'
            + b"a" * (1024 * 1024)
            + b'"}',
            error=PayloadError,
        ),
        WebhookCase(
            "no entry list",
            channel,
            body=b'{"object": "' + other_object.encode() + b'"}',
            error=PayloadError,
        ),
    ]


# --- WhatsApp Cloud API --------------------------------------------------------------------------


def whatsapp_cloud_cases() -> list[WebhookCase]:
    c = "whatsapp_cloud"
    siti = {"sender_name": "Siti Aminah", "extra.wa_id": "6281234560021"}
    return [
        WebhookCase(
            "text",
            c,
            "text.json",
            messages=(
                Expect(
                    SITI,
                    wamid(1),
                    "Selamat siang, lampu jalan di Desa Pandean mati sudah seminggu",
                    also={
                        **siti,
                        "received_at": AT,
                        "extra.phone_number_id": PHONE_NUMBER_ID,
                        "public": False,
                    },
                ),
            ),
        ),
        WebhookCase(
            "image with caption: the media id, resolved at download time",
            c,
            "image.json",
            messages=(
                Expect(
                    SITI,
                    wamid(2),
                    "Ini fotonya, tiangnya juga miring",
                    media=1,
                    also={
                        "media.0.ref": "1479537139650973",
                        "media.0.url": None,
                        "media.0.content_type": "image/jpeg",
                    },
                ),
            ),
        ),
        WebhookCase(
            "voice note",
            c,
            "voice.json",
            messages=(
                Expect(
                    SITI,
                    wamid(3),
                    media=1,
                    also={
                        "media.0.ref": "1055012345678901",
                        "media.0.content_type": "audio/ogg; codecs=opus",
                    },
                ),
            ),
        ),
        WebhookCase(
            "video with caption",
            c,
            "video.json",
            messages=(
                Expect(
                    SITI,
                    wamid(4),
                    "Banjir di depan SDN 1 Kaliori",
                    media=1,
                    also={"media.0.content_type": "video/mp4"},
                ),
            ),
        ),
        WebhookCase(
            "document with its file name",
            c,
            "document.json",
            messages=(
                Expect(
                    SITI,
                    wamid(5),
                    "Surat keterangan dari desa",
                    media=1,
                    also={
                        "media.0.filename": "surat_keterangan_desa.pdf",
                        "media.0.content_type": "application/pdf",
                    },
                ),
            ),
        ),
        WebhookCase(
            "location",
            c,
            "location.json",
            messages=(
                Expect(
                    SITI,
                    wamid(6),
                    location=(-6.70811, 111.34183),
                    also={"location.label": "Pasar Kota Rembang, Jl. Pemuda No. 12, Rembang"},
                ),
            ),
        ),
        WebhookCase(
            "contact card",
            c,
            "contact_card.json",
            messages=(
                Expect(
                    SITI,
                    wamid(7),
                    also={
                        "contact_phone": "+6281234567001",
                        "extra.contact_name": "Pak RT Sumberjo",
                    },
                ),
            ),
        ),
        WebhookCase(
            "interactive button reply",
            c,
            "button_reply.json",
            messages=(
                Expect(
                    SITI,
                    wamid(8),
                    "Ya, kirim",
                    kind=MessageKind.BUTTON,
                    also={
                        "button_payload": "confirm_submit",
                        "reply_to": OUR_WAMID,
                    },
                ),
            ),
        ),
        WebhookCase(
            "interactive list reply",
            c,
            "list_reply.json",
            messages=(
                Expect(
                    SITI,
                    wamid(9),
                    "Kec. Sarang",
                    kind=MessageKind.BUTTON,
                    also={"button_payload": "kec_sarang"},
                ),
            ),
        ),
        WebhookCase(
            "template quick-reply button",
            c,
            "template_button.json",
            messages=(
                Expect(
                    BUDI,
                    wamid(10),
                    "Puas",
                    kind=MessageKind.BUTTON,
                    also={"button_payload": "feedback_puas", "sender_name": "Budi Santoso"},
                ),
            ),
        ),
        WebhookCase("reaction is ignored", c, "reaction.json"),
        WebhookCase(
            "statuses sent, delivered, read",
            c,
            "statuses.json",
            statuses=(
                ExpectStatus(wa_status_id(1), DeliveryState.SENT),
                ExpectStatus(wa_status_id(2), DeliveryState.DELIVERED),
                ExpectStatus(wa_status_id(3), DeliveryState.READ),
            ),
        ),
        WebhookCase(
            "status failed: the 24-hour window had closed",
            c,
            "status_failed.json",
            statuses=(ExpectStatus(wa_status_id(4), DeliveryState.FAILED, "WhatsApp 131047"),),
        ),
        WebhookCase(
            "batch of two entries: each message once, statuses too",
            c,
            "batch.json",
            messages=(
                Expect(SITI, wamid(12), "Jalan berlubang di Jl. Gatot Subroto"),
                Expect(BUDI, wamid(13), "Dekat SPBU Sulang", also={"sender_name": "Budi Santoso"}),
                Expect(SITI, wamid(14), "Mohon segera ditangani"),
            ),
            statuses=(ExpectStatus(wa_status_id(5), DeliveryState.DELIVERED),),
        ),
        WebhookCase("a change for another phone number is skipped", c, "other_number.json"),
        *_garbled(c, "whatsapp_business_account"),
        WebhookCase(
            "a notification for another object",
            c,
            body=b'{"object": "page", "entry": []}',
            error=PayloadError,
        ),
        WebhookCase(
            "message without a sender",
            c,
            body=_wa_body({"id": "wamid.X", "timestamp": "1732091400", "type": "text"}),
            error=PayloadError,
        ),
        # --- hostile input (issue 13): read what can be read, else unreadable, never a 500
        WebhookCase(
            "a timestamp that is no number: received now, Meta's value kept",
            c,
            body=_wa_body(_wa_text("halo", timestamp="kemarin")),
            messages=(
                Expect(
                    SITI,
                    "wamid.Y",
                    "halo",
                    also={"received_at": FIXED_NOW, "extra.provider_time": "kemarin"},
                ),
            ),
        ),
        WebhookCase(
            "a timestamp past the year 9999: received now, Meta's value kept",
            c,
            body=_wa_body(_wa_text("halo", timestamp="9" * 30)),
            messages=(
                Expect(
                    SITI,
                    "wamid.Y",
                    "halo",
                    also={"received_at": FIXED_NOW, "extra.provider_time": "9" * 30},
                ),
            ),
        ),
        WebhookCase(
            "U+0000 and a lone surrogate in the text, a text over CHAT_MAX_CHARS",
            c,
            body=_wa_body(_wa_text("Air\x00 mati \ud800 " + "x" * 5000)),
            messages=(
                Expect(
                    SITI,
                    "wamid.Y",
                    ("Air mati \ufffd " + "x" * 5000)[:4096],
                    also={"extra.text_truncated": "4096", "extra.text_chars": "5011"},
                ),
            ),
        ),
        WebhookCase(
            "a location out of range: the coordinates dropped, the place's name kept",
            c,
            body=mutated(c, "location.json", {f"{WA_MESSAGE}.location.latitude": 500}),
            messages=(
                Expect(
                    SITI,
                    wamid(6),
                    also={
                        "location.label": "Pasar Kota Rembang, Jl. Pemuda No. 12, Rembang",
                        "extra.location_dropped": "true",
                    },
                ),
            ),
        ),
        WebhookCase(
            "a location out of range and nothing else: unreadable",
            c,
            body=mutated(
                c,
                "location.json",
                {
                    f"{WA_MESSAGE}.location.latitude": 500,
                    f"{WA_MESSAGE}.location.name": DROP,
                    f"{WA_MESSAGE}.location.address": DROP,
                },
            ),
            error=PayloadError,
        ),
        WebhookCase(
            "a location with coordinates as words: unreadable",
            c,
            body=mutated(c, "location.json", {f"{WA_MESSAGE}.location.latitude": "selatan"}),
            error=PayloadError,
        ),
        WebhookCase(
            "a message id of 300 characters: unreadable",
            c,
            body=_wa_body({**_wa_text("halo"), "id": "wamid." + "A" * 294}),
            error=PayloadError,
        ),
    ]


def _wa_text(body: str, *, timestamp: str = "1732091400") -> dict[str, Any]:
    return {
        "from": "6281234560021",
        "id": "wamid.Y",
        "timestamp": timestamp,
        "type": "text",
        "text": {"body": body},
    }


def _wa_body(message: Mapping[str, Any]) -> bytes:
    import json

    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "6281100001708", "phone_number_id": PHONE_NUMBER_ID},
        "messages": [dict(message)],
    }
    entry = {"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}
    return json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()


# --- Instagram -----------------------------------------------------------------------------------


def instagram_cases() -> list[WebhookCase]:
    c = "instagram"
    cdn = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1790000000000000"
    return [
        WebhookCase(
            "text",
            c,
            "text.json",
            messages=(
                Expect(
                    IG_CITIZEN,
                    ig_mid(1),
                    "Min, trotoar di alun-alun rusak dan membahayakan pejalan kaki",
                    also={"received_at": AT, "public": False, "thread_ref": None},
                ),
            ),
        ),
        WebhookCase(
            "image",
            c,
            "image.json",
            messages=(
                Expect(
                    IG_CITIZEN,
                    ig_mid(2),
                    media=1,
                    also={
                        "media.0.url": f"{cdn}1&signature=AbFakeSignature1",
                        "media.0.content_type": "image/jpeg",
                    },
                ),
            ),
        ),
        WebhookCase(
            "video",
            c,
            "video.json",
            messages=(
                Expect(IG_CITIZEN, ig_mid(3), media=1, also={"media.0.content_type": "video/mp4"}),
            ),
        ),
        WebhookCase(
            "audio",
            c,
            "audio.json",
            messages=(
                Expect(IG_CITIZEN, ig_mid(4), media=1, also={"media.0.content_type": "audio/mp4"}),
            ),
        ),
        WebhookCase(
            "quick reply",
            c,
            "quick_reply.json",
            messages=(
                Expect(
                    IG_CITIZEN,
                    ig_mid(5),
                    "Ya, kirim",
                    kind=MessageKind.BUTTON,
                    also={"button_payload": "confirm_submit"},
                ),
            ),
        ),
        WebhookCase(
            "postback",
            c,
            "postback.json",
            messages=(
                Expect(
                    IG_CITIZEN,
                    ig_mid(6),
                    "Lapor masalah",
                    kind=MessageKind.BUTTON,
                    also={"button_payload": "start_report"},
                ),
            ),
        ),
        WebhookCase("echo of our own message is ignored", c, "echo.json"),
        WebhookCase(
            "read receipt",
            c,
            "read.json",
            statuses=(ExpectStatus("m_fake00000042", DeliveryState.READ),),
        ),
        WebhookCase("reaction is ignored", c, "reaction.json"),
        WebhookCase(
            "comment under our post: public, threaded on the comment",
            c,
            "comment.json",
            messages=(
                Expect(
                    IG_COMMENTER,
                    "17990000000000001",
                    "Pak, jalan ke Desa Sumberjo rusak parah, kapan diperbaiki?",
                    also={
                        "public": True,
                        "thread_ref": "17990000000000001",
                        "permalink": None,
                        "sender_name": "warga.sulang",
                        "extra.username": "warga.sulang",
                        "extra.media_id": "18030000000000001",
                        "received_at": AT,
                    },
                ),
            ),
        ),
        WebhookCase("our own reply under a comment is ignored", c, "own_comment.json"),
        WebhookCase(
            "a citizen's reply under a comment",
            c,
            "comment_reply.json",
            messages=(
                Expect(
                    IG_COMMENTER,
                    "17990000000000003",
                    "Sudah saya kirim lewat DM ya min",
                    also={
                        "public": True,
                        "reply_to": "17990000000000002",
                        "extra.parent_id": "17990000000000002",
                    },
                ),
            ),
        ),
        WebhookCase("mention is ignored", c, "mention.json"),
        WebhookCase(
            "batch: messages and a comment, the echo and another account skipped",
            c,
            "batch.json",
            messages=(
                Expect(IG_CITIZEN, ig_mid(8), "Selokan mampet di Jl. Kartini"),
                Expect(IG_CITIZEN, ig_mid(9), "RT 02 RW 03"),
                Expect(
                    IG_COMMENTER,
                    "17990000000000004",
                    "Sampah di pantai Kartini menumpuk",
                    also={"public": True},
                ),
            ),
        ),
        *_garbled(c, "instagram"),
        WebhookCase(
            "a message timestamp of 31 digits: received now, Meta's value kept",
            c,
            body=mutated(c, "text.json", {"entry.0.messaging.0.timestamp": 10**30}),
            messages=(
                Expect(
                    IG_CITIZEN,
                    ig_mid(1),
                    "Min, trotoar di alun-alun rusak dan membahayakan pejalan kaki",
                    also={"received_at": FIXED_NOW, "extra.provider_time": str(10**30)},
                ),
            ),
        ),
        WebhookCase(
            "an attachment URL that is a number: unreadable",
            c,
            body=mutated(
                c, "image.json", {"entry.0.messaging.0.message.attachments.0.payload.url": 7}
            ),
            error=PayloadError,
        ),
        WebhookCase(
            "a Page notification sent to the Instagram webhook",
            c,
            body=b'{"object": "page", "entry": [{"id": "1", "messaging": []}]}',
            error=PayloadError,
        ),
        WebhookCase(
            "messaging event without a sender",
            c,
            body=b'{"object": "instagram", "entry": [{"id": "17841400000001708", "messaging": '
            b'[{"recipient": {"id": "17841400000001708"}, '
            b'"message": {"mid": "x", "text": "a"}}]}]}',
            error=PayloadError,
        ),
        WebhookCase(
            "comment without its author",
            c,
            body=b'{"object": "instagram", "entry": [{"id": "17841400000001708", "changes": '
            b'[{"field": "comments", "value": {"id": "1799", "text": "halo"}}]}]}',
            error=PayloadError,
        ),
    ]


# --- Facebook Page -------------------------------------------------------------------------------


def facebook_cases() -> list[WebhookCase]:
    c = "facebook"
    return [
        WebhookCase(
            "text",
            c,
            "text.json",
            messages=(
                Expect(
                    FB_CITIZEN,
                    fb_mid(1),
                    "Selamat pagi, saya mau lapor pungli di kantor kecamatan",
                    also={"received_at": AT, "public": False},
                ),
            ),
        ),
        WebhookCase(
            "image",
            c,
            "image.json",
            messages=(
                Expect(FB_CITIZEN, fb_mid(2), media=1, also={"media.0.content_type": "image/jpeg"}),
            ),
        ),
        WebhookCase(
            "file",
            c,
            "file.json",
            messages=(
                Expect(
                    FB_CITIZEN,
                    fb_mid(3),
                    media=1,
                    also={
                        "media.0.content_type": None,
                        "media.0.url": "https://cdn.fbsbx.com/v/t59.2708-21/"
                        "fake_surat_kuasa.pdf?_nc_cat=1&oh=fake&oe=67000000",
                    },
                ),
            ),
        ),
        WebhookCase(
            "shared location",
            c,
            "location.json",
            messages=(
                Expect(
                    FB_CITIZEN,
                    fb_mid(4),
                    location=(-6.70402, 111.33897),
                    also={"location.label": "Lokasi"},
                ),
            ),
        ),
        WebhookCase("sticker (the like thumb) is ignored", c, "sticker.json"),
        WebhookCase(
            "quick reply",
            c,
            "quick_reply.json",
            messages=(
                Expect(
                    FB_CITIZEN,
                    fb_mid(6),
                    "Tidak, ubah",
                    kind=MessageKind.BUTTON,
                    also={"button_payload": "edit_report"},
                ),
            ),
        ),
        WebhookCase(
            "postback (Get Started)",
            c,
            "postback.json",
            messages=(
                Expect(
                    FB_CITIZEN,
                    fb_mid(7),
                    "Mulai",
                    kind=MessageKind.BUTTON,
                    also={"button_payload": "GET_STARTED"},
                ),
            ),
        ),
        WebhookCase("echo of our own message is ignored", c, "echo.json"),
        WebhookCase(
            "delivery receipt names our messages",
            c,
            "delivery.json",
            statuses=(
                ExpectStatus("m_fake00000007", DeliveryState.DELIVERED),
                ExpectStatus("m_fake00000008", DeliveryState.DELIVERED),
            ),
        ),
        WebhookCase("read watermark is ignored", c, "read.json"),
        WebhookCase(
            "comment under our post: public, with the post's link",
            c,
            "comment.json",
            messages=(
                Expect(
                    FB_COMMENTER,
                    "900000000000001_1200000000000001",
                    "Air PDAM di Kelurahan Leteh mati tiga hari, tolong dicek",
                    also={
                        "public": True,
                        "thread_ref": "900000000000001_1200000000000001",
                        "permalink": FB_POST_LINK,
                        "sender_name": "Ahmad Fauzi",
                        "reply_to": None,
                        "extra.post_id": "108000000001708_900000000000001",
                        "received_at": AT,
                    },
                ),
            ),
        ),
        WebhookCase(
            "comment with a photo",
            c,
            "comment_photo.json",
            messages=(
                Expect(
                    FB_COMMENTER,
                    "900000000000001_1200000000000002",
                    "Ini buktinya",
                    media=1,
                    also={"public": True, "media.0.content_type": "image/jpeg"},
                ),
            ),
        ),
        WebhookCase(
            "comment whose author Meta leaves out: kept, reachable by the comment id",
            c,
            "comment_no_author.json",
            messages=(
                Expect(
                    "comment:900000000000001_1200000000000005",
                    "900000000000001_1200000000000005",
                    "Jembatan gantung di Desa Karangasem talinya putus sebagian",
                    also={
                        "public": True,
                        "sender_name": None,
                        "thread_ref": "900000000000001_1200000000000005",
                        "extra.author_unknown": "true",
                    },
                ),
            ),
        ),
        WebhookCase("our Page's own reply is ignored", c, "own_comment.json"),
        WebhookCase("an edited comment is ignored", c, "comment_edited.json"),
        WebhookCase("a reaction on the post is ignored", c, "reaction.json"),
        WebhookCase(
            "batch: a message, a comment and a later message; receipts and reactions aside",
            c,
            "batch.json",
            messages=(
                Expect(FB_CITIZEN, fb_mid(9), "Lampu merah di perempatan Pantura mati"),
                Expect(
                    FB_CITIZEN,
                    "900000000000001_1200000000000004",
                    "Setuju, perempatan itu rawan kecelakaan",
                    also={"public": True, "sender_name": "Dewi Lestari"},
                ),
                Expect(FB_COMMENTER, fb_mid(10), "Sudah sejak kemarin sore"),
            ),
            statuses=(ExpectStatus("m_fake00000009", DeliveryState.DELIVERED),),
        ),
        *_garbled(c, "page"),
        WebhookCase(
            "a comment created in the year 33658: received now, Meta's time kept",
            c,
            body=mutated(c, "comment.json", {"entry.0.changes.0.value.created_time": 10**12 - 1}),
            messages=(
                Expect(
                    FB_COMMENTER,
                    "900000000000001_1200000000000001",
                    "Air PDAM di Kelurahan Leteh mati tiga hari, tolong dicek",
                    also={"received_at": FIXED_NOW, "extra.provider_time": str(10**12 - 1)},
                ),
            ),
        ),
        WebhookCase(
            "a shared location at latitude infinity: unreadable",
            c,
            body=mutated(
                c,
                "location.json",
                {
                    "entry.0.messaging.0.message.attachments.0.payload.coordinates.lat": 1e999,
                    "entry.0.messaging.0.message.attachments.0.title": DROP,
                },
            ),
            error=PayloadError,
        ),
        WebhookCase(
            "feed comment without a comment id",
            c,
            body=b'{"object": "page", "entry": [{"id": "108000000001708", "changes": [{"field": '
            b'"feed", "value": {"item": "comment", "verb": "add", "from": {"id": "2"}}}]}]}',
            error=PayloadError,
        ),
    ]


def meta_cases() -> list[WebhookCase]:
    return whatsapp_cloud_cases() + instagram_cases() + facebook_cases()


# --- the GET set-up handshake --------------------------------------------------------------------


@dataclass(frozen=True)
class HandshakeCase:
    label: str
    query: Mapping[str, str]
    echo: str | None = None  # the body expected back; None: an error
    error: type[Exception] | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)


def _hub(token: str = TEST_META_VERIFY_TOKEN, **more: str) -> dict[str, str]:
    query = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"}
    query.update({key.replace("_", "."): value for key, value in more.items()})
    return query


HANDSHAKE_CASES = [
    HandshakeCase("right token: the challenge echoed", _hub(), echo="1158201444"),
    HandshakeCase("wrong token", _hub("guessed-token"), error=SignatureError),
    HandshakeCase(
        "missing token",
        {"hub.mode": "subscribe", "hub.challenge": "1158201444"},
        error=SignatureError,
    ),
    HandshakeCase("not a subscribe request", _hub(hub_mode="unsubscribe"), error=SignatureError),
    HandshakeCase(
        "a challenge with markup is not reflected",
        _hub(hub_challenge="<script>alert(1)</script>"),
        error=PayloadError,
    ),
    HandshakeCase(
        "a verify token with a lone surrogate: refused, not a 500",
        _hub("\ud800" + TEST_META_VERIFY_TOKEN),
        error=SignatureError,
    ),
    HandshakeCase(
        "a challenge with a lone surrogate: not reflected",
        _hub(hub_challenge="\ud800"),
        error=PayloadError,
    ),
    HandshakeCase(
        "no verify token configured: nothing passes",
        _hub(""),
        error=SignatureError,
        settings={"meta_verify_token": None},
    ),
]
