"""What a file really is, from its first bytes: a file name or a declared type is not trusted."""

from __future__ import annotations

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic", "image/gif")
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "image/gif": ".gif",
    "application/pdf": ".pdf",
    "video/mp4": ".mp4",
    "audio/ogg": ".ogg",
}


def sniff(data: bytes) -> str | None:
    """The content type the bytes carry, or None when we do not recognise them."""
    head = data[:32]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heim"):
        return "image/heic"
    if head[4:8] == b"ftyp" and head[8:12] in (b"isom", b"mp41", b"mp42", b"avc1", b"M4V "):
        return "video/mp4"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    return None


def sniff_image(data: bytes) -> str | None:
    kind = sniff(data)
    return kind if kind in IMAGE_TYPES else None
