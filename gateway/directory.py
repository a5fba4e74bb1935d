"""The agency directory: agencies (OPD) and their liaison officers, seeded from YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlmodel import Session

from channels.webform import normalize_phone
from gateway.models import Agency, Liaison


class DirectoryError(ValueError):
    pass


def load_directory(path: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    agencies = data.get("agencies")
    if not isinstance(agencies, list):
        raise DirectoryError(f"{path}: expected a list under 'agencies'")
    for index, entry in enumerate(agencies):
        if not isinstance(entry, dict) or not entry.get("code") or not entry.get("name"):
            raise DirectoryError(f"{path}: agency #{index + 1} needs a code and a name")
    return agencies


def sync_directory(session: Session, agencies: list[dict[str, Any]]) -> tuple[int, int]:
    """Insert agencies and liaisons that are missing; never overwrite what admins edited."""
    added_agencies = added_liaisons = 0
    for entry in agencies:
        agency = session.scalar(select(Agency).where(Agency.code == entry["code"]))
        if agency is None:
            agency = Agency(
                code=entry["code"],
                name=entry["name"],
                function_group=entry.get("function_group", ""),
                keywords=[str(k).lower() for k in entry.get("keywords", [])],
            )
            session.add(agency)
            session.flush()
            added_agencies += 1
        known = set(
            session.scalars(select(Liaison.whatsapp).where(Liaison.agency_id == agency.id)).all()
        )
        for person in entry.get("liaisons", []):
            number = normalize_phone(str(person.get("whatsapp", "")))
            if number is None:
                raise DirectoryError(f"{entry['code']}: invalid WhatsApp number for {person}")
            if number in known:
                continue
            session.add(Liaison(agency_id=agency.id, name=person.get("name", ""), whatsapp=number))  # type: ignore[arg-type]
            known.add(number)
            added_liaisons += 1
    return added_agencies, added_liaisons
