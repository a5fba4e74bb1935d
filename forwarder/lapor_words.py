"""The words SP4N-LAPOR! uses for a report's class, the channel it came through and its flags,
turned into ours. One table for every backend: the REST client (a core's JSON, extended by the
mapping file's `category_values`/`channel_values`) and the manual paste (a LAPOR! page's text).

Keys are folded like status words (`forwarder.status_map.normalize_status`): case, spaces,
underscores and hyphens do not matter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from forwarder.status_map import normalize_status

# Our classes (the canonical complaint's `category`).
CATEGORIES = frozenset(
    {"aspirasi", "permintaan_informasi", "pengaduan", "pengaduan_berkadar_pengawasan"}
)

# LAPOR!'s "klasifikasi" words -> our class.
CATEGORY_WORDS: Mapping[str, str] = {
    "aspirasi": "aspirasi",
    "permintaan informasi": "permintaan_informasi",
    "informasi": "permintaan_informasi",
    "pengaduan": "pengaduan",
    "pengaduan tidak berkadar pengawasan": "pengaduan",
    "pengaduan berkadar pengawasan": "pengaduan_berkadar_pengawasan",
    "berkadar pengawasan": "pengaduan_berkadar_pengawasan",
    "complaint": "pengaduan",
    "aspiration": "aspirasi",
    "information request": "permintaan_informasi",
}

# How LAPOR! names the way a report reached it -> web | app | sms1708 (base.LAPOR_CHANNELS).
CHANNEL_WORDS: Mapping[str, str] = {
    "web": "web",
    "website": "web",
    "situs": "web",
    "situs web": "web",
    "lapor go id": "web",
    "app": "app",
    "aplikasi": "app",
    "mobile": "app",
    "android": "app",
    "ios": "app",
    "sms": "sms1708",
    "sms1708": "sms1708",
    "sms 1708": "sms1708",
    "1708": "sms1708",
}

_TRUE = frozenset({"1", "true", "ya", "yes", "y", "iya", "anonim", "rahasia"})


def category_of(word: Any, extra: Mapping[str, str] | None = None) -> str | None:
    """Our class for LAPOR!'s word (or our own word), None when unknown or missing."""
    if word is None or not str(word).strip():
        return None
    key = normalize_status(str(word))
    table = {**CATEGORY_WORDS, **{normalize_status(k): v for k, v in (extra or {}).items()}}
    if key in table:
        return table[key]
    snake = key.replace(" ", "_")
    return snake if snake in CATEGORIES else None


def channel_of(word: Any, extra: Mapping[str, str] | None = None) -> str | None:
    """web | app | sms1708 for LAPOR!'s word; an unknown word as it came (lower case)."""
    if word is None or not str(word).strip():
        return None
    key = normalize_status(str(word))
    table = {**CHANNEL_WORDS, **{normalize_status(k): v for k, v in (extra or {}).items()}}
    return table.get(key, key.replace(" ", "_")[:50])


def flag_of(value: Any) -> bool:
    """A yes/no flag as cores send it: true, 1, "1", "ya", "Y" ... (anything else is no)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    return str(value or "").strip().casefold() in _TRUE
