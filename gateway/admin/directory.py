"""The agency directory: agencies (OPD) and their liaison officers, seeded from YAML."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlmodel import Session, col

from channels.webform import normalize_phone
from gateway.store.models import Agency, Liaison


class DirectoryError(ValueError):
    """A directory entry that cannot be used; `key` names the message (admin.errors.<key>)."""

    def __init__(self, message: str, key: str = "invalid") -> None:
        self.key = key
        super().__init__(message)


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
            session.scalars(
                select(col(Liaison.whatsapp)).where(col(Liaison.agency_id) == agency.id)
            ).all()
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


# --- editing in the admin UI --------------------------------------------------------------------

AGENCY_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,39}$")


def parse_keywords(text: str) -> list[str]:
    """Keywords as an admin types them: separated by commas or new lines, lower case, once."""
    seen: dict[str, None] = {}
    for part in re.split(r"[,\n]", text):
        word = " ".join(part.split()).lower()[:60]
        if word:
            seen.setdefault(word, None)
    return list(seen)[:200]


def save_agency(
    session: Session,
    agency: Agency | None,
    *,
    code: str,
    name: str,
    function_group: str,
    keywords: list[str],
    active: bool = True,
) -> Agency:
    """Create an agency (agency None) or change one."""
    code = code.strip().upper()
    if not AGENCY_CODE.match(code):
        raise DirectoryError(f"invalid agency code {code!r}", "agency_code_invalid")
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise DirectoryError("an agency needs a name", "agency_name_required")
    other = session.scalar(select(col(Agency.id)).where(col(Agency.code) == code))
    if other is not None and (agency is None or other != agency.id):
        raise DirectoryError(f"agency code {code!r} is taken", "agency_code_taken")
    agency = agency or Agency(code=code, name=name)
    agency.code = code
    agency.name = name
    agency.function_group = " ".join(function_group.split()).lower()[:60]
    agency.keywords = keywords
    agency.active = active
    session.add(agency)
    session.flush()
    return agency


def save_liaison(
    session: Session,
    liaison: Liaison | None,
    *,
    agency_id: int,
    name: str,
    whatsapp: str,
    active: bool = True,
) -> Liaison:
    """Add a liaison officer to an agency (liaison None) or change one."""
    name = " ".join(name.split())
    if not name or len(name) > 120:
        raise DirectoryError("a liaison officer needs a name", "liaison_name_required")
    number = normalize_phone(whatsapp)
    if number is None:
        raise DirectoryError("invalid WhatsApp number", "whatsapp_invalid")
    liaison = liaison or Liaison(agency_id=agency_id, name=name, whatsapp=number)
    liaison.name = name
    liaison.whatsapp = number
    liaison.active = active
    session.add(liaison)
    session.flush()
    return liaison
