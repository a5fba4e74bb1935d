"""Reading a request body with a cap, before any of it is trusted (issue 13).

`await request.body()` reads whatever a client sends into memory; a webhook or a push is
signed, so the signature can only be checked once the whole body is in. The cap comes first:
a declared `Content-Length` over it is refused at once, and a chunked body is read only up to
one byte past it. Provider requests are a few kilobytes; WEBHOOK_MAX_BYTES (1 MiB) leaves room.
"""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import FormData, UploadFile

from channels import webform


class BodyTooLarge(Exception):
    """The body is over the cap (answer 413, nothing stored)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"request body over {max_bytes} bytes")
        self.max_bytes = max_bytes


async def read_capped(request: Request, max_bytes: int) -> bytes:
    """The request's body, or `BodyTooLarge` as soon as it is known to be over `max_bytes`."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(max_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge(max_bytes)
        chunks.append(chunk)
    body = b"".join(chunks)
    # Starlette caches the body for later readers (request.json(), form()); keep that working.
    request._body = body
    return body


def form_photos(form: FormData, field: str, limits: webform.Limits) -> list[webform.Photo]:
    """The files a form sent in `field`, for `webform.validate_photos` to check. Called in a web
    thread, so the spooled upload files are read directly. One file past the allowed count and
    one byte past the size limit are read: enough to say "too many" or "too large", never more."""
    uploads = [u for u in form.getlist(field) if isinstance(u, UploadFile) and u.filename]
    photos = []
    for upload in uploads[: limits.max_files + 1]:
        upload.file.seek(0)
        data = upload.file.read(limits.max_bytes + 1)
        photos.append(webform.Photo(filename=(upload.filename or "")[:255], data=data))
    return photos
