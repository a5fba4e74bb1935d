"""Bot commands in Indonesian and English: case-insensitive and tolerant of typos.

A message is a command only when it is (nearly) nothing but the command: "BARU" starts a new
report, but "baru saja jalan ambles" is a complaint; "TAMBAH" answers the bot's question whether
a message adds to the open report, but "tambah lagi lubangnya" is content. Typos are forgiven
on the command word by edit distance (one edit for short words, two for long ones).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from rapidfuzz.distance import OSA

from gateway.complaints.tracking import find_code


class Command(StrEnum):
    START = "start"
    CHECK = "check"
    NEW = "new"
    ADD = "add"  # "yes, it belongs to my open report" (the TAMBAH / BARU question)
    CANCEL = "cancel"
    HELP = "help"
    SUBMIT = "submit"
    ANONIM = "anonim"
    RAHASIA = "rahasia"
    YES = "yes"
    NO = "no"
    ENGLISH = "english"
    INDONESIAN = "indonesian"


# word -> (command, language it suggests)
VOCABULARY: dict[str, tuple[Command, str | None]] = {
    "cek": (Command.CHECK, None),
    "status": (Command.CHECK, None),
    "check": (Command.CHECK, "en"),
    "baru": (Command.NEW, "id"),
    "new": (Command.NEW, "en"),
    "tambah": (Command.ADD, "id"),
    "tambahan": (Command.ADD, "id"),
    "tambahkan": (Command.ADD, "id"),
    "add": (Command.ADD, "en"),
    "batal": (Command.CANCEL, "id"),
    "batalkan": (Command.CANCEL, "id"),
    "cancel": (Command.CANCEL, "en"),
    "bantuan": (Command.HELP, "id"),
    "menu": (Command.HELP, None),
    "help": (Command.HELP, "en"),
    "kirim": (Command.SUBMIT, "id"),
    "selesai": (Command.SUBMIT, "id"),
    "send": (Command.SUBMIT, "en"),
    "done": (Command.SUBMIT, "en"),
    "anonim": (Command.ANONIM, "id"),
    "anonymous": (Command.ANONIM, "en"),
    "rahasia": (Command.RAHASIA, "id"),
    "confidential": (Command.RAHASIA, "en"),
    "ya": (Command.YES, "id"),
    "iya": (Command.YES, "id"),
    "setuju": (Command.YES, "id"),
    "yes": (Command.YES, "en"),
    "agree": (Command.YES, "en"),
    "ok": (Command.YES, None),
    "oke": (Command.YES, "id"),
    "tidak": (Command.NO, "id"),
    "tdk": (Command.NO, "id"),
    "gak": (Command.NO, "id"),
    "nggak": (Command.NO, "id"),
    "no": (Command.NO, "en"),
    "english": (Command.ENGLISH, "en"),
    "inggris": (Command.ENGLISH, "en"),
    "indonesia": (Command.INDONESIAN, "id"),
}
# Button payloads we put on inline keyboards map straight to commands.
BUTTON_PAYLOADS = {f"cmd:{command.value}": command for command in Command}

_TOKEN = re.compile(r"[a-z/]+")


@dataclass(frozen=True)
class ParsedCommand:
    command: Command
    argument: str | None = None  # a tracking code for CHECK
    language: str | None = None  # the language the command word suggests


def _closest(word: str) -> tuple[Command, str | None] | None:
    if word in VOCABULARY:
        return VOCABULARY[word]
    if len(word) < 4:
        return None  # "ga", "di": too short to guess
    allowed = 1 if len(word) < 7 else 2
    best: tuple[int, str] | None = None
    for known in VOCABULARY:
        if len(known) < 3:
            continue
        # OSA counts a swap of neighbours ("stauts") as one edit.
        distance = OSA.distance(word, known, score_cutoff=allowed)
        if distance <= allowed and (best is None or distance < best[0]):
            best = (distance, known)
    return VOCABULARY[best[1]] if best else None


def parse_command(text: str, button_payload: str | None = None) -> ParsedCommand | None:
    if button_payload and button_payload in BUTTON_PAYLOADS:
        return ParsedCommand(BUTTON_PAYLOADS[button_payload])
    cleaned = text.strip().lower()
    if not cleaned or len(cleaned) > 40:
        return None
    if cleaned.split()[0] in ("/start", "/mulai"):
        return ParsedCommand(Command.START)
    if cleaned.split()[0] in ("/help", "/bantuan"):
        return ParsedCommand(Command.HELP)
    words = _TOKEN.findall(cleaned.replace("-", " "))
    if not words:
        return None
    found = _closest(words[0].lstrip("/"))
    if found is None:
        return None
    command, language = found
    if command is Command.CHECK:
        rest = cleaned.split(None, 1)[1] if len(cleaned.split(None, 1)) > 1 else ""
        code = find_code(rest)
        if rest and code is None:
            return ParsedCommand(command, argument=rest.strip().upper(), language=language)
        return ParsedCommand(command, argument=code, language=language)
    # Anything but CHECK must stand alone (allowing trailing punctuation or "min", "pak").
    if len(words) > 2 or (len(words) == 2 and words[1] not in ("min", "pak", "bu", "kak", "ya")):
        return None
    return ParsedCommand(command, language=language)


@dataclass(frozen=True)
class Feedback:
    satisfied: bool | None  # None: neither said (a rating of 3, or just words)
    rating: int | None
    text: str


_NOT_SATISFIED = re.compile(
    r"\b(tidak|tdk|gak|ga|nggak|enggak|kurang|belum|blm|not|un)\s*(puas|satisfied)\b|\bunsatisfied\b"
)
_SATISFIED = re.compile(r"\b(puas|satisfied|mantap)\b")
_RATING = re.compile(
    r"^\s*(?:nilai|rating|skor|score)?\s*([1-5])\s*(?:/\s*5)?\s*(?:bintang|stars?)?\s*[.!]?\s*$"
)


def parse_feedback(text: str) -> Feedback:
    """A reporter's response to an answer: PUAS / TIDAK PUAS, a rating 1-5, or just words."""
    lowered = text.strip().lower()
    rating_match = _RATING.match(lowered)
    if rating_match:
        rating = int(rating_match.group(1))
        satisfied = True if rating >= 4 else False if rating <= 2 else None
        return Feedback(satisfied, rating, text.strip())
    if _NOT_SATISFIED.search(lowered):
        return Feedback(False, None, text.strip())
    if _SATISFIED.search(lowered):
        return Feedback(True, None, text.strip())
    return Feedback(None, None, text.strip())
