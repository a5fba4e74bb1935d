"""The name and phone numbers on a shared contact card (vCard 2.1, 3.0 and 4.0).

Twilio hands a WhatsApp contact over as a file: `MessageType=contacts`, `NumMedia=1`,
`MediaContentType0=text/vcard` and `MediaUrl0` pointing at the card; the number is only inside
it. WhatsApp writes the number as `TEL;type=CELL;waid=6281234567001:+62 812-3456-7001` (`waid`:
the number's WhatsApp id). The channel keeps the card's URL in `extra[CONTACT_CARD_URL]` and
reads it with `resolve_contact` (I/O, so after the webhook is acknowledged); `read_vcard` is the
pure part: bytes in, name and numbers out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from channels.sanitize import CONTACT_CARD_URL, clean_text

__all__ = [
    "CONTACT_CARD_URL",
    "VCARD_MAX_BYTES",
    "VCARD_TYPES",
    "ContactCard",
    "is_vcard",
    "read_vcard",
]

VCARD_TYPES = frozenset({"text/vcard", "text/x-vcard", "text/directory"})
VCARD_MAX_BYTES = 64 * 1024  # a card with a photo in it is larger: its numbers come first

_FOLDED = re.compile(r"\r?\n[ \t]")  # RFC 6350 3.2: a line starting with a blank continues


@dataclass(frozen=True)
class ContactCard:
    name: str | None
    phones: tuple[str, ...]  # as written on the card, in order
    wa_ids: tuple[str, ...]  # the WhatsApp ids WhatsApp adds to its numbers


def is_vcard(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() in VCARD_TYPES


def read_vcard(data: bytes) -> ContactCard:
    """The first card's formatted name (FN) and telephone numbers (TEL, also `item1.TEL` and
    `TEL;VALUE=uri:tel:+62...`); anything unreadable is skipped, never raised."""
    text = _FOLDED.sub("", clean_text(data.decode("utf-8", "replace")))
    name: str | None = None
    phones: list[str] = []
    wa_ids: list[str] = []
    for line in text.splitlines():
        head, colon, value = line.partition(":")
        if not colon:
            continue
        prop, *params = head.split(";")
        prop = prop.rsplit(".", 1)[-1].strip().upper()
        value = value.strip()
        if prop == "END" and value.upper() == "VCARD" and (name or phones):
            break
        if prop == "FN" and name is None:
            name = value or None
        elif prop == "TEL":
            number = value[4:] if value.lower().startswith("tel:") else value
            if number:
                phones.append(number)
            for param in params:
                key, _, given = param.partition("=")
                if key.strip().lower() == "waid" and given.strip():
                    wa_ids.append(given.strip())
    return ContactCard(name, tuple(phones), tuple(wa_ids))
