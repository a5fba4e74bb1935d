"""Tracking codes: `LPR-` and six characters, the last one a check character.

The alphabet leaves out 0/O, 1/I/L so that a code read aloud over the phone or typed on a
keypad cannot be misread; 31 symbols, a prime, so the weighted check character catches every
single wrong character and every swap of two neighbours before we even ask the database.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
PREFIX = "LPR-"
BODY_LENGTH = 5
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_SHAPE = re.compile(r"^([" + ALPHABET + r"]{6})$")


def _check_char(body: str) -> str:
    total = sum((i + 1) * _VALUE[ch] for i, ch in enumerate(body))
    return ALPHABET[total % len(ALPHABET)]


def new_code() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return PREFIX + body + _check_char(body)


def normalize_code(text: str) -> str | None:
    """The canonical code for what a person typed (`lpr 7k3m9u`, `7K3-M9U`), or None."""
    cleaned = re.sub(r"[\s\-_.]", "", text.upper()).removeprefix("LPR")
    match = _SHAPE.match(cleaned)
    if not match:
        return None
    body, check = match.group(1)[:BODY_LENGTH], match.group(1)[BODY_LENGTH]
    if _check_char(body) != check:
        return None
    return PREFIX + body + check


def find_code(text: str) -> str | None:
    """The first valid tracking code inside a longer text (`CEK LPR-7K3M9U ya`)."""
    for candidate in re.findall(r"(?:LPR[\s\-]?)?[0-9A-Z]{3}[\s\-]?[0-9A-Z]{3}", text.upper()):
        code = normalize_code(candidate)
        if code:
            return code
    return None
