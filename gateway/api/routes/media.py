"""`GET /media/{token}`: an attachment behind a signed, expiring link (see media_links.py)."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, Response

from gateway.api.deps import GatewayDep
from gateway.store.files import AttachmentStore
from gateway.store.models import Attachment, AttachmentStatus

router = APIRouter(include_in_schema=False)


def stored_file_response(
    store: AttachmentStore, key: str, media_type: str, headers: Mapping[str, str]
) -> Response:
    """A stored attachment as the answer, from whichever backend holds it: a local file is sent
    as a file; an object-store object is read and sent (attachments are capped in size, so it
    fits in memory). Missing or a key that climbs out of the store: 404."""
    try:
        path = store.local_path(key)
        if path is not None:
            return FileResponse(path, media_type=media_type, headers=dict(headers))
        return Response(store.read(key), media_type=media_type, headers=dict(headers))
    except (ValueError, FileNotFoundError):
        pass
    raise HTTPException(status_code=404)


@router.get("/media/{token}")
def signed_attachment(token: str, gateway: GatewayDep) -> Response:
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
    return stored_file_response(
        gateway.files,
        attachment.storage_key,
        attachment.content_type or "application/octet-stream",
        {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
