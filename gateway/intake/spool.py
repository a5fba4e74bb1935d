"""The webhook spool: where a verified provider request waits while the database is away.

A provider that gets a 5xx retries for a while and then drops the message (Twilio does not
retry an inbound SMS at all). When the database is unreachable, the webhook route writes the
verified request here instead — one JSON line appended and fsync'ed, so a crash right after the
200 loses nothing — and acknowledges it. `drain()` (the scheduler's inbound resume job, before
`intake.resume`; every instance for its own disk) feeds each line through the ordinary intake
once the database is back; intake is idempotent on the provider's ids, so a line drained twice
(a crash mid-drain) is stored once. The spool is bounded (WEBHOOK_SPOOL_MAX_BYTES): when it is
full the route answers 503 with Retry-After and the provider retries, as before. Courier does
the same.

The web form and the JSON API do not spool: the person is there and is told to try again
(503 with Retry-After).
"""

from __future__ import annotations

import base64
import fcntl
import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from channels.base import RawRequest
from gateway.clock import utcnow
from gateway.intake import inbound as intake
from gateway.intake.webhooks import UnknownChannel, receive
from gateway.store.db import UNAVAILABLE_ERRORS

if TYPE_CHECKING:
    from gateway.parts import Configured, Intake

log = logging.getLogger(__name__)

FILE_NAME = "webhooks.jsonl"
_LOCK = threading.Lock()


class SpoolFull(Exception):
    """No room left: answer 503 and let the provider retry."""


def _path(gateway: Configured) -> Path:
    return Path(gateway.settings.webhook_spool_dir or gateway.settings.data_dir / "spool")


@contextmanager
def _locked(path: Path) -> Iterator[int]:
    """This process's threads and other processes on the same disk, one at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _LOCK:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def append(gateway: Intake, channel: str, raw: RawRequest) -> None:
    """Keep one verified request durably (append + fsync); `SpoolFull` when over the bound."""
    record = {
        "channel": channel,
        "body": base64.b64encode(raw.body).decode("ascii"),
        "headers": {k: v for k, v in raw.headers.items() if k in ("content-type",)},
        "url": raw.url,
        "subpath": raw.subpath,
        "query": dict(raw.query),
        "spooled_at": utcnow().isoformat(),
    }
    line = (json.dumps(record, ensure_ascii=True) + "\n").encode("ascii")
    path = _path(gateway)
    with _locked(path) as fd:
        if os.fstat(fd).st_size + len(line) > gateway.settings.webhook_spool_max_bytes:
            raise SpoolFull(str(path))
        os.write(fd, line)
        os.fsync(fd)


def pending(gateway: Configured) -> int:
    """How many requests wait in the spool (for /healthz and the health page)."""
    path = _path(gateway)
    if not path.exists():
        return 0
    with _locked(path) as fd, os.fdopen(os.dup(fd), "rb") as handle:
        handle.seek(0)
        return sum(1 for line in handle if line.strip())


def drain(gateway: Intake) -> int:
    """Feed every spooled request through intake; returns how many were taken. Stops at the
    first database error (still away): the rest stays for the next round."""
    path = _path(gateway)
    if not path.exists() or path.stat().st_size == 0:
        return 0
    taken = 0
    with _locked(path) as fd, os.fdopen(os.dup(fd), "rb") as handle:
        handle.seek(0)
        lines = [line for line in handle.read().splitlines() if line.strip()]
        done = 0
        new_ids: list[int] = []
        for line in lines:
            try:
                record = json.loads(line)
                raw = RawRequest(
                    body=base64.b64decode(record["body"]),
                    headers=record.get("headers", {}),
                    url=record.get("url", ""),
                    query=record.get("query", {}),
                    subpath=record.get("subpath", ""),
                )
                received = receive(gateway, record["channel"], raw, verified=True)
                new_ids.extend(received.new_ids)
            except UNAVAILABLE_ERRORS:
                break  # still away: keep this line and the rest
            except (ValueError, KeyError, TypeError, UnknownChannel):
                log.error("spooled webhook unreadable, dropped")  # our own line, corrupted
            done += 1
            taken += 1
        rest = b"".join(line + b"\n" for line in lines[done:])
        os.ftruncate(fd, 0)
        if rest:
            os.write(fd, rest)
        os.fsync(fd)
    for inbound_id in new_ids:
        intake.process(gateway, inbound_id)
    if taken:
        log.info("webhook spool drained", extra={"count": taken})
    return taken
