"""Open311 API keys: issued by a koordinator (`lapor-gateway open311-key create NAME`), shown
once, stored as their SHA-256; each key may file `OPEN311_POSTS_PER_HOUR` requests an hour,
counted from the requests it filed (in the database, so every instance counts the same)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlmodel import col

from gateway.clock import utcnow
from gateway.store.models import InboundMessage, Open311Key

if TYPE_CHECKING:
    from gateway.parts import Stored

CHANNEL = "open311"
PREFIX = "o311_"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    id: int
    name: str
    key: str  # shown once


def issue(gateway: Stored, name: str, *, actor: str) -> IssuedKey:
    name = " ".join(name.split())[:120]
    if not name:
        raise ValueError("a key needs the name of who holds it")
    key = PREFIX + secrets.token_urlsafe(32)
    with gateway.db.session() as session:
        row = Open311Key(name=name, key_hash=_hash(key), created_by=actor[:120])
        session.add(row)
        session.commit()
        assert row.id is not None
        return IssuedKey(row.id, row.name, key)


def revoke(gateway: Stored, key_id: int) -> bool:
    with gateway.db.session() as session:
        row = session.get(Open311Key, key_id)
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at = utcnow()
        session.add(row)
        session.commit()
        return True


def listing(gateway: Stored) -> list[Open311Key]:
    with gateway.db.read_session() as session:
        return list(session.scalars(select(Open311Key).order_by(col(Open311Key.id))).all())


def holder(gateway: Stored, key: str | None) -> Open311Key | None:
    """The active key's row, or None (unknown, revoked, or none given)."""
    if not key or len(key) > 200:
        return None
    digest = _hash(key)
    with gateway.db.read_session() as session:
        row = session.scalar(select(Open311Key).where(col(Open311Key.key_hash) == digest))
    # The look-up is by hash; comparing again in constant time costs nothing.
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, digest):
        return None
    return row


def used_last_hour(gateway: Stored, key_id: int, now: datetime | None = None) -> int:
    since = (now or utcnow()) - timedelta(hours=1)
    with gateway.db.read_session() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(InboundMessage)
                .where(col(InboundMessage.channel) == CHANNEL)
                .where(col(InboundMessage.sender).like(f"{sender_prefix(key_id)}%"))
                .where(col(InboundMessage.created_at) >= since)
            )
            or 0
        )


def sender_prefix(key_id: int) -> str:
    """Each request's sender is `open311:<key id>:<submission>`: one reporter per request (a
    civic app's users are different people), yet countable per key."""
    return f"{CHANNEL}:{key_id}:"


def touch(gateway: Stored, key_id: int) -> None:
    with gateway.db.session() as session:
        row = session.get(Open311Key, key_id)
        if row is not None:
            row.last_used_at = utcnow()
            session.add(row)
            session.commit()
