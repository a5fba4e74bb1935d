"""Logging in, sessions, CSRF and the lock-out, through the HTTP routes a browser uses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from config.settings import Settings
from gateway.admin import sessions as security
from gateway.app import create_app
from gateway.clock import utcnow
from gateway.context import Gateway
from gateway.store.models import Complaint, Status, User
from tests.gateway.admin.conftest import PASSWORD, Accounts, Admin, csrf_of, login
from tests.gateway.factories import make_complaint


def _user(gateway: Gateway, username: str) -> User:
    with gateway.db.read_session() as session:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None
        return user


def test_login_sets_a_scoped_httponly_cookie_and_opens_the_inbox(
    client: TestClient, accounts: Accounts
) -> None:
    response = login(client, "koor")
    assert response.status_code == 303 and response.headers["location"] == "/admin"
    cookie = response.headers["set-cookie"].lower()
    assert "lapor_admin=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "path=/admin" in cookie and "secure" not in cookie  # http://127.0.0.1 in tests
    assert client.get("/admin").status_code == 200


def test_cookies_are_secure_when_the_gateway_is_served_over_https(
    settings: Settings, gateway: Gateway, accounts: Accounts
) -> None:
    secure = settings.model_copy(update={"public_base_url": "https://lapor.example.go.id"})
    app = create_app(secure, Gateway.create(secure, db=gateway.db))
    with TestClient(app, base_url="https://127.0.0.1") as client:
        response = login(client, "koor")
    assert "secure" in response.headers["set-cookie"].lower()


def test_pages_ask_for_a_login_and_come_back_after_it(
    client: TestClient, accounts: Accounts
) -> None:
    complaint_url = "/admin/outbox"
    response = client.get(complaint_url, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/login?next={complaint_url}"
    page = client.get(response.headers["location"])
    response = client.post(
        "/admin/login",
        data={
            "csrf_token": csrf_of(page.text),
            "username": "KOOR ",
            "password": PASSWORD,
            "next": complaint_url,
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == complaint_url


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/admin", "/lapor"])
def test_login_never_redirects_outside_the_admin_pages(
    client: TestClient, accounts: Accounts, target: str
) -> None:
    page = client.get("/admin/login")
    response = client.post(
        "/admin/login",
        data={
            "csrf_token": csrf_of(page.text),
            "username": "koor",
            "password": PASSWORD,
            "next": target,
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/admin"


def test_wrong_password_unknown_user_and_inactive_account_get_the_same_answer(
    client: TestClient, gateway: Gateway, accounts: Accounts
) -> None:
    with gateway.db.session() as session:
        viewer = session.get(User, accounts.viewer)
        viewer.active = False  # type: ignore[union-attr]
        session.commit()
    answers = {
        login(client, "koor", "wrong password!").text.count("Nama pengguna atau kata sandi salah"),
        login(client, "nobody", PASSWORD).text.count("Nama pengguna atau kata sandi salah"),
        login(client, "lihat", PASSWORD).text.count("Nama pengguna atau kata sandi salah"),
    }
    assert answers == {1}
    assert client.get("/admin", follow_redirects=False).status_code == 303


def test_repeated_failures_lock_the_account_even_against_the_right_password(
    client: TestClient, gateway: Gateway, accounts: Accounts
) -> None:
    limit = gateway.settings.admin_login_max_failures
    statuses = [login(client, "koor", f"wrong-{i}").status_code for i in range(limit)]
    assert statuses == [401] * (limit - 1) + [429]
    locked = login(client, "koor", PASSWORD)
    assert locked.status_code == 429
    assert (
        "dikunci" in locked.text
        and f"{gateway.settings.admin_lockout_minutes} menit" in locked.text
    )
    assert client.get("/admin", follow_redirects=False).status_code == 303
    user = _user(gateway, "koor")
    assert user.locked_until is not None and user.locked_until > utcnow()


def test_the_lock_lifts_after_its_time_and_a_success_resets_the_count(
    client: TestClient, gateway: Gateway, accounts: Accounts
) -> None:
    for i in range(gateway.settings.admin_login_max_failures):
        login(client, "koor", f"wrong-{i}")
    with gateway.db.session() as session:
        user = session.get(User, accounts.koordinator)
        user.locked_until = utcnow() - timedelta(seconds=1)  # type: ignore[union-attr]
        session.commit()
    login(client, "koor", "wrong again")
    assert login(client, "koor").status_code == 303
    user = _user(gateway, "koor")
    assert user.failed_logins == 0 and user.locked_until is None and user.last_login_at


def test_a_koordinator_can_unlock_an_account(
    clients: dict[str, Admin], gateway: Gateway, accounts: Accounts
) -> None:
    with gateway.db.session() as session:
        user = session.get(User, accounts.liaison)
        user.locked_until = utcnow() + timedelta(minutes=10)  # type: ignore[union-attr]
        session.commit()
    assert "terkunci" in clients["koor"].get("/admin/users").text
    assert clients["koor"].post(f"/admin/users/{accounts.liaison}/unlock").status_code == 303
    assert _user(gateway, "pupr").locked_until is None


def test_logout_ends_the_session_and_a_copied_cookie_is_worthless(
    clients: dict[str, Admin], app
) -> None:  # type: ignore[no-untyped-def]
    koor = clients["koor"]
    stolen = koor.client.cookies.get("lapor_admin")
    assert koor.post("/admin/logout").headers["location"] == "/admin/login"
    assert koor.get("/admin", follow_redirects=False).status_code == 303
    with TestClient(app, base_url="http://127.0.0.1:8000") as thief:
        thief.cookies.set("lapor_admin", stolen, domain="127.0.0.1", path="/admin")
        assert thief.get("/admin", follow_redirects=False).status_code == 303


def test_a_new_password_ends_the_users_other_sessions(
    clients: dict[str, Admin], accounts: Accounts
) -> None:
    assert clients["pupr"].get("/admin").status_code == 200
    response = clients["koor"].post(
        f"/admin/users/{accounts.liaison}/password", {"password": "a brand new secret"}
    )
    assert response.status_code == 303
    assert clients["pupr"].get("/admin", follow_redirects=False).status_code == 303
    assert login(clients["pupr"].client, "pupr", "a brand new secret").status_code == 303


def test_an_idle_session_expires(
    clients: dict[str, Admin], gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    idle = gateway.settings.admin_session_idle_minutes
    later = utcnow() + timedelta(minutes=idle + 1)
    monkeypatch.setattr(security, "utcnow", lambda: later)
    response = clients["koor"].get("/admin", follow_redirects=False)
    assert response.status_code == 303 and "expired=1" in response.headers["location"]
    assert "Sesi Anda sudah berakhir" in clients["koor"].get(response.headers["location"]).text


def test_an_active_session_still_ends_after_its_maximum_age(
    clients: dict[str, Admin], gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = gateway.settings
    step = timedelta(minutes=s.admin_session_idle_minutes - 1)
    moment = utcnow()
    hops = int(timedelta(hours=s.admin_session_max_hours) / step) + 1
    statuses = []
    for _ in range(hops):
        moment += step
        monkeypatch.setattr(security, "utcnow", lambda m=moment: m)
        statuses.append(clients["koor"].get("/admin", follow_redirects=False).status_code)
    assert statuses[0] == 200 and statuses[-1] == 303  # busy all day, still asked again


# --- CSRF ----------------------------------------------------------------------------------------


def _post_routes(code: str, accounts: Accounts) -> list[str]:
    actions = ["verify", "anonymise", "dispose", "pend", "archive", "merge", "reply"]
    return [
        *(f"/admin/complaints/{code}/{a}" for a in actions),
        "/admin/entry",
        "/admin/users",
        f"/admin/users/{accounts.viewer}",
        f"/admin/users/{accounts.viewer}/password",
        f"/admin/users/{accounts.viewer}/unlock",
        "/admin/agencies",
        "/admin/agencies/1",
        "/admin/agencies/1/liaisons",
        "/admin/liaisons/1",
        "/admin/outbox/1/resend",
        "/admin/logout",
    ]


@pytest.mark.parametrize("token", ["missing", "forged", "another session's"])
def test_every_admin_form_refuses_a_missing_or_forged_csrf_token(
    clients: dict[str, Admin], gateway: Gateway, accounts: Accounts, token: str
) -> None:
    complaint = make_complaint(gateway.db, Status.RECEIVED)
    values = {
        "missing": None,
        "forged": "x" * 43,
        "another session's": csrf_of(clients["pupr"].get("/admin").text),
    }[token]
    koor = clients["koor"].client
    for url in _post_routes(complaint.tracking_code, accounts):
        data = {"title": "x", "reason": "x", "username": "baru", "password": "p" * 12}
        if values is not None:
            data["csrf_token"] = values
        response = koor.post(url, data=data, follow_redirects=False)
        assert response.status_code == 403, url
        assert "Formulir kedaluwarsa atau tidak sah" in response.text
    with gateway.db.read_session() as session:
        row = session.get(Complaint, complaint.id)
        assert row is not None and row.status == Status.RECEIVED and row.version == 1
        assert session.scalar(select(User).where(User.username == "baru")) is None
    assert koor.get("/admin").status_code == 200  # not logged out either


def test_the_login_form_needs_its_csrf_token_too(client: TestClient, accounts: Accounts) -> None:
    response = client.post(
        "/admin/login", data={"username": "koor", "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/admin/complaints/LPR-7K3M9Q", "/admin/complaints/LPR-7K3M9Q"),
        ("/admin?status=received&page=2", "/admin?status=received&page=2"),
        ("/admin", "/admin"),
        ("//evil.example", "/admin"),
        ("/admin//evil.example", "/admin"),
        ("https://evil.example/admin", "/admin"),
        ("/adminx", "/admin"),
        ("/admin\\evil", "/admin"),
        (None, "/admin"),
    ],
)
def test_safe_next(value: str | None, expected: str) -> None:
    assert security.safe_next(value) == expected
