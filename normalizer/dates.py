"""Dates in the formats complaint exports use, for imports (never silently "today").

`parse_date(text, tz)` returns an aware datetime or None (the caller reports the row). It reads
ISO 8601 (`2025-08-06`, `2025-08-06T10:00:00+07:00`), day-first numeric dates (`06/08/2025`,
`6-8-2025 10:00`, `06.08.2025 10.00`: Indonesian order), Indonesian and English month names
(`6 Agustus 2025`, `6 Agu 2025 pukul 10.00`, `Aug 6, 2025`), Twitter's `created_at`
(`Wed Aug 06 10:00:00 +0000 2025`) and Unix timestamps (10 or 13 digits). A date without a
zone is in `tz` (the deployment's TIMEZONE).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from normalizer.text import fold

_MONTHS = {
    "jan": 1, "januari": 1, "january": 1,
    "feb": 2, "februari": 2, "pebruari": 2, "february": 2,
    "mar": 3, "maret": 3, "march": 3,
    "apr": 4, "april": 4,
    "mei": 5, "may": 5,
    "jun": 6, "juni": 6, "june": 6,
    "jul": 7, "juli": 7, "july": 7,
    "agu": 8, "agt": 8, "ags": 8, "agus": 8, "agustus": 8, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9,
    "okt": 10, "oktober": 10, "oct": 10, "october": 10,
    "nov": 11, "nopember": 11, "november": 11,
    "des": 12, "desember": 12, "dec": 12, "december": 12,
}  # fmt: skip
_TWITTER = re.compile(
    r"^[A-Za-z]{3} ([A-Za-z]{3}) (\d{1,2}) (\d{2}):(\d{2}):(\d{2}) ([+-]\d{4}) (\d{4})$"
)
_NUMERIC = re.compile(
    r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})"
    r"(?:[ T,]+(?:pukul |jam )?(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?)?$"
)
_NAMED = re.compile(
    r"^(?:[a-z]+,? )?(\d{1,2}) ([a-z]+)\.? (\d{4})"
    r"(?:,? (?:pukul |jam )?(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?)?(?: ?(wib|wita|wit))?$"
)
_NAMED_US = re.compile(r"^([a-z]+)\.? (\d{1,2}),? (\d{4})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_ZONES = {"wib": 7, "wita": 8, "wit": 9}


def parse_date(text: str | None, tz: tzinfo = UTC) -> datetime | None:
    """The moment `text` names, or None when it is empty or not a date we can read."""
    if text is None:
        return None
    raw = " ".join(str(text).split())
    if not raw:
        return None
    found = _twitter(raw) or _iso(raw, tz) or _epoch(raw)
    if found is not None:
        return found
    lowered = raw.lower().replace(" pukul ", " ").replace(" jam ", " ")
    return _numeric(lowered, tz) or _named(lowered, tz)


def _twitter(raw: str) -> datetime | None:
    match = _TWITTER.match(raw)
    if not match:
        return None
    month = _MONTHS.get(match.group(1).lower())
    if month is None:
        return None
    offset = int(match.group(6))
    zone = timezone(
        timedelta(hours=offset // 100, minutes=offset % 100 * (1 if offset >= 0 else -1))
    )
    return _make(int(match.group(7)), month, int(match.group(2)), match.group(3), match.group(4),
                 match.group(5), zone)  # fmt: skip


def _iso(raw: str, tz: tzinfo) -> datetime | None:
    if not re.match(r"^\d{4}-\d{2}-\d{2}", raw):
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=tz)


def _epoch(raw: str) -> datetime | None:
    if not re.fullmatch(r"\d{10}(?:\d{3})?", raw):
        return None
    seconds = int(raw) / (1000 if len(raw) == 13 else 1)
    return datetime.fromtimestamp(seconds, UTC)


def _numeric(lowered: str, tz: tzinfo) -> datetime | None:
    match = _NUMERIC.match(lowered)
    if not match:
        return None
    day, month, year = int(match.group(1)), int(match.group(2)), int(match.group(3))
    year += 2000 if year < 100 else 0
    return _make(year, month, day, match.group(4), match.group(5), match.group(6), tz)


def _named(lowered: str, tz: tzinfo) -> datetime | None:
    match = _NAMED.match(fold(lowered) if not re.search(r"\d[:.]\d", lowered) else lowered)
    if match:
        month = _MONTHS.get(match.group(2))
        zone = timezone(timedelta(hours=_ZONES[match.group(7)])) if match.group(7) else tz
        if month:
            return _make(int(match.group(3)), month, int(match.group(1)), match.group(4),
                         match.group(5), match.group(6), zone)  # fmt: skip
    match = _NAMED_US.match(lowered)
    if match and _MONTHS.get(match.group(1)):
        return _make(int(match.group(3)), _MONTHS[match.group(1)], int(match.group(2)),
                     match.group(4), match.group(5), match.group(6), tz)  # fmt: skip
    return None


def _make(
    year: int,
    month: int,
    day: int,
    hour: str | None,
    minute: str | None,
    second: str | None,
    zone: tzinfo,
) -> datetime | None:
    try:
        return datetime(year, month, day, int(hour or 0), int(minute or 0), int(second or 0),
                        tzinfo=zone)  # fmt: skip
    except ValueError:
        return None
