"""Attachment files on disk, content-addressed: the same photo sent twice is stored once.

Files are written to a temporary name and renamed, so a crash never leaves half a photo under
its final name; the storage key is what the database keeps.

Photos reach the store only cleaned (`channels.images.clean_image`: decoded, metadata dropped,
shrunk), so the key and the sha256 are those of the stripped bytes. `put` checks it: an image
that still carries EXIF/XMP/ICC/comments is refused, so a new path that forgets to clean fails
loudly instead of storing someone's GPS position.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from channels.images import metadata_left
from channels.sniff import EXTENSIONS


class UncleanImage(ValueError):
    """An image was about to be stored without going through `channels.images.clean_image`."""


@dataclass(frozen=True)
class StoredFile:
    key: str
    sha256: str
    size: int
    content_type: str


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, data: bytes, content_type: str) -> StoredFile:
        if content_type.startswith("image/") and (left := metadata_left(data)):
            raise UncleanImage(f"refusing to store an image with metadata: {', '.join(left)}")
        digest = hashlib.sha256(data).hexdigest()
        key = f"{digest[:2]}/{digest}{EXTENSIONS.get(content_type, '.bin')}"
        path = self.root / key
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
            with open(tmp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        return StoredFile(key=key, sha256=digest, size=len(data), content_type=content_type)

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError("storage key escapes the store")
        return path

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()
