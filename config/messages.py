"""Message catalogs: every text a citizen or an admin reads, per language, kept as data.

The catalogs are YAML files beside this module (`messages/id.yaml`, `messages/en.yaml`, and one
pair per area that keeps its texts apart, `messages/<area>.id.yaml`), nested keys flattened
with dots. `t(lang, key, **values)` formats one; a key missing in English falls
back to Indonesian, and a key missing everywhere shows itself, so a gap is visible, not a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml

MESSAGES_DIR = Path(__file__).resolve().parent / "messages"
LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"


def _flatten(prefix: str, node: Any, out: dict[str, str]) -> None:
    if isinstance(node, Mapping):
        for key, value in node.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), value, out)
    else:
        out[prefix] = str(node)


@cache
def catalog(lang: str) -> Mapping[str, str]:
    flat: dict[str, str] = {}
    paths = [MESSAGES_DIR / f"{lang}.yaml", *sorted(MESSAGES_DIR.glob(f"*.{lang}.yaml"))]
    for path in paths:
        if path.exists():
            _flatten("", yaml.safe_load(path.read_text(encoding="utf-8")) or {}, flat)
    return flat


def language(value: str | None) -> str:
    """The supported language closest to what was asked (`en-US` -> `en`)."""
    if value:
        short = value.strip().lower()[:2]
        if short in LANGUAGES:
            return short
    return DEFAULT_LANGUAGE


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def t(lang: str | None, key: str, /, **values: Any) -> str:
    lang = language(lang)
    text = catalog(lang).get(key) or catalog(DEFAULT_LANGUAGE).get(key)
    if text is None:
        return key
    return text.format_map(_Missing(values)) if values else text


def has(lang: str, key: str) -> bool:
    return key in catalog(language(lang))


def long_date(lang: str | None, day: date) -> str:
    """A date as people write it, weekday and month in the reader's language: "Jumat,
    4 Desember 2026" / "Friday, 4 December 2026" (never the C locale's English names)."""
    return t(
        lang,
        "date.long",
        weekday=t(lang, f"date.weekdays.{day.isoweekday()}"),
        day=day.day,
        month=t(lang, f"date.months.m{day.month}"),
        year=day.year,
    )
