"""A validated web-form submission, stored durably: photos to disk, the message to intake."""

from __future__ import annotations

import json
from dataclasses import asdict

from channels import webform
from channels.base import Media
from gateway import intake
from gateway.clock import utcnow
from gateway.context import Gateway


def submit(gateway: Gateway, form: webform.ComplaintForm, submission_id: str) -> intake.Accepted:
    stored = []
    for photo, content_type in form.photos:
        saved = gateway.files.put(photo.data, content_type)
        stored.append(
            Media(
                ref=saved.key,
                content_type=content_type,
                size=saved.size,
                filename=photo.filename[:255] or None,
            )
        )
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
