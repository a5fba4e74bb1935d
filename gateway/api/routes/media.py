"""`GET /media/{token}`: an attachment behind a signed, expiring link (see media_links.py)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from gateway.api.deps import GatewayDep
from gateway.store.models import Attachment, AttachmentStatus

router = APIRouter(include_in_schema=False)


@router.get("/media/{token}")
def signed_attachment(token: str, gateway: GatewayDep) -> FileResponse:
    attachment_id = gateway.media_links.attachment_id(token)
    if attachment_id is None:
        raise HTTPException(status_code=404)
    with gateway.db.read_session() as session:
        attachment = session.get(Attachment, attachment_id)
    if (
        attachment is None
        or attachment.status != AttachmentStatus.STORED
        or not attachment.storage_key
    ):
        raise HTTPException(status_code=404)
    return FileResponse(
        gateway.files.path(attachment.storage_key),
        media_type=attachment.content_type or "application/octet-stream",
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
