"""Import dates: common export formats are read, anything else is None (never "today")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from normalizer.dates import parse_date

WIB = timezone(timedelta(hours=7))

DATES = [
    ("twitter created_at", "Wed Aug 06 10:00:00 +0000 2025", datetime(2025, 8, 6, 10, tzinfo=UTC)),
    ("iso date", "2025-08-06", datetime(2025, 8, 6, tzinfo=WIB)),
    ("iso with zone", "2025-08-06T10:00:00+07:00", datetime(2025, 8, 6, 3, tzinfo=UTC)),
    ("iso Z", "2025-08-06T10:00:00Z", datetime(2025, 8, 6, 10, tzinfo=UTC)),
    ("day first slash", "06/08/2025", datetime(2025, 8, 6, tzinfo=WIB)),
    ("day first with time", "6-8-2025 14:30", datetime(2025, 8, 6, 14, 30, tzinfo=WIB)),
    ("dotted", "06.08.2025 14.30", datetime(2025, 8, 6, 14, 30, tzinfo=WIB)),
    ("indonesian month", "6 Agustus 2025", datetime(2025, 8, 6, tzinfo=WIB)),
    ("weekday and pukul", "Rabu, 6 Agu 2025 pukul 10.00 WIB", datetime(2025, 8, 6, 10, tzinfo=WIB)),
    ("english month", "Aug 6, 2025", datetime(2025, 8, 6, tzinfo=WIB)),
    ("epoch seconds", "1754474400", datetime(2025, 8, 6, 10, tzinfo=UTC)),
    ("epoch millis", "1754474400000", datetime(2025, 8, 6, 10, tzinfo=UTC)),
]


@pytest.mark.parametrize(("label", "text", "expected"), DATES, ids=[d[0] for d in DATES])
def test_dates_read(label: str, text: str, expected: datetime) -> None:
    assert parse_date(text, WIB) == expected


@pytest.mark.parametrize("text", ["", None, "kemarin", "31/02/2025", "2025-13-01", "06/08"])
def test_unreadable_dates_are_none(text: str | None) -> None:
    assert parse_date(text, WIB) is None
