"""SMS segment arithmetic: which encoding a text needs, how many segments it costs, how to split it.

An SMS carries 140 bytes: 160 GSM-7 septets or 70 UCS-2 code units. A longer message is sent as
a concatenated SMS whose parts each lose 6 bytes to the concatenation header, leaving 153 septets
or 67 code units. GSM 03.38 extension characters (``€ [ ] { } ~ ^ | \\`` and form feed) take two
septets (escape + character) that must stay in one segment; characters outside the BMP take two
UTF-16 code units that must stay in one segment too. A single character outside GSM 03.38 turns
the whole message into UCS-2.

`split_sms` cuts a reply into messages of at most N segments each, at sentence or word
boundaries, and never inside a tracking code such as ``LPR-7K3M9Q``. Pure functions, no I/O.
"""

from __future__ import annotations

from enum import StrEnum

from channels.text_split import split_text


class SmsEncoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


# GSM 03.38 basic character set, without the escape (0x1B) that introduces the extension table.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE_SEGMENT = {SmsEncoding.GSM7: 160, SmsEncoding.UCS2: 70}
CONCATENATED_SEGMENT = {SmsEncoding.GSM7: 153, SmsEncoding.UCS2: 67}


def sms_encoding(text: str) -> SmsEncoding:
    """GSM-7 when every character is in GSM 03.38 (basic or extension table), else UCS-2."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        return SmsEncoding.GSM7
    return SmsEncoding.UCS2


def _units(ch: str, encoding: SmsEncoding) -> int:
    if encoding is SmsEncoding.GSM7:
        return 2 if ch in GSM7_EXTENSION else 1
    return 2 if ord(ch) > 0xFFFF else 1  # a UTF-16 surrogate pair


def sms_units(text: str) -> int:
    """Septets (GSM-7) or UTF-16 code units (UCS-2) the text takes."""
    encoding = sms_encoding(text)
    return sum(_units(ch, encoding) for ch in text)


def count_segments(text: str) -> int:
    """Segments the text costs as one (possibly concatenated) SMS; 0 for an empty text."""
    if not text:
        return 0
    encoding = sms_encoding(text)
    if sms_units(text) <= SINGLE_SEGMENT[encoding]:
        return 1
    capacity = CONCATENATED_SEGMENT[encoding]
    segments, used = 1, 0
    for ch in text:
        units = _units(ch, encoding)
        if used + units > capacity:  # a two-unit character never straddles segments
            segments, used = segments + 1, 0
        used += units
    return segments


def split_sms(text: str, max_segments: int = 1) -> list[str]:
    """Cut `text` into messages that each cost at most `max_segments` segments.

    With the default of 1 every part is one plain SMS (160 GSM-7 / 70 UCS-2 when sent alone).
    Each part is measured in its own encoding: a part without emoji stays GSM-7 even when
    another part needs UCS-2. Boundaries and tracking codes: see `channels.text_split`.
    """
    if max_segments < 1:
        raise ValueError("max_segments must be at least 1")
    return split_text(text, lambda part: count_segments(part) <= max_segments)
