"""Rate limits on the public endpoints (the form, the JSON API, the status pages, the admin
login): 429 with Retry-After and a readable message, Indonesian by default; shared between
instances through the database when RATE_LIMIT_STORAGE=database; webhooks never limited."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from config.settings import Settings, SettingsError, load_settings
from gateway.api.ratelimit import DatabaseStorage, RateLimits
from gateway.app import create_app
from gateway.context import Gateway
from gateway.store.db import Database


def _client(settings: Settings, db: Database, **overrides: object) -> TestClient:
    changed = settings.model_copy(update=overrides)
    return TestClient(create_app(changed, Gateway.create(changed, db=db)))


def _api_body() -> dict[str, object]:
    return {"description": "Lampu jalan di Desa Sluke mati sejak seminggu.", "consent": True}


def test_the_json_api_answers_429_with_retry_after_in_indonesian(
    settings: Settings, db: Database
) -> None:
    with _client(settings, db, rate_limit_api="3/minute") as client:
        codes = [client.get("/api/v1/complaints/LPR-AAAAAA").status_code for _ in range(3)]
        assert 429 not in codes
        limited = client.get("/api/v1/complaints/LPR-AAAAAA")
        open311 = client.get("/open311/v2/services.json")  # the same budget: one API
    assert limited.status_code == 429 and open311.status_code == 429
    seconds = int(limited.headers["retry-after"])
    assert 1 <= seconds <= 60
    body = limited.json()
    assert body["message"] == (
        f"Terlalu banyak permintaan dari alamat Anda. Silakan coba lagi dalam {seconds} detik."
    )


def test_the_status_page_says_it_in_the_readers_language(settings: Settings, db: Database) -> None:
    with _client(settings, db, rate_limit_status="2/minute") as client:
        for _ in range(2):
            assert client.get("/status?lang=en").status_code == 200
        limited = client.get("/status?lang=en")
        indonesian = client.get("/status/LPR-AAAAAA?lang=id")
    assert limited.status_code == 429 and "retry-after" in limited.headers
    assert "text/html" in limited.headers["content-type"]
    assert "Too many requests from your address" in limited.text
    assert indonesian.status_code == 429
    assert "Terlalu banyak permintaan" in indonesian.text


def test_the_form_and_the_login_are_limited_but_their_pages_are_not(
    settings: Settings, db: Database
) -> None:
    with _client(settings, db, rate_limit_form="1/minute", rate_limit_login="2/minute") as client:
        assert client.post("/lapor", data={}).status_code != 429
        assert client.post("/lapor", data={}).status_code == 429
        for _ in range(3):
            assert client.get("/lapor").status_code == 200  # reading the form is free
        logins = [
            client.post("/admin/login", data={"username": "x", "password": "y"}).status_code
            for _ in range(3)
        ]
        assert logins[-1] == 429 and 429 not in logins[:2]
        assert client.get("/admin/login").status_code == 200


def test_webhooks_are_never_limited(settings: Settings, db: Database) -> None:
    """Providers sign and retry them: a limit would only delay citizens' messages."""
    with _client(settings, db, rate_limit_api="1/minute", rate_limit_form="1/minute") as client:
        codes = {client.post("/webhooks/telegram", content=b"{}").status_code for _ in range(5)}
    assert 429 not in codes


def test_each_address_has_its_own_count(settings: Settings, db: Database) -> None:
    limits = RateLimits(settings.model_copy(update={"rate_limit_status": "1/minute"}), _memory())
    assert limits.hit("status", "10.0.0.1") is None
    assert limits.hit("status", "10.0.0.1") is not None
    assert limits.hit("status", "10.0.0.2") is None


def _memory():  # type: ignore[no-untyped-def]
    from limits.storage import MemoryStorage

    return MemoryStorage()


def test_instances_share_the_count_through_the_database(
    settings: Settings, db: Database, db_url: str, tmp_path: Path
) -> None:
    shared = {"rate_limit_storage": "database", "rate_limit_status": "4/minute"}
    other_db = Database(db_url)
    try:
        with (
            _client(settings, db, **shared) as first,
            _client(settings, other_db, **shared) as second,
        ):
            codes = [(first if n % 2 == 0 else second).get("/status").status_code for n in range(6)]
    finally:
        other_db.dispose()
    # Alternating between two instances, the fifth request overall is the one refused.
    assert codes == [200, 200, 200, 200, 429, 429]


def test_the_database_storage_counts_windows_and_starts_again(db: Database) -> None:
    storage = DatabaseStorage(db)
    assert [storage.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.get("k") == 3 and storage.get_expiry("k") > 0
    assert storage.incr("short", 0) == 1  # a window already over ...
    assert storage.incr("short", 60) == 1  # ... starts again at one
    storage.clear("k")
    assert storage.get("k") == 0 and storage.check()
    assert storage.reset() is not None


@pytest.mark.parametrize("value", ["ten per minute", "10/fortnight"])
def test_a_bad_limit_is_a_settings_error(value: str) -> None:
    with pytest.raises(SettingsError, match="RATE_LIMIT_API"):
        load_settings(rate_limit_api=value, _env_file=None)


def test_an_unknown_storage_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="RATE_LIMIT_STORAGE"):
        load_settings(rate_limit_storage="memcached://x", _env_file=None)
