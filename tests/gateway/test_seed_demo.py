"""`lapor-gateway seed-demo`: the demo accounts and the passwords it prints.

Seen on a first run: DATA_DIR is shared by every DATABASE_URL, so the password printed for one
database could be another database's; and the koordinator and the liaison officer shared one
password. Each database keeps its own passwords, each account has its own, and a password is
only printed when it opens that account in that database.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from gateway import cli
from gateway.admin import accounts as auth
from gateway.dev.seed import DEMO_ADMIN, DEMO_LIAISON
from gateway.store.db import Database
from gateway.store.migrate import upgrade
from gateway.store.models import User

LOGIN = re.compile(r"^demo (admin|liaison) login[^:]*: (\S+) / (\S+)$", re.MULTILINE)


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def other_db(tmp_path: Path) -> str:
    """A second database beside the one under test (a developer's other DATABASE_URL)."""
    url = f"sqlite:///{tmp_path / 'other.db'}"
    db = Database(url)
    upgrade(db.engine)
    db.dispose()
    return url


def seed(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str,
    data_dir: Path,
    *extra: str,
) -> dict[str, str]:
    """Run `lapor-gateway seed-demo` as a person would and read the logins it printed."""
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("SCHEDULER_ENABLED", "false")
    assert cli.main(["seed-demo", *extra]) == 0
    out = capsys.readouterr().out
    return {username: password for _, username, password in LOGIN.findall(out)}


def opens(url: str, username: str, password: str) -> bool:
    db = Database(url)
    try:
        with db.read_session() as session:
            user = session.scalar(select(User).where(User.username == username))
            return user is not None and auth.verify_password(user.password_hash, password)
    finally:
        db.dispose()


def test_each_database_prints_its_own_passwords(
    db: Database,
    db_url: str,
    other_db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data_dir = tmp_path / "var"  # one DATA_DIR for both databases, as in a checkout
    first = seed(monkeypatch, capsys, db_url, data_dir)
    second = seed(monkeypatch, capsys, other_db, data_dir)
    again = seed(monkeypatch, capsys, db_url, data_dir)

    assert set(first) == set(second) == set(again) == {DEMO_ADMIN, DEMO_LIAISON}
    for username in (DEMO_ADMIN, DEMO_LIAISON):
        assert opens(db_url, username, again[username])
        assert opens(other_db, username, second[username])
        assert again[username] == first[username]  # seeding again changes nothing


def test_the_admin_and_the_liaison_have_their_own_passwords(
    db: Database,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    logins = seed(monkeypatch, capsys, db_url, tmp_path / "var")
    assert logins[DEMO_ADMIN] != logins[DEMO_LIAISON]
    assert not opens(db_url, DEMO_LIAISON, logins[DEMO_ADMIN])
    assert not opens(db_url, DEMO_ADMIN, logins[DEMO_LIAISON])


def test_a_password_that_no_longer_opens_the_account_is_not_printed(
    db: Database,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed(monkeypatch, capsys, db_url, tmp_path / "var")
    with db.session() as session:  # a koordinator changed the demo admin's password
        user = session.scalar(select(User).where(User.username == DEMO_ADMIN))
        assert user is not None
        auth.set_password(user, "changed by someone else")
        session.commit()

    monkeypatch.setenv("DATABASE_URL", db_url)
    assert cli.main(["seed-demo"]) == 0
    out = capsys.readouterr().out
    assert f"{DEMO_ADMIN} / " not in out
    assert "--reset-passwords" in out

    reset = seed(monkeypatch, capsys, db_url, tmp_path / "var", "--reset-passwords")
    assert set(reset) == {DEMO_ADMIN, DEMO_LIAISON}
    assert all(opens(db_url, username, password) for username, password in reset.items())
