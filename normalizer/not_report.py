"""Suggest that a message is not a report at all: spam, a promotion, chit-chat, a joke.

Gateways receive whatever people send to a public number: operator promotions, prize scams,
messages meant for a friend, "banjir air mata" jokes. Such a message gets a suggestion the inbox
offers as "arsipkan" (archive); the admin decides. Markers of each kind add up; every sign of a
real report (damage, danger, bad service, levies, a request for repair or information, an
agency's keyword) counts against the suggestion, because archiving a real complaint costs far
more than reading one promotion. The words are read literally (`normalizer.senses`): "jalan"
in "mau jalan-jalan" names no road. Rules are data (`config/normalizer/not_report.yaml`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from normalizer.classify import ClassSuggestion, _phrase_pattern
from normalizer.resources import DataFileError, data_file, read_yaml, require, strings
from normalizer.routing import AgencyDirectory
from normalizer.senses import SenseRules, figurative_phrases, literal_tokens
from normalizer.text import CleanText, clean_text

SPAM = "spam"
PROMOSI = "promosi"
OBROLAN = "obrolan"
CANDAAN = "candaan"


@dataclass(frozen=True, slots=True)
class Marker:
    weight: float
    phrases: re.Pattern[str] | None
    patterns: tuple[re.Pattern[str], ...]
    figurative: bool

    def found(self, folded: str, lowered: str, idioms: Sequence[str]) -> list[str]:
        """What made this marker match (empty when it does not)."""
        hits: list[str] = []
        if self.phrases is not None:
            hits += [m.group() for m in self.phrases.finditer(folded)]
        for pattern in self.patterns:
            match = pattern.search(lowered)
            if match:
                hits.append(match.group().strip())
        if self.figurative:
            hits += idioms
        return hits


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    label: str
    threshold: float
    reason: str
    markers: tuple[Marker, ...]
    max_evidence: float | None = None


@dataclass(frozen=True)
class NotReportRules:
    action: str
    evidence_rules: Mapping[str, float]
    agency_keyword_evidence: float
    kinds: tuple[Kind, ...]
    evidence_phrases: tuple[tuple[float, re.Pattern[str]], ...] = ()
    surely_a_report: float = float("inf")

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], source: str = "not-a-report rules"
    ) -> NotReportRules:
        data = dict(data)
        kinds = []
        for name, raw in require(data, "kinds", dict, source).items():
            markers = []
            for i, marker in enumerate(raw.get("markers") or []):
                where = f"kinds.{name}.markers[{i}]"
                phrases = strings(marker.get("phrases", []), f"{where}.phrases", source)
                patterns = strings(marker.get("patterns", []), f"{where}.patterns", source)
                if not (phrases or patterns or marker.get("figurative")):
                    raise DataFileError(f"{source}: {where} matches nothing")
                markers.append(
                    Marker(
                        weight=float(marker["weight"]),
                        phrases=_phrase_pattern(phrases) if phrases else None,
                        patterns=tuple(re.compile(p) for p in patterns),
                        figurative=bool(marker.get("figurative", False)),
                    )
                )
            kinds.append(
                Kind(
                    name=str(name),
                    label=str(raw["label"]),
                    threshold=float(raw["threshold"]),
                    reason=str(raw["reason"]),
                    markers=tuple(markers),
                    max_evidence=(
                        float(raw["max_evidence"]) if raw.get("max_evidence") is not None else None
                    ),
                )
            )
        evidence_phrases = []
        for i, entry in enumerate(data.get("evidence_phrases") or []):
            phrases = strings(entry.get("phrases", []), f"evidence_phrases[{i}]", source)
            if phrases:
                evidence_phrases.append((float(entry["weight"]), _phrase_pattern(phrases)))
        return cls(
            action=str(data.get("action", "arsipkan")),
            evidence_rules={
                str(k): float(v) for k, v in require(data, "evidence_rules", dict, source).items()
            },
            agency_keyword_evidence=float(data.get("agency_keyword_evidence", 2)),
            kinds=tuple(kinds),
            evidence_phrases=tuple(evidence_phrases),
            surely_a_report=float(data.get("surely_a_report", float("inf"))),
        )


def load_not_report_rules(path: Path | str | None = None) -> NotReportRules:
    path = Path(path) if path else data_file("not_report.yaml")
    return NotReportRules.from_mapping(read_yaml(path), str(path))


@lru_cache(maxsize=1)
def default_not_report_rules() -> NotReportRules:
    return load_not_report_rules()


@dataclass(frozen=True, slots=True)
class NotReportSuggestion:
    """ "Bukan laporan": which kind, how strong (0..1), why, and what the inbox offers."""

    kind: str
    label: str
    strength: float
    reason: str
    action: str


def not_a_report(
    text: str | CleanText,
    classes: Sequence[ClassSuggestion],
    directory: AgencyDirectory | None = None,
    *,
    rules: NotReportRules | None = None,
    senses: SenseRules | None = None,
) -> NotReportSuggestion | None:
    """The not-a-report suggestion for a message, or None when it may be a report.

    `classes` is `classify()`'s answer for the same text (its fired rules are the evidence of a
    report); `directory` adds the agencies' keywords as evidence."""
    rules = rules or default_not_report_rules()
    clean = text if isinstance(text, CleanText) else clean_text(text)
    tokens = literal_tokens(clean.tokens, senses)
    folded, lowered = " ".join(tokens), clean.original.lower()
    idioms = figurative_phrases(clean.tokens, senses)
    evidence = sum(
        rules.evidence_rules.get(rule, 0.0) for suggestion in classes for rule in suggestion.rules
    )
    evidence += sum(weight for weight, pattern in rules.evidence_phrases if pattern.search(folded))
    if evidence < rules.surely_a_report and directory is not None:
        evidence += rules.agency_keyword_evidence * bool(directory.keyword_matches(tokens))
    if evidence >= rules.surely_a_report:
        return None  # no need to look for markers (and long complaints stay fast)
    best: tuple[float, Kind, list[str]] | None = None
    for kind in rules.kinds:
        score, found = 0.0, []
        for marker in kind.markers:
            hits = marker.found(folded, lowered, idioms)
            if hits:
                score += marker.weight
                found += hits
        net = score - evidence
        if kind.max_evidence is not None and evidence > kind.max_evidence:
            continue
        if score >= kind.threshold and net > 0 and (best is None or net > best[0]):
            best = (net, kind, found)
    if best is None:
        return None
    net, kind, found = best
    quoted = ", ".join(f"“{word}”" for word in dict.fromkeys(found[:4]))
    return NotReportSuggestion(
        kind=kind.name,
        label=kind.label,
        strength=round(net / (net + kind.threshold), 2),
        reason=f"{kind.reason} ({quoted})",
        action=rules.action,
    )
