"""Real image bytes for upload tests, made with Pillow."""

from __future__ import annotations

import io

from PIL import Image


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()
