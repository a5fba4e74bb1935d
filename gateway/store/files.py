"""Attachment files, content-addressed: the same photo sent twice is stored once. Two backends,
chosen by STORAGE_BACKEND: a local directory (`FileStore`, one machine) or any S3-compatible
object store (`S3FileStore`, shared by several instances, so a photo stored by one is served by
another). The storage key is what the database keeps; it is the same under both backends.

On disk, files are written to a temporary name and renamed, so a crash never leaves half a photo
under its final name; an object store writes an object whole or not at all.

Photos reach the store only cleaned (`channels.images.clean_image`: decoded, metadata dropped,
shrunk), so the key and the sha256 are those of the stripped bytes. `put` checks it: an image
that still carries EXIF/XMP/ICC/comments is refused, so a new path that forgets to clean fails
loudly instead of storing someone's GPS position.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from channels.images import metadata_left
from channels.sniff import EXTENSIONS

if TYPE_CHECKING:
    from config.settings import Settings


class UncleanImage(ValueError):
    """An image was about to be stored without going through `channels.images.clean_image`."""


@dataclass(frozen=True)
class StoredFile:
    key: str
    sha256: str
    size: int
    content_type: str


def _checked_key(data: bytes, content_type: str) -> tuple[str, str]:
    """The content-addressed key and sha256 of what is about to be stored (refusing images that
    still carry metadata)."""
    if content_type.startswith("image/") and (left := metadata_left(data)):
        raise UncleanImage(f"refusing to store an image with metadata: {', '.join(left)}")
    digest = hashlib.sha256(data).hexdigest()
    return f"{digest[:2]}/{digest}{EXTENSIONS.get(content_type, '.bin')}", digest


def _valid_key(key: str) -> str:
    # Keys are ours ("ab/<sha256>.jpg"); anything climbing out of the store is refused.
    if not key or key.startswith("/") or ".." in key.split("/"):
        raise ValueError("storage key escapes the store")
    return key


class FileStore:
    """Attachments in a local directory (STORAGE_BACKEND=local, the default)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def local_path(self, key: str) -> Path | None:
        """Where the file is on this machine (served as a file), or None if it is not here."""
        path = self.path(key)
        return path if path.is_file() else None

    def exists(self, key: str) -> bool:
        try:
            return self.path(key).is_file()
        except ValueError:
            return False

    def delete(self, key: str) -> bool:
        path = self.path(key)
        if path.is_file():
            path.unlink()
            return True
        return False

    def put(self, data: bytes, content_type: str) -> StoredFile:
        key, digest = _checked_key(data, content_type)
        path = self.root / key
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # A name of its own per write: two threads (or workers) storing the same photo at
            # once must not rename each other's temporary file away.
            tmp = path.with_suffix(path.suffix + f".{os.getpid()}.{uuid.uuid4().hex}.tmp")
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


class S3FileStore:
    """Attachments in an S3-compatible object store (STORAGE_BACKEND=s3), shared by every
    instance. boto3 does the talking; the endpoint may be AWS, MinIO, Ceph or a local test
    server. Objects are private: the gateway reads them and serves them itself, behind its own
    signed links and admin checks, so the bucket never needs public access."""

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        client: Any = None,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix
        self.client = client or boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            # Path-style addressing works with every S3-compatible server (MinIO, moto...).
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=30,
            ),
        )

    def __repr__(self) -> str:
        return f"<S3FileStore {self.bucket}/{self.prefix}>"

    def _object(self, key: str) -> str:
        return self.prefix + _valid_key(key)

    def local_path(self, key: str) -> Path | None:
        return None  # never on this machine: read it and serve the bytes

    def path(self, key: str) -> Path:
        raise ValueError("attachments are in an object store, not on this machine")

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._object(key))
        except ClientError as exc:
            if _missing(exc):
                return False
            raise
        return True

    def put(self, data: bytes, content_type: str) -> StoredFile:
        key, digest = _checked_key(data, content_type)
        if not self.exists(key):  # content-addressed: the same bytes are stored once
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._object(key),
                Body=data,
                ContentType=content_type,
                # S3 checks the upload against it: a truncated body is refused, never stored.
                ContentMD5=_md5_b64(data),
            )
        return StoredFile(key=key, sha256=digest, size=len(data), content_type=content_type)

    def read(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._object(key))
        except ClientError as exc:
            if _missing(exc):
                raise FileNotFoundError(key) from None
            raise
        return response["Body"].read()

    def delete(self, key: str) -> bool:
        if not self.exists(key):
            return False
        self.client.delete_object(Bucket=self.bucket, Key=self._object(key))
        return True

    def ensure_bucket(self) -> None:
        """Create the bucket if it is missing (development and tests; production buckets are
        made by whoever runs the store)."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if not _missing(exc):
                raise
            self.client.create_bucket(Bucket=self.bucket)


def _missing(exc: Exception) -> bool:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NoSuchBucket", "NotFound")


def _md5_b64(data: bytes) -> str:
    import base64

    # S3's integrity check, not a security use of MD5.
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


AttachmentStore = FileStore | S3FileStore


def build_store(settings: Settings) -> AttachmentStore:
    """The attachment store STORAGE_BACKEND names."""
    if settings.storage_backend == "s3":
        assert settings.s3_bucket  # the settings refuse s3 without a bucket
        secret = settings.s3_secret_access_key
        return S3FileStore(
            settings.s3_bucket,
            prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
        )
    return FileStore(Path(settings.upload_dir))
