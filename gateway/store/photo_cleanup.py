"""A one-off for photos stored before photos were cleaned on intake (`lapor-gateway
strip-photos`): each stored image that still carries metadata (or is larger than
IMAGE_MAX_SIDE) is cleaned like a new one (`channels.images.clean_image`), the attachment points
at the clean file, and the original file is deleted once nothing refers to it any more.

Safe to run twice (a clean photo is left alone) and while the gateway runs: the attachment row
moves to the new file in one commit, and an old file still named by a stored-but-unprocessed
message is kept.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PIL import Image
from sqlalchemy import select
from sqlmodel import col

from channels.images import ImageRejected, clean_image, metadata_left
from gateway.store.models import Attachment, AttachmentStatus, InboundMessage, InboundStatus

if TYPE_CHECKING:
    from gateway.parts import Filed

log = logging.getLogger(__name__)


@dataclass
class CleanupResult:
    checked: int = 0
    cleaned: int = 0
    failed: int = 0
    deleted_files: int = 0


def _needs_cleaning(data: bytes, max_side: int) -> bool:
    if metadata_left(data):
        return True
    with Image.open(io.BytesIO(data)) as image:
        return max(image.size) > max_side


def strip_stored_photos(gateway: Filed) -> CleanupResult:
    result = CleanupResult()
    max_side = gateway.settings.image_max_side
    with gateway.db.read_session() as session:
        ids = session.scalars(
            select(col(Attachment.id))
            .where(col(Attachment.status) == AttachmentStatus.STORED)
            .where(col(Attachment.content_type).like("image/%"))
            .order_by(Attachment.id)  # type: ignore[arg-type]
        ).all()
    old_keys: set[str] = set()
    for attachment_id in ids:
        result.checked += 1
        with gateway.db.session() as session:
            attachment = session.get(Attachment, attachment_id)
            if attachment is None or not attachment.storage_key:
                continue
            try:
                data = gateway.files.read(attachment.storage_key)
                if not _needs_cleaning(data, max_side):
                    continue
                clean = clean_image(data, max_side=max_side)
            except (OSError, ValueError, ImageRejected):
                # Leave it as it is, for a person to look at; never lose a photo.
                log.warning("stored photo not cleaned", extra={"attachment_id": attachment_id})
                result.failed += 1
                continue
            stored = gateway.files.put(clean.data, clean.content_type)
            old_keys.add(attachment.storage_key)
            attachment.storage_key = stored.key
            attachment.sha256 = stored.sha256
            attachment.size = stored.size
            attachment.content_type = stored.content_type
            session.add(attachment)
            session.commit()
            result.cleaned += 1
    result.deleted_files = _delete_unused(gateway, old_keys)
    return result


def _delete_unused(gateway: Filed, keys: set[str]) -> int:
    if not keys:
        return 0
    with gateway.db.read_session() as session:
        still_used = set(
            session.scalars(
                select(col(Attachment.storage_key)).where(col(Attachment.storage_key).in_(keys))
            ).all()
        )
        for media in session.scalars(
            select(col(InboundMessage.media)).where(
                col(InboundMessage.status) == InboundStatus.PENDING
            )
        ):
            still_used |= {m.get("ref") for m in media or [] if isinstance(m, dict)}
    deleted = 0
    for key in keys - still_used:
        deleted += gateway.files.delete(key)
    return deleted
