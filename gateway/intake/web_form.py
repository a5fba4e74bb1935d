"""A validated web-form submission, stored durably: photos to disk, the message to intake."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

from channels import webform
from channels.base import Media
from gateway.clock import utcnow
from gateway.intake import inbound as intake

if TYPE_CHECKING:
    from gateway.parts import Filed


def store_photos(gateway: Filed, photos: Sequence[tuple[webform.Photo, str]]) -> tuple[Media, ...]:
    """Checked photos to disk (content-addressed) before the message that names them is stored."""
    stored = []
    for photo, content_type in photos:
        saved = gateway.files.put(photo.data, content_type)
        stored.append(
            Media(
                ref=saved.key,
                content_type=content_type,
                size=saved.size,
                filename=photo.filename[:255] or None,
            )
        )
    return tuple(stored)


def submit(gateway: Filed, form: webform.ComplaintForm, submission_id: str) -> intake.Accepted:
    stored = store_photos(gateway, form.photos)
    message = webform.to_inbound(
        form, submission_id=submission_id, received_at=utcnow(), stored_photos=tuple(stored)
    )
    fields = asdict(form)
    fields.pop("photos")
    fields["photos"] = [m.ref for m in stored]
    return intake.accept(
        gateway.db,
        message,
        raw_payload=json.dumps(fields, ensure_ascii=False),
        raw_content_type="application/json",
        assign_code=True,
    )
