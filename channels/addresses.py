"""Phone numbers as the channels hand them on: E.164, whatever shape the provider sent."""

from __future__ import annotations

import phonenumbers


def to_e164(number: str, default_region: str = "ID") -> str | None:
    """`+6281234567890` for `081234567890`, `6281234567890` or `+62 812-3456-7890`.

    Telegram sends contact numbers without the plus; a number that starts with the country code
    is tried as international first. None when it is not a plausible phone number.
    """
    candidate = number.strip()
    if not candidate:
        return None
    attempts = [candidate]
    if not candidate.startswith(("+", "0")):
        attempts.insert(0, "+" + candidate)
    for attempt in attempts:
        try:
            parsed = phonenumbers.parse(attempt, default_region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return None
