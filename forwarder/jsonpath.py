"""Reading and writing a core's JSON by the dotted paths of a mapping file ("location.text"),
and the two value shapes every core message has: a timestamp and a list of attachments.

Shared by the REST client's reports, events and incoming reports, so all three read a core's
JSON the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from forwarder.base import CoreAttachment


def get_path(data: Any, path: str) -> Any:
    """`data["a"]["b"]` for "a.b"; None when any step is missing (or the path is empty)."""
    if not path:
        return None
    current = data
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        data = data.setdefault(part, {})
    data[parts[-1]] = value


def parse_time(value: Any, naive_timezone: str, what: str = "time") -> datetime:
    """A core's timestamp: ISO 8601 (with or without an offset; "2024-05-02 08:30:00" too) or
    unix seconds. One without an offset is in `naive_timezone`. ValueError when unreadable."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} is missing")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{what} is not ISO 8601: {value[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(naive_timezone))
    return moment


def parse_attachments(value: Any, fields: Mapping[str, str]) -> tuple[CoreAttachment, ...]:
    """Attachments at the mapped paths (`url`, `filename`, `content_type`); an item without a
    URL is skipped, a missing name or type filled in from the URL or as octet-stream."""
    if not isinstance(value, list):
        return ()
    found = []
    for raw in value:
        url = get_path(raw, fields["url"]) if isinstance(raw, Mapping) else None
        if not url:
            continue
        filename = get_path(raw, fields["filename"]) or str(url).rsplit("/")[-1]
        content_type = get_path(raw, fields["content_type"]) or "application/octet-stream"
        found.append(CoreAttachment(str(url), str(filename), str(content_type)))
    return tuple(found)
