"""Demo data for `make run`: the agency directory, a demo admin, a few complaints.

The demo complaints go through the real intake path (stored, then processed), so the demo
shows what the gateway really does with a submission.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy import select

from channels import webform
from gateway import intake
from gateway.auth import create_user
from gateway.context import Gateway
from gateway.directory import load_directory, sync_directory
from gateway.models import Agency, Role, User
from gateway.submission import submit

DEMO_ADMIN = "admin"
# A liaison officer account of the public works agency, to try the agency's side of the inbox.
DEMO_LIAISON = "penghubung.dpupr"
DEMO_LIAISON_AGENCY = "DPUPR"

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


def demo_password_file(gateway: Gateway) -> Path:
    return Path(gateway.settings.data_dir) / "demo-admin-password.txt"


def seed_demo(gateway: Gateway) -> dict[str, object]:
    """Idempotent: running it twice adds nothing the second time."""
    agencies = load_directory(gateway.settings.agency_directory_file)
    with gateway.db.session() as session:
        added_agencies, added_liaisons = sync_directory(session, agencies)
        password_file = demo_password_file(gateway)
        has_admin = session.scalar(select(User.id).where(User.username == DEMO_ADMIN))
        if not has_admin:
            password = secrets.token_urlsafe(12)
            create_user(
                session, DEMO_ADMIN, password, role=Role.KOORDINATOR, display_name="Admin Demo"
            )
            password_file.parent.mkdir(parents=True, exist_ok=True)
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
        agency_id = session.scalar(select(Agency.id).where(Agency.code == DEMO_LIAISON_AGENCY))
        has_liaison = session.scalar(select(User.id).where(User.username == DEMO_LIAISON))
        if agency_id and not has_liaison and password_file.exists():
            create_user(
                session,
                DEMO_LIAISON,
                password_file.read_text().strip(),
                role=Role.LIAISON,
                display_name="Pejabat Penghubung DPUPR (demo)",
                agency_id=agency_id,
            )
        session.commit()

    created = 0
    for index, data in enumerate(DEMO_COMPLAINTS):
        form, errors = webform.validate_form(data, limits=gateway.form_limits)
        assert form is not None, errors.fields
        accepted = submit(gateway, form, f"demo:{index}")
        if not accepted.duplicate:
            intake.process(gateway, accepted.inbound_id)
            created += 1
    password = password_file.read_text().strip() if password_file.exists() else None
    return {
        "agencies": added_agencies,
        "liaisons": added_liaisons,
        "complaints": created,
        "admin": DEMO_ADMIN,
        "liaison": DEMO_LIAISON,
        "password": password,
    }
