"""Demo data for `make run`: the agency directory, two demo accounts, a few complaints.

The demo complaints go through the real intake path (stored, then processed), so the demo
shows what the gateway really does with a submission.

Each demo account gets its own random password. They are kept in a file under DATA_DIR named
after the database (`demo-logins-<name>-<hash>.txt`), because several databases may share one
DATA_DIR (SQLite for `make run`, a PostgreSQL for trying a deployment): a password printed for
one must never be another's. A password is only printed after it was checked against the
account's hash in this database; when it cannot be (the account was made elsewhere or its
password changed), `seed-demo --reset-passwords` gives the demo accounts new ones.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import URL
from sqlmodel import col

from channels import webform
from gateway.admin.accounts import create_user, set_password, verify_password
from gateway.admin.directory import load_directory, sync_directory
from gateway.context import Gateway
from gateway.intake import inbound as intake
from gateway.intake.web_form import submit
from gateway.store.models import Agency, Role, User

DEMO_ADMIN = "admin"
# A liaison officer account of the public works agency, to try the agency's side of the inbox.
DEMO_LIAISON = "penghubung.dpupr"
DEMO_LIAISON_AGENCY = "DPUPR"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: Role
    password: str | None  # None: not known for this database (see the module's docstring)


DEMO_COMPLAINTS = [
    {
        "description": "Jalan di Desa Sumbergirang, Kecamatan Lasem rusak parah dan berlubang "
        "sejak dua bulan, sudah ada pengendara motor yang jatuh. Mohon segera diperbaiki.",
        "location_text": "Jl. Sunan Bonang, Desa Sumbergirang, Lasem",
        "consent": True,
    },
    {
        "description": "Bagaimana cara mengurus akta kelahiran anak yang lahir di luar kota? "
        "Dokumen apa saja yang perlu disiapkan di Dukcapil?",
        "consent": True,
    },
    {
        "description": "Sampah di TPS dekat pasar Kragan tidak diangkut sudah seminggu, baunya "
        "sampai ke rumah warga.",
        "location_text": "Pasar Kragan",
        "anonim": True,
        "consent": True,
    },
]


def database_label(url: URL) -> str:
    """The database as a person reads it: the SQLite file made absolute, the password hidden."""
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        url = url.set(database=str(Path(url.database).resolve()))
    return url.render_as_string(hide_password=True)


def demo_login_file(gateway: Gateway) -> Path:
    """Where this database's demo passwords are kept: one file per database in DATA_DIR."""
    url = gateway.db.engine.url
    label = database_label(url)
    stem = Path(url.database or url.get_backend_name()).stem or url.get_backend_name()
    name = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in stem)[:40]
    digest = hashlib.sha256(label.encode()).hexdigest()[:10]
    return Path(gateway.settings.data_dir) / f"demo-logins-{name}-{digest}.txt"


def _read_logins(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    logins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            username, _, password = line.strip().partition(" ")
            logins[username] = password.strip()
    return logins


def _write_logins(path: Path, label: str, logins: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"# demo logins for {label} (username password)"]
    lines += [f"{username} {password}" for username, password in sorted(logins.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)


def _demo_accounts(liaison_agency_id: int | None) -> list[tuple[str, Role, str, int | None]]:
    accounts: list[tuple[str, Role, str, int | None]] = [
        (DEMO_ADMIN, Role.KOORDINATOR, "Admin Demo", None)
    ]
    if liaison_agency_id is not None:
        accounts.append(
            (DEMO_LIAISON, Role.LIAISON, "Pejabat Penghubung DPUPR (demo)", liaison_agency_id)
        )
    return accounts


def seed_accounts(gateway: Gateway, *, reset_passwords: bool = False) -> list[DemoLogin]:
    """The demo koordinator and liaison accounts, each with its own password, and what to print.

    A new account gets a new password. An existing one keeps its password; it is printed only
    when the one kept for this database still opens it (`reset_passwords`: new ones for both).
    """
    path = demo_login_file(gateway)
    kept = _read_logins(path)
    logins: list[DemoLogin] = []
    with gateway.db.session() as session:
        agency_id = session.scalar(
            select(col(Agency.id)).where(col(Agency.code) == DEMO_LIAISON_AGENCY)
        )
        for username, role, display_name, account_agency in _demo_accounts(agency_id):
            user = session.scalar(select(User).where(col(User.username) == username))
            password: str | None = kept.get(username)
            if user is None:
                password = secrets.token_urlsafe(12)
                create_user(
                    session,
                    username,
                    password,
                    role=role,
                    display_name=display_name,
                    agency_id=account_agency,
                )
            elif reset_passwords:
                password = secrets.token_urlsafe(12)
                set_password(user, password)
                session.add(user)
            elif password is None or not verify_password(user.password_hash, password):
                password = None
            if password is not None:
                kept[username] = password
            else:
                kept.pop(username, None)
            logins.append(DemoLogin(username, role, password))
        # The file is written before the accounts are committed: a crash in between leaves a
        # password nobody can use (seed again), never an account whose password was not kept.
        _write_logins(path, database_label(gateway.db.engine.url), kept)
        session.commit()
    return logins


def seed_demo(gateway: Gateway, *, reset_passwords: bool = False) -> dict[str, object]:
    """Idempotent: running it twice adds nothing the second time."""
    agencies = load_directory(gateway.settings.agency_directory_file)
    with gateway.db.session() as session:
        added_agencies, added_liaisons = sync_directory(session, agencies)
        session.commit()
    logins = seed_accounts(gateway, reset_passwords=reset_passwords)

    created = 0
    for index, data in enumerate(DEMO_COMPLAINTS):
        form, errors = webform.validate_form(data, limits=gateway.form_limits)
        assert form is not None, errors.fields
        accepted = submit(gateway, form, f"demo:{index}")
        if not accepted.duplicate:
            intake.process(gateway, accepted.inbound_id)
            created += 1
    return {
        "agencies": added_agencies,
        "liaisons": added_liaisons,
        "complaints": created,
        "logins": logins,
        "login_file": demo_login_file(gateway),
    }
