"""Issue 13 §10: guesses are throttled by client address as well as by account. Guesses
spread over many usernames from one address are slowed (429, the password not even checked),
while the same accounts stay usable from another address."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from config.settings import Settings, load_settings
from gateway.context import Gateway
from tests.gateway.admin.conftest import PASSWORD, Accounts, csrf_of


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    # Few guesses, so that the general rate limit of POST /admin/login (RATE_LIMIT_LOGIN) is
    # not what answers here: this test is about the address throttle.
    return load_settings(
        app_env="test",
        database_url=db_url,
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        secret_key="test-secret-key-not-for-production",
        admin_login_address_max_failures=3,
        _env_file=None,
    )


def _login_from(client: TestClient, address: str, username: str, password: str):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/admin/login").text)
    return client.post(
        "/admin/login",
        data={"csrf_token": token, "username": username, "password": password, "next": "/admin"},
        headers={"x-test-client": address},
        follow_redirects=False,
    )


def test_guesses_over_many_usernames_from_one_address_are_throttled(
    client: TestClient, gateway: Gateway, accounts: Accounts, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    # The test client has one address; the header stands in for the socket's peer address.
    from gateway.admin import sessions

    monkeypatch.setattr(
        sessions, "client_address", lambda request: request.headers.get("x-test-client", "?")
    )
    limit = gateway.settings.admin_login_address_max_failures
    for n in range(limit):
        answer = _login_from(client, "203.0.113.9", f"nobody{n}", "wrong")
        assert answer.status_code == 401
    # The next guess from that address is refused before any password is checked, even the
    # right one for a real account.
    throttled = _login_from(client, "203.0.113.9", "koor", PASSWORD)
    assert throttled.status_code == 429
    assert "menit" in throttled.text
    # From elsewhere the account works: the spray locked out the sprayer, not the koordinator.
    assert _login_from(client, "198.51.100.7", "koor", PASSWORD).status_code == 303


def test_the_address_throttle_is_shared_by_instances_on_one_database(
    settings: Settings, db_url: str, gateway: Gateway, accounts: Accounts, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Two gateway instances behind one proxy, on one database: the guesses an address made
    at one count at the other, so spreading them over instances gains nothing."""
    from gateway.admin import sessions
    from gateway.app import create_app
    from gateway.store.db import Database

    monkeypatch.setattr(
        sessions, "client_address", lambda request: request.headers.get("x-test-client", "?")
    )
    one = create_app(settings, Gateway.create(settings, db=Database(db_url)))
    two = create_app(settings, Gateway.create(settings, db=Database(db_url)))
    limit = settings.admin_login_address_max_failures
    with TestClient(one) as first, TestClient(two) as second:
        for n in range(limit):
            client = first if n % 2 == 0 else second
            assert _login_from(client, "203.0.113.9", f"nobody{n}", "wrong").status_code == 401
        for client in (first, second):
            assert _login_from(client, "203.0.113.9", "koor", PASSWORD).status_code == 429
            assert _login_from(client, "198.51.100.7", "koor", PASSWORD).status_code == 303
