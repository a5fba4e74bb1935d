"""Attachments in the storage backend STORAGE_BACKEND names: the local directory, or an
S3-compatible object store (a real S3 endpoint on 127.0.0.1: moto's server mode). A photo
stored by one instance is served by another."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from config.settings import Settings, SettingsError, load_settings
from gateway.app import create_app
from gateway.context import Gateway
from gateway.store.db import Database
from gateway.store.files import FileStore, S3FileStore, UncleanImage, build_store
from gateway.store.models import Attachment
from tests.images import image_bytes, phone_photo, same_picture


def _settings(db_url: str, data_dir: Path, **overrides: object) -> Settings:
    return load_settings(
        app_env="test",
        database_url=db_url,
        data_dir=data_dir,
        scheduler_enabled=False,
        secret_key="test-secret-key-not-for-production",
        _env_file=None,
        **overrides,
    )


def test_local_is_the_default(settings: Settings) -> None:
    assert isinstance(build_store(settings), FileStore)


def test_s3_needs_a_bucket() -> None:
    with pytest.raises(SettingsError, match="S3_BUCKET"):
        load_settings(storage_backend="s3", _env_file=None)


def test_the_object_store_keeps_bytes_by_their_content(
    tmp_path: Path, s3_settings: dict[str, object]
) -> None:
    settings = load_settings(_env_file=None, data_dir=tmp_path, **s3_settings)
    store = build_store(settings)
    assert isinstance(store, S3FileStore)
    photo = image_bytes("JPEG")
    first = store.put(photo, "image/jpeg")
    again = store.put(photo, "image/jpeg")
    assert first == again and first.key.endswith(".jpg") and first.size == len(photo)
    assert store.exists(first.key) and store.read(first.key) == photo
    assert store.local_path(first.key) is None  # nothing on this machine
    assert not list(tmp_path.rglob("*.jpg"))
    # Under the configured prefix in the bucket.
    listed = store.client.list_objects_v2(Bucket=settings.s3_bucket)["Contents"]
    assert [o["Key"] for o in listed] == [f"attachments/{first.key}"]
    with pytest.raises(FileNotFoundError):
        store.read("ab/" + "0" * 64 + ".jpg")
    with pytest.raises(ValueError):
        store.read("../../etc/passwd")
    assert store.delete(first.key) and not store.exists(first.key)
    assert not store.delete(first.key)


def test_the_object_store_refuses_photos_with_metadata(s3_settings: dict[str, object]) -> None:
    store = build_store(load_settings(_env_file=None, **s3_settings))
    with pytest.raises(UncleanImage):
        store.put(phone_photo("JPEG"), "image/jpeg")


def test_a_photo_filed_on_one_instance_is_served_by_another(
    db: Database, db_url: str, tmp_path: Path, s3_settings: dict[str, object]
) -> None:
    """Two instances with nothing on disk in common: the form on the first, the signed photo
    link and the status page on the second."""
    first = create_app(_settings(db_url, tmp_path / "one", **s3_settings))
    second_settings = _settings(db_url, tmp_path / "two", **s3_settings)
    second_gateway = Gateway.create(second_settings, db=Database(db_url))
    second = create_app(second_settings, second_gateway)
    photo = image_bytes("JPEG", (40, 30))
    with TestClient(first, base_url="http://127.0.0.1:8000") as one:
        page = one.get("/lapor")
        token = re.search(r'name="submission_id" value="([0-9a-f]{32})"', page.text)
        assert token
        response = one.post(
            "/lapor",
            data={
                "submission_id": token.group(1),
                "description": "Saluran air di depan Pasar Lasem tersumbat sampah sejak kemarin.",
                "consent": "1",
            },
            files=[("photos", ("saluran.jpg", photo, "image/jpeg"))],
            follow_redirects=False,
        )
        assert response.status_code == 303
    with db.read_session() as session:
        attachment = session.scalar(select(Attachment))
    assert attachment is not None and attachment.storage_key
    assert not list((tmp_path / "one").rglob("*.jpg"))  # in the bucket, not on disk
    link = second_gateway.media_links.url(attachment.id or 0)
    with TestClient(second, base_url="http://127.0.0.1:8000") as two:
        served = two.get("/media/" + link.rsplit("/media/", 1)[1])
    second_gateway.db.dispose()
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert same_picture(served.content, photo)


def test_the_same_photo_stored_by_two_threads_at_once(tmp_path: Path) -> None:
    """Two downloads of the same picture finishing together (two workers' threads) used to
    share one temporary name: one rename then failed with FileNotFoundError."""
    from concurrent.futures import ThreadPoolExecutor

    store = FileStore(tmp_path)
    photo = image_bytes("JPEG", (50, 40))
    with ThreadPoolExecutor(8) as pool:
        stored = list(pool.map(lambda _: store.put(photo, "image/jpeg"), range(64)))
    assert {s.key for s in stored} == {stored[0].key}
    assert store.read(stored[0].key) == photo
    assert [p.name for p in tmp_path.rglob("*.tmp")] == []
