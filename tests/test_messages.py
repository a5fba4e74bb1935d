"""The message catalogs: every text the code asks for exists, in Indonesian and in English."""

from __future__ import annotations

import re
from pathlib import Path

from config.messages import catalog

ROOT = Path(__file__).resolve().parents[1]
USES = re.compile(r"""(?:\bt\([^,()]+,\s*|\.text\(\s*|\bt\(\s*)["']([a-z_]+(?:\.[a-z_]+)+)["']""")


def _keys_used() -> set[str]:
    found: set[str] = set()
    for folder in ("gateway", "channels", "config", "forwarder"):
        for path in (ROOT / folder).rglob("*.py"):
            found |= set(USES.findall(path.read_text(encoding="utf-8")))
        for path in (ROOT / folder).rglob("*.html"):
            found |= set(USES.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_key_the_code_uses_exists() -> None:
    used = _keys_used()
    assert len(used) > 50  # the scan finds the uses
    missing = sorted(key for key in used if key not in catalog("id"))
    assert not missing, f"keys missing from config/messages/id.yaml: {missing}"


def test_english_has_every_indonesian_text() -> None:
    missing = sorted(set(catalog("id")) - set(catalog("en")))
    assert not missing, f"keys missing from config/messages/en.yaml: {missing}"
    extra = sorted(set(catalog("en")) - set(catalog("id")))
    assert not extra, f"keys only in en.yaml: {extra}"
