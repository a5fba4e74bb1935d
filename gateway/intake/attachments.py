"""Fetching attachments that arrived as provider references (WhatsApp media URLs, Telegram file
ids, photos in the core's answers). The complaint never waits for them: a failed download marks
the attachment failed, with the reason, for the admin and is retried later (up to
`MAX_ATTEMPTS`, or never when retrying cannot help); the complaint itself is kept. A koordinator
can ask for another try from the complaint page (`retry`).

Several workers share the pending downloads: each claims a batch with
`SELECT ... FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite has one writer anyway) and marks it
with its name and a lease (`claimed_by`, `claimed_until`, ATTACHMENT_CLAIM_SECONDS), so no
attachment is downloaded twice at once; a worker that dies mid-download leaves a claim that
simply expires, and another worker takes the row then."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update
from sqlmodel import col

from channels.base import Media, MediaError
from channels.images import ImageRejected, clean_image
from channels.media import fetch_media, media_policy
from channels.sniff import IMAGE_TYPES, sniff
from gateway.clock import utcnow
from gateway.store.models import Attachment, AttachmentStatus, InboundMessage

if TYPE_CHECKING:
    from gateway.parts import Fetching

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6


def _with_channel():
    """Attachments with the channel of the message that named them (None: not a channel's)."""
    return select(Attachment, col(InboundMessage.channel)).join(
        InboundMessage, col(InboundMessage.id) == col(Attachment.inbound_message_id), isouter=True
    )


def _claim(
    gateway: Fetching, limit: int, worker: str, attachment_id: int | None = None
) -> list[tuple[Attachment, str | None]]:
    """Take up to `limit` attachments to download (or the one named): pending or failed with
    tries left, not claimed by another worker whose lease still runs. Rows another worker is
    claiming right now are skipped, not waited for."""
    now = utcnow()
    lease = timedelta(seconds=gateway.settings.attachment_claim_seconds)
    statuses = (
        [AttachmentStatus.PENDING]
        if attachment_id is not None
        else [AttachmentStatus.PENDING, AttachmentStatus.FAILED]
    )
    query = (
        select(col(Attachment.id))
        .where(col(Attachment.status).in_(statuses))
        .where(col(Attachment.attempts) < MAX_ATTEMPTS)
        .where(or_(col(Attachment.claimed_until).is_(None), col(Attachment.claimed_until) < now))
        .order_by(col(Attachment.id))
        .limit(limit)
    )
    if attachment_id is not None:
        query = query.where(col(Attachment.id) == attachment_id)
    with gateway.db.session() as session:
        if gateway.db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        ids = list(session.scalars(query).all())
        if ids:
            session.execute(
                update(Attachment)
                .where(col(Attachment.id).in_(ids))
                .values(claimed_by=worker[:120], claimed_until=now + lease)
            )
        session.commit()
    if not ids:
        return []
    with gateway.db.read_session() as session:
        rows = session.execute(
            _with_channel().where(col(Attachment.id).in_(ids)).order_by(col(Attachment.id))
        ).all()
    return [(row[0], row[1]) for row in rows]


async def _download(
    gateway: Fetching, attachment: Attachment, channel_name: str | None
) -> tuple[bytes, str | None]:
    limit = gateway.settings.upload_max_bytes
    media = Media(
        url=attachment.original_url,
        ref=attachment.provider_ref,  # a Telegram file id; nothing is stored yet
        content_type=attachment.content_type,
        size=attachment.size,
    )
    if attachment.source == "core":
        if not attachment.original_url:
            raise MediaError("no URL to fetch", retryable=False)
        # Only from the core's own hosts, redirects only to them, the address checked when
        # connecting (no private or loopback address in production): a core answer names a
        # URL, and we must not fetch whatever it names (issue 13).
        return await fetch_media(
            attachment.original_url,
            policy=media_policy(gateway.settings, "core"),
            max_bytes=limit,
            allowed_types=gateway.settings.media_allowed_types,
            claimed_type=attachment.content_type,
            describe="core attachment",
            timeout=gateway.settings.media_download_timeout_seconds,
        )
    if channel_name is None:
        raise MediaError("attachment has no source to fetch it from", retryable=False)
    channel = gateway.channels.get(channel_name)
    if channel is None:
        raise MediaError(f"channel {channel_name} is not configured", retryable=True)
    return await channel.download(media, limit)


def safe_content(data: bytes, claimed: str | None, max_side: int) -> tuple[bytes, str]:
    """What is stored of a download, and its type: a photo (by its bytes, or claimed to be one)
    only cleaned — decoded, without metadata, shrunk; any other file as it came. A "photo" that
    does not decode fails for good (`MediaError`, not retryable), with the reason."""
    kind = sniff(data)
    if kind in IMAGE_TYPES or (kind is None and (claimed or "").startswith("image/")):
        try:
            clean = clean_image(data, max_side=max_side)
        except ImageRejected as rejected:
            raise MediaError(f"not a usable photo ({rejected})", retryable=False) from None
        return clean.data, clean.content_type
    return data, kind or claimed or "application/octet-stream"


def _record(
    gateway: Fetching,
    attachment_id: int,
    data: bytes | None,
    content_type: str | None,
    error: MediaError | None,
) -> None:
    with gateway.db.session() as session:
        attachment = session.get(Attachment, attachment_id)
        if attachment is None:
            return
        attachment.attempts += 1
        attachment.claimed_by = attachment.claimed_until = None
        if data is not None:
            kind = content_type or "application/octet-stream"  # from safe_content()
            stored = gateway.files.put(data, kind)
            attachment.storage_key = stored.key
            attachment.sha256 = stored.sha256
            attachment.size = stored.size
            attachment.content_type = kind
            attachment.status = AttachmentStatus.STORED
            attachment.error = None
        else:
            assert error is not None
            attachment.status = AttachmentStatus.FAILED
            attachment.error = str(error)[:2000]
            if not error.retryable:
                attachment.attempts = MAX_ATTEMPTS  # retrying cannot help
        session.add(attachment)
        session.commit()


async def _fetch(gateway: Fetching, attachment: Attachment, channel_name: str | None) -> bool:
    """One download attempt, recorded on the attachment; True when it is stored now."""
    try:
        data, content_type = await _download(gateway, attachment, channel_name)
        data, content_type = await asyncio.to_thread(
            safe_content, data, content_type, gateway.settings.image_max_side
        )
    except MediaError as exc:
        log.warning(
            "attachment download failed",
            extra={"attachment_id": attachment.id, "retryable": exc.retryable},
        )
        await asyncio.to_thread(_record, gateway, attachment.id, None, None, exc)  # type: ignore[arg-type]
        return False
    await asyncio.to_thread(_record, gateway, attachment.id, data, content_type, None)  # type: ignore[arg-type]
    return True


async def fetch_pending(gateway: Fetching, limit: int = 20, *, worker: str = "local") -> int:
    """Download what is pending and not claimed by another worker; returns how many were
    stored now."""
    stored = 0
    for attachment, channel_name in await asyncio.to_thread(_claim, gateway, limit, worker):
        stored += await _fetch(gateway, attachment, channel_name)
    return stored


def gives_up(attachment: Attachment) -> bool:
    """Failed, and the periodic download will not try again by itself."""
    return attachment.status == AttachmentStatus.FAILED and attachment.attempts >= MAX_ATTEMPTS


def retry(gateway: Fetching, attachment_id: int) -> bool:
    """An admin's "try again": a failed attachment gets a fresh set of attempts (the reason of
    the last failure stays shown until the next try). False if it is not failed."""
    with gateway.db.session() as session:
        attachment = session.get(Attachment, attachment_id, with_for_update=True)
        if attachment is None or attachment.status != AttachmentStatus.FAILED:
            return False
        attachment.status = AttachmentStatus.PENDING
        attachment.attempts = 0
        attachment.claimed_by = attachment.claimed_until = None
        session.add(attachment)
        session.commit()
    return True


async def fetch_one(gateway: Fetching, attachment_id: int, *, worker: str = "admin") -> bool:
    """Try one attachment now (after `retry`); True when it is stored. False too when a worker
    is downloading it at this moment (it will be stored by that worker)."""
    found = await asyncio.to_thread(_claim, gateway, 1, worker, attachment_id)
    return bool(found) and await _fetch(gateway, *found[0])
