"""Real image bytes for upload tests, made with Pillow."""

from __future__ import annotations

import io

from PIL import Image


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


def same_picture(stored: bytes, sent: bytes) -> bool:
    """The stored file shows the picture that was sent: same format and size (intake may
    re-encode it to drop its metadata, so the bytes need not be equal)."""
    first, second = Image.open(io.BytesIO(stored)), Image.open(io.BytesIO(sent))
    return (first.format, first.size) == (second.format, second.size)
