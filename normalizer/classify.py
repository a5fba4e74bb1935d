"""Suggest a complaint's SP4N-LAPOR! class with a confidence and a reason an admin can read.

The four classes are `aspirasi`, `permintaan_informasi`, `pengaduan` and
`pengaduan_berkadar_pengawasan`. Every class starts from a prior score; each rule of
`config/normalizer/classes.yaml` that matches adds its weight to its class (once), and the
suggestions are the classes ranked by score, with confidence = share of the total. The reason
is built from the matched rules' Indonesian reasons and the words that matched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from normalizer.resources import DataFileError, data_file, read_yaml, require, strings
from normalizer.senses import SenseRules, literal_tokens
from normalizer.text import CleanText, clean_text

ASPIRASI = "aspirasi"
PERMINTAAN_INFORMASI = "permintaan_informasi"
PENGADUAN = "pengaduan"
PENGADUAN_BERKADAR_PENGAWASAN = "pengaduan_berkadar_pengawasan"
CLASSES = (ASPIRASI, PERMINTAAN_INFORMASI, PENGADUAN, PENGADUAN_BERKADAR_PENGAWASAN)


@dataclass(frozen=True, slots=True)
class ClassRule:
    id: str
    cls: str
    weight: float
    phrases: re.Pattern[str] | None
    patterns: tuple[re.Pattern[str], ...]
    reason: str

    def matches(self, folded: str, lowered: str) -> list[str]:
        """The words that made this rule match (empty when it does not)."""
        found: list[str] = []
        if self.phrases is not None:
            found += [m.group().strip() for m in self.phrases.finditer(folded)]
        for pattern in self.patterns:
            match = pattern.search(lowered)
            if match:
                found.append(match.group().strip())
        return found


@dataclass(frozen=True)
class ClassRules:
    labels: Mapping[str, str]
    prior: Mapping[str, float]
    default_reason: str
    reason_format: str
    rules: tuple[ClassRule, ...]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "class rules") -> ClassRules:
        data = dict(data)
        labels = require(data, "labels", dict, source)
        prior = require(data, "prior", dict, source)
        for name in CLASSES:
            if name not in labels or name not in prior:
                raise DataFileError(f"{source}: labels and prior need every class ({name})")
        rules = []
        for raw in require(data, "rules", list, source):
            if raw.get("class") not in CLASSES:
                raise DataFileError(f"{source}: rule {raw.get('id')} has an unknown class")
            phrases = strings(raw.get("phrases", []), f"{raw['id']}.phrases", source)
            patterns = strings(raw.get("patterns", []), f"{raw['id']}.patterns", source)
            rules.append(
                ClassRule(
                    id=str(raw["id"]),
                    cls=str(raw["class"]),
                    weight=float(raw["weight"]),
                    phrases=_phrase_pattern(phrases) if phrases else None,
                    patterns=tuple(re.compile(p) for p in patterns),
                    reason=str(raw["reason"]),
                )
            )
        return cls(
            labels={str(k): str(v) for k, v in labels.items()},
            prior={str(k): float(v) for k, v in prior.items()},
            default_reason=str(require(data, "default_reason", str, source)),
            reason_format=str(data.get("reason_format", "{reason} ({found})")),
            rules=tuple(rules),
        )


def load_class_rules(path: Path | str | None = None) -> ClassRules:
    path = Path(path) if path else data_file("classes.yaml")
    return ClassRules.from_mapping(read_yaml(path), str(path))


@lru_cache(maxsize=1)
def default_class_rules() -> ClassRules:
    return load_class_rules()


@dataclass(frozen=True, slots=True)
class ClassSuggestion:
    """One suggested class: its code, Indonesian label, confidence (0..1) and reason."""

    cls: str
    label: str
    confidence: float
    reason: str
    rules: tuple[str, ...]


def classify(
    text: str | CleanText, rules: ClassRules | None = None, senses: SenseRules | None = None
) -> tuple[ClassSuggestion, ...]:
    """All four classes, best first; the first one is the suggestion.

    Phrases are matched in the text read literally (`normalizer.senses`): "banjir air mata" is
    no flood, "maaf mengganggu" no nuisance."""
    rules = rules or default_class_rules()
    clean = text if isinstance(text, CleanText) else clean_text(text)
    folded = " ".join(literal_tokens(clean.tokens, senses))
    lowered = clean.text.lower()
    scores = dict(rules.prior)
    reasons: dict[str, list[str]] = {name: [] for name in CLASSES}
    fired: dict[str, list[str]] = {name: [] for name in CLASSES}
    for rule in rules.rules:
        found = rule.matches(folded, lowered)
        if not found:
            continue
        scores[rule.cls] += rule.weight
        quoted = ", ".join(f"“{word}”" for word in dict.fromkeys(found[:3]))
        reasons[rule.cls].append(rules.reason_format.format(reason=rule.reason, found=quoted))
        fired[rule.cls].append(rule.id)
    total = sum(scores.values())
    ranked = sorted(CLASSES, key=lambda name: (-scores[name], CLASSES.index(name)))
    return tuple(
        ClassSuggestion(
            cls=name,
            label=rules.labels[name],
            confidence=round(scores[name] / total, 3),
            reason="; ".join(reasons[name]) or (rules.default_reason if rank == 0 else ""),
            rules=tuple(fired[name]),
        )
        for rank, name in enumerate(ranked)
    )


def _phrase_pattern(phrases: list[str]) -> re.Pattern[str]:
    """Whole-word alternation over folded text; a trailing * allows any word ending."""
    parts = []
    for phrase in sorted(set(phrases), key=len, reverse=True):
        words = phrase.lower().split()
        body = r"\s+".join(re.escape(w.rstrip("*")) for w in words)
        parts.append(body + (r"\w*" if phrase.endswith("*") else ""))
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)")
