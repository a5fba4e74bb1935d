"""Distinct Telegram updates and JSON-API complaints for the load benchmark (pure, no I/O).

One JSON template serves both load generators: `wrk` fills it in Lua (`bench/load/wrk.py`
writes the template into the script) and the Python client fills it here with `%`, whose `%d`
and `%s` mean the same as Lua's `string.format`. So the bodies wrk sends are the ones the tests
check against the gateway's own Telegram parser.

Ids: every sender of load gets its own block of update ids (`IdBlocks`), and within a block
the i-th update has id `block + i`, so no two updates of a run are alike (the gateway would
take a repeated `update_id` for Telegram's retry and store nothing).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

# The header the gateway's Telegram channel checks against TELEGRAM_WEBHOOK_SECRET.
from channels.telegram import SECRET_HEADER

WEBHOOK_PATH = "/webhooks/telegram"
API_PATH = "/api/v1/complaints"

# Compact JSON, the shape Telegram posts for a private text message. Placeholders, in order:
# update_id, message_id, date, chat id, sender id, text (JSON-escaped, without quotes).
UPDATE_TEMPLATE = (
    '{"update_id":%d,"message":{"message_id":%d,"date":%d,'
    '"chat":{"id":%d,"type":"private","first_name":"Warga"},'
    '"from":{"id":%d,"is_bot":false,"first_name":"Warga","language_code":"id"},'
    '"text":"%s"}}'
)

# What a flood of reports about one pothole and its neighbours looks like; the update number is
# appended so that no two texts are equal either.
TEXTS = (
    "Jalan di Desa Sumbergirang Lasem berlubang besar, motor sering jatuh",
    "Lampu jalan di depan SD 1 Leteh mati sejak seminggu",
    "Saluran air di Jalan Pemuda Rembang tersumbat, banjir setiap hujan",
    "Sampah menumpuk di pasar Kragan belum diangkut tiga hari",
    "Jembatan kecil di Desa Pandean retak, mohon segera diperiksa",
    "Air PDAM di Kecamatan Sulang tidak mengalir sejak kemarin",
    "Pohon tumbang menutup jalan menuju Desa Tireman",
    "Banjir setinggi lutut di perumahan dekat alun-alun Rembang",
)

# Chat ids start here; updates cycle through CHATS reporters, so a flood has both new reporters
# (the bot greets and asks for consent) and reporters adding to their draft.
CHAT_BASE = 700_000_000
CHATS = 1000
# Each wrk thread (or Python sender) counts its updates within one block of ids.
BLOCK = 10_000_000


def json_text(text: str) -> str:
    """`text` as it goes between the quotes of a JSON string."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def text_for(n: int) -> str:
    return f"{TEXTS[n % len(TEXTS)]} (laporan {n})"


def update_body(
    update_id: int, *, chat_id: int, text: str, date: int, message_id: int | None = None
) -> bytes:
    """One signed-to-be Telegram update as the bytes of its JSON body."""
    message_id = message_id if message_id is not None else update_id % 1_000_000_000 + 1
    values = (update_id, message_id, date, chat_id, chat_id, json_text(text))
    return (UPDATE_TEMPLATE % values).encode("utf-8")


def flood_update(block: int, n: int, date: int) -> bytes:
    """The n-th update of a flood, the same one the wrk script makes for that id."""
    update_id = block + n
    return update_body(update_id, chat_id=CHAT_BASE + n % CHATS, text=text_for(n), date=date)


def webhook_headers(secret: str) -> dict[str, str]:
    return {"Content-Type": "application/json", SECRET_HEADER: secret}


def complaint_body(n: int) -> bytes:
    """A valid `POST /api/v1/complaints` body (consent given, no photo)."""
    body = {
        "description": f"{text_for(n)}. Mohon segera ditindaklanjuti.",
        "name": f"Warga {n}",
        "phone": f"+62812{n % 10_000_000:07d}",
        "location_text": "Desa Sumbergirang, Kecamatan Lasem",
        "consent": True,
    }
    return json.dumps(body).encode("utf-8")


def complaint_headers() -> dict[str, str]:
    # A fresh Idempotency-Key per request: every request is a new complaint, never a replay.
    return {"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}


@dataclass
class IdBlocks:
    """Hands out blocks of update ids so that every sender in a run has its own."""

    next_block: int = BLOCK

    def take(self, blocks: int = 1) -> int:
        first = self.next_block
        self.next_block += blocks * BLOCK
        if self.next_block >= 2**31:  # Telegram's ids fit 32 bits; stay inside
            raise RuntimeError("update ids exhausted for this run")
        return first
