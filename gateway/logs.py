"""Structured logs: one JSON object per line, with personal data and secrets scrubbed.

Code logs ids, never message texts; the scrubber is the second line of defence for whatever a
library or an exception message lets through (phone numbers, e-mail addresses, tokens).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "color_message"}

_SCRUB = [
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "[email]"),
    (re.compile(r"(?<!\w)(?:\+?62|0)8\d{7,12}(?!\d)"), "[phone]"),
    (re.compile(r"\+\d{9,15}(?!\d)"), "[phone]"),
    (re.compile(r"(?<!\d)\d{16}(?!\d)"), "[16-digit]"),
    (re.compile(r"(?<!\d)\d{6,}:[A-Za-z0-9_-]{30,}"), "[telegram-token]"),
    (
        re.compile(r"(?i)(token|secret|password|authorization|api[_-]?key)(['\"]?\s*[:=]\s*)\S+"),
        r"\1\2[redacted]",
    ),
]


def scrub(text: str) -> str:
    for pattern, replacement in _SCRUB:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = scrub(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


class ScrubbingTextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


# The demo's own polls of its fake X and YouTube APIs (three requests every few seconds) would
# bury the requests a person makes in `make run`'s terminal; the pollers' health page says how
# they go.
OWN_POLLS = ("/_demo/x/api/", "/_demo/youtube/api/")


class OwnPollsFilter(logging.Filter):
    """Leaves out the access-log lines of the demo polling its own fake providers."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        path = str(args[2]) if len(args) > 2 else ""
        return not path.startswith(OWN_POLLS)


def configure(level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            ScrubbingTextFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs full request URLs, which for Telegram contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, OwnPollsFilter) for f in access.filters):
        access.addFilter(OwnPollsFilter())
