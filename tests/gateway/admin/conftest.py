"""Fixtures for the admin inbox: a small agency directory, one account per role, logged-in
clients, and helpers to read the CSRF token and the complaint version off a page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from gateway.admin import accounts as auth
from gateway.context import Gateway
from gateway.store.models import Agency, Liaison, Role

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with the smallest cost: the tests create many accounts; strength is not tested."""
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@dataclass(frozen=True)
class Directory:
    dpupr: int  # agency ids
    dlh: int
    dpupr_liaisons: tuple[str, ...]  # WhatsApp numbers
    dlh_liaisons: tuple[str, ...]


@pytest.fixture
def directory(gateway: Gateway) -> Directory:
    with gateway.db.session() as session:
        dpupr = Agency(code="DPUPR", name="Dinas Pekerjaan Umum", function_group="infrastruktur")
        dlh = Agency(code="DLH", name="Dinas Lingkungan Hidup", function_group="lingkungan")
        session.add_all([dpupr, dlh])
        session.flush()
        session.add_all(
            [
                Liaison(agency_id=dpupr.id, name="Budi", whatsapp="+6281100000101"),
                Liaison(agency_id=dpupr.id, name="Rina", whatsapp="+6281100000102"),
                Liaison(agency_id=dpupr.id, name="Lama", whatsapp="+6281100000109", active=False),
                Liaison(agency_id=dlh.id, name="Dwi", whatsapp="+6281100000401"),
            ]
        )
        session.commit()
        return Directory(
            dpupr.id,  # type: ignore[arg-type]
            dlh.id,  # type: ignore[arg-type]
            ("+6281100000101", "+6281100000102"),
            ("+6281100000401",),
        )


@dataclass(frozen=True)
class Accounts:
    koordinator: int
    liaison: int  # DPUPR
    other_liaison: int  # DLH
    viewer: int


@pytest.fixture
def accounts(gateway: Gateway, directory: Directory) -> Accounts:
    with gateway.db.session() as session:
        ids = [
            auth.create_user(session, name, PASSWORD, role=role, agency_id=agency).id
            for name, role, agency in (
                ("koor", Role.KOORDINATOR, None),
                ("pupr", Role.LIAISON, directory.dpupr),
                ("dlh", Role.LIAISON, directory.dlh),
                ("lihat", Role.VIEWER, None),
            )
        ]
        session.commit()
    return Accounts(*ids)  # type: ignore[arg-type]


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def version_of(html: str) -> str:
    match = VERSION.search(html)
    assert match, "no version on the page"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/admin/login").text)
    return client.post(
        "/admin/login",
        data={"csrf_token": token, "username": username, "password": password, "next": "/admin"},
        follow_redirects=False,
    )


class Admin:
    """A logged-in browser session: `post()` adds the CSRF token (and the version of the
    complaint page when asked)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def get(self, url: str, **kw: object):  # type: ignore[no-untyped-def]
        return self.client.get(url, **kw)  # type: ignore[arg-type]

    def post(self, url: str, data: dict | None = None, **kw: object):  # type: ignore[no-untyped-def]
        body = {"csrf_token": self._token_from_session(), **(data or {})}
        kw.setdefault("follow_redirects", False)
        return self.client.post(url, data=body, **kw)  # type: ignore[arg-type]

    def act(self, code: str, action: str, data: dict | None = None, **kw: object):  # type: ignore[no-untyped-def]
        page = self.client.get(f"/admin/complaints/{code}")
        assert page.status_code == 200, page.text[:500]
        body = {"version": version_of(page.text), **(data or {})}
        return self.post(f"/admin/complaints/{code}/{action}", body, **kw)

    def _token_from_session(self) -> str:
        # Any admin page carries the session's token in its logout form.
        return csrf_of(self.client.get("/admin", follow_redirects=True).text)


def _client(app) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(app, base_url="http://127.0.0.1:8000")


@pytest.fixture
def clients(app, accounts: Accounts) -> Iterator[dict[str, Admin]]:  # type: ignore[no-untyped-def]
    """One logged-in session per role, plus an anonymous one."""
    result: dict[str, Admin] = {}
    with (
        _client(app) as koor,
        _client(app) as pupr,
        _client(app) as dlh,
        _client(app) as viewer,
        _client(app) as anonymous,
    ):
        for name, client in (("koor", koor), ("pupr", pupr), ("dlh", dlh), ("lihat", viewer)):
            assert login(client, name).status_code == 303
            result[name] = Admin(client)
        result["anonymous"] = Admin(anonymous)
        yield result
