"""The agency router as it was before issue 14 (TF-IDF nearest centroid with a similarity
cut-off), kept verbatim as the baseline of `bench/quality_real.py`. Not used by the gateway.

Its rules are the ones it shipped with (embedded below), so the live `routing.yaml` can change.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from normalizer.resources import (
    DEFAULT_AGENCY_FILE,
    DataFileError,
    read_yaml,
    require,
    strings,
)
from normalizer.text import CleanText, Lexicon, clean_text, default_lexicon, fold

MODEL_FORMAT = "lapor-agency-router/1"  # the old format


@dataclass(frozen=True, slots=True)
class Agency:
    """One OPD as routing sees it: code, name, function group and routing keywords."""

    code: str
    name: str
    function_group: str
    keywords: tuple[str, ...]


@dataclass(frozen=True, eq=False)  # identity equality: hashable, usable as a cache key
class AgencyDirectory:
    """The agencies with their keywords compiled for matching."""

    agencies: tuple[Agency, ...]
    # Keywords made only of these are ignored ("lapor"); None means the lexicon's stop words.
    stopwords: frozenset[str] | None = None
    _by_first: Mapping[str, tuple[tuple[tuple[str, ...], str, str], ...]] = field(
        init=False, repr=False
    )
    _vocabulary: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.stopwords is None:
            object.__setattr__(self, "stopwords", default_lexicon().stopwords)
        stopwords: frozenset[str] = self.stopwords  # type: ignore[assignment]
        by_first: dict[str, list[tuple[tuple[str, ...], str, str]]] = defaultdict(list)
        vocabulary: set[str] = set()
        for agency in self.agencies:
            for keyword in agency.keywords:
                if stopwords.issuperset(fold(keyword).split()):
                    continue  # "lapor": every complaint says it, it routes nothing
                variants = {fold(keyword), fold(keyword).replace(" ", "")}
                for variant in variants:
                    words = tuple(variant.split())
                    if words:
                        by_first[words[0]].append((words, agency.code, keyword))
                        vocabulary.update(words)
        object.__setattr__(self, "_by_first", {k: tuple(v) for k, v in by_first.items()})
        object.__setattr__(self, "_vocabulary", tuple(sorted(vocabulary)))

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], source: str = "agency directory"
    ) -> AgencyDirectory:
        agencies = []
        for raw in require(dict(data), "agencies", list, source):
            if not isinstance(raw, dict) or "code" not in raw or "name" not in raw:
                raise DataFileError(f"{source}: every agency needs a code and a name")
            agencies.append(
                Agency(
                    code=str(raw["code"]),
                    name=str(raw["name"]),
                    function_group=str(raw.get("function_group", "")),
                    keywords=tuple(
                        strings(raw.get("keywords", []), f"{raw['code']}.keywords", source)
                    ),
                )
            )
        return cls(tuple(agencies))

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(agency.code for agency in self.agencies)

    def agency(self, code: str) -> Agency | None:
        return next((a for a in self.agencies if a.code == code), None)

    def keyword_matches(
        self, tokens: Sequence[str], rules: RoutingRules | None = None
    ) -> dict[str, list[str]]:
        """Keywords found in the tokens, per agency code (longest keyword wins an overlap)."""
        rules = rules or default_routing_rules()
        words = [self._known_word(t, rules) for t in tokens]
        found: list[tuple[int, int, str, str]] = []
        for i, word in enumerate(words):
            for keyword_words, code, keyword in self._by_first.get(word, ()):
                end = i + len(keyword_words)
                if tuple(words[i:end]) == keyword_words:
                    found.append((i, end, code, keyword))
        taken: set[int] = set()
        accepted: set[tuple[int, int]] = set()
        per_agency: dict[str, list[str]] = defaultdict(list)
        # Longest first; the same words being a keyword of two agencies count for both.
        for start, end, code, keyword in sorted(found, key=lambda f: (f[0] - f[1], f[0])):
            if (start, end) not in accepted and taken.intersection(range(start, end)):
                continue
            accepted.add((start, end))
            taken.update(range(start, end))
            if keyword not in per_agency[code]:
                per_agency[code].append(keyword)
        return dict(per_agency)

    def _known_word(self, token: str, rules: RoutingRules) -> str:
        if token in self._by_first or len(token) < rules.keyword_fuzzy_min_length:
            return token
        for suffix in ("nya", "ku", "mu"):  # "jalannya" -> "jalan"
            if token.endswith(suffix) and token[: -len(suffix)] in self._by_first:
                return token[: -len(suffix)]
        return _closest_keyword_word(self, token, rules.keyword_fuzzy_cutoff) or token


@lru_cache(maxsize=65536)
def _closest_keyword_word(directory: AgencyDirectory, token: str, cutoff: float) -> str | None:
    found = process.extractOne(token, directory._vocabulary, scorer=fuzz.ratio, score_cutoff=cutoff)
    return found[0] if found else None


def load_agency_directory(path: Path | str | None = None) -> AgencyDirectory:
    """Read the agency directory (default `config/agencies.yaml`)."""
    path = Path(path) if path else DEFAULT_AGENCY_FILE
    return AgencyDirectory.from_mapping(read_yaml(path), str(path))


@dataclass(frozen=True, slots=True)
class ClassHint:
    function_group: str
    weight: float
    reason: str


@dataclass(frozen=True)
class RoutingRules:
    keyword_fuzzy_cutoff: float
    keyword_fuzzy_min_length: int
    learned_weight_max: float
    learned_weight_half: float
    learned_min_similarity: float
    softmax_temperature: float
    max_features_per_agency: int
    min_score: float
    reason_keywords: str
    reason_learned: str
    reason_separator: str
    class_hints: Mapping[str, ClassHint] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "routing rules") -> RoutingRules:
        data = dict(data)
        reasons = require(data, "reasons", dict, source)
        return cls(
            keyword_fuzzy_cutoff=float(data.get("keyword_fuzzy_cutoff", 88)),
            keyword_fuzzy_min_length=int(data.get("keyword_fuzzy_min_length", 5)),
            learned_weight_max=float(data.get("learned_weight_max", 0.7)),
            learned_weight_half=float(data.get("learned_weight_half", 30)),
            learned_min_similarity=float(data.get("learned_min_similarity", 0.08)),
            softmax_temperature=float(data.get("softmax_temperature", 0.05)),
            max_features_per_agency=int(data.get("max_features_per_agency", 4000)),
            min_score=float(data.get("min_score", 0.03)),
            reason_keywords=str(reasons["keywords"]),
            reason_learned=str(reasons["learned"]),
            reason_separator=str(reasons.get("separator", "; ")),
            class_hints={
                str(cls_name): ClassHint(
                    function_group=str(hint["function_group"]),
                    weight=float(hint.get("weight", 1)),
                    reason=str(hint["reason"]),
                )
                for cls_name, hint in (data.get("class_hints") or {}).items()
            },
        )


_OLD_RULES = {
    "keyword_fuzzy_cutoff": 88,
    "keyword_fuzzy_min_length": 5,
    "learned_weight_max": 0.7,
    "learned_weight_half": 200,
    "learned_min_similarity": 0.08,
    "softmax_temperature": 0.1,
    "max_features_per_agency": 4000,
    "min_score": 0.03,
    "class_hints": {
        "pengaduan_berkadar_pengawasan": {
            "function_group": "pengawasan",
            "weight": 2,
            "reason": "Pengaduan berkadar pengawasan ditangani aparat pengawasan internal (APIP)",
        }
    },
    "reasons": {
        "keywords": "Kata kunci: {keywords}",
        "learned": "Mirip pengaduan yang dulu didisposisikan ke {code} ({count} disposisi, "
        "kemiripan {similarity}%)",
        "separator": "; ",
    },
}


def load_routing_rules(path: Path | str | None = None) -> RoutingRules:
    if path is None:
        return RoutingRules.from_mapping(_OLD_RULES, "routing rules before issue 14")
    return RoutingRules.from_mapping(read_yaml(path), str(path))


@lru_cache(maxsize=1)
def default_routing_rules() -> RoutingRules:
    return load_routing_rules()


@dataclass(frozen=True, slots=True)
class AgencySuggestion:
    """One suggested agency with a score in 0..1 and an Indonesian reason."""

    code: str
    name: str
    score: float
    reason: str


@dataclass(frozen=True)
class _Model:
    n_docs: int
    idf: Mapping[str, float]
    centroids: Mapping[str, Mapping[str, float]]
    counts: Mapping[str, int]
    postings: Mapping[str, tuple[tuple[str, float], ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        postings: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for code, centroid in self.centroids.items():
            for feature, weight in centroid.items():
                postings[feature].append((code, weight))
        object.__setattr__(self, "postings", {f: tuple(p) for f, p in postings.items()})

    @property
    def default_idf(self) -> float:
        return math.log((self.n_docs + 1) / 1) + 1.0

    def similarities(self, features: Counter[str]) -> dict[str, float]:
        vector = _weigh(features, self.idf, self.default_idf)
        scores: dict[str, float] = defaultdict(float)
        for feature, weight in vector.items():
            for code, centroid_weight in self.postings.get(feature, ()):
                scores[code] += weight * centroid_weight
        return dict(scores)


class AgencyRouter:
    """Suggests agencies; `train()` returns a new router that has learned from dispositions.

    Instances are immutable, so the gateway can swap in a retrained router while requests are
    being served with the old one.
    """

    def __init__(
        self,
        directory: AgencyDirectory,
        *,
        rules: RoutingRules | None = None,
        lexicon: Lexicon | None = None,
        _model: _Model | None = None,
    ) -> None:
        self.directory = directory
        self.rules = rules or default_routing_rules()
        self.lexicon = lexicon or default_lexicon()
        self._model = _model

    @property
    def trained_on(self) -> int:
        """How many dispositions the learned model was trained on (0 when untrained)."""
        return self._model.n_docs if self._model else 0

    def train(self, examples: Iterable[tuple[str | CleanText, str]]) -> AgencyRouter:
        """Learn from (complaint text, agency code) pairs: past dispositions by admins.

        Training starts from scratch each time (the gateway retrains from all disposed
        complaints); examples for codes no longer in the directory are skipped.
        """
        known = set(self.directory.codes)
        documents: list[tuple[Counter[str], str]] = []
        for text, code in examples:
            if code not in known:
                continue
            clean = text if isinstance(text, CleanText) else clean_text(text, self.lexicon)
            features = _features(clean.tokens, self.lexicon.stopwords)
            if features:
                documents.append((features, code))
        if not documents:
            return AgencyRouter(self.directory, rules=self.rules, lexicon=self.lexicon)
        document_frequency: Counter[str] = Counter()
        for features, _ in documents:
            document_frequency.update(features.keys())
        n_docs = len(documents)
        idf = {f: math.log((n_docs + 1) / (df + 1)) + 1.0 for f, df in document_frequency.items()}
        sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        counts: Counter[str] = Counter()
        for features, code in documents:
            counts[code] += 1
            for feature, weight in _weigh(features, idf, 1.0).items():
                sums[code][feature] += weight
        centroids = {}
        for code, summed in sums.items():
            top = sorted(summed.items(), key=lambda kv: -kv[1])[
                : self.rules.max_features_per_agency
            ]
            centroids[code] = _normalised(dict(top))
        used = {f for centroid in centroids.values() for f in centroid}
        model = _Model(
            n_docs=n_docs,
            idf={f: round(w, 4) for f, w in idf.items() if f in used},
            centroids={c: {f: round(w, 5) for f, w in v.items()} for c, v in centroids.items()},
            counts=dict(counts),
        )
        return AgencyRouter(self.directory, rules=self.rules, lexicon=self.lexicon, _model=model)

    def suggest(
        self, text: str | CleanText, k: int = 3, *, class_hint: str | None = None
    ) -> list[AgencySuggestion]:
        """Up to `k` agencies, best first; empty when nothing points anywhere.

        `class_hint` is the suggested class; some classes point at a function group
        (`class_hints` in routing.yaml).
        """
        clean = text if isinstance(text, CleanText) else clean_text(text, self.lexicon)
        keyword_hits = self.directory.keyword_matches(clean.tokens, self.rules)
        keyword_weights = {code: _keyword_weight(kws) for code, kws in keyword_hits.items()}
        hint = self.rules.class_hints.get(class_hint or "")
        hinted: set[str] = set()
        if hint is not None:
            for agency in self.directory.agencies:
                if agency.function_group == hint.function_group:
                    keyword_weights[agency.code] = keyword_weights.get(agency.code, 0) + hint.weight
                    hinted.add(agency.code)
        keyword_share = _shares(keyword_weights)
        learned, similarity = self._learned(clean)
        if learned and keyword_share:
            n = self._model.n_docs if self._model else 0
            weight = min(self.rules.learned_weight_max, n / (n + self.rules.learned_weight_half))
        elif learned:
            weight = 1.0
        else:
            weight = 0.0
        scores: dict[str, float] = defaultdict(float)
        for code, share in keyword_share.items():
            scores[code] += (1.0 - weight) * share
        for code, share in learned.items():
            scores[code] += weight * share
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        suggestions = []
        for code, score in ranked[:k]:
            if score < self.rules.min_score:
                break
            agency = self.directory.agency(code)
            suggestions.append(
                AgencySuggestion(
                    code=code,
                    name=agency.name if agency else code,
                    score=round(score, 3),
                    reason=self._reason(
                        code,
                        keyword_hits.get(code, []),
                        similarity.get(code),
                        hint.reason if hint is not None and code in hinted else None,
                    ),
                )
            )
        return suggestions

    def _learned(self, clean: CleanText) -> tuple[dict[str, float], dict[str, float]]:
        """Scores from the learned model (softmax of similarities) and the raw similarities."""
        if self._model is None:
            return {}, {}
        similarity = self._model.similarities(_features(clean.tokens, self.lexicon.stopwords))
        similarity = {
            code: s
            for code, s in similarity.items()
            if s >= self.rules.learned_min_similarity and self.directory.agency(code)
        }
        if not similarity:
            return {}, {}
        top = max(similarity.values())
        temperature = self.rules.softmax_temperature
        exps = {code: math.exp((s - top) / temperature) for code, s in similarity.items()}
        total = sum(exps.values())
        return {code: e / total for code, e in exps.items()}, similarity

    def _reason(
        self, code: str, keywords: list[str], similarity: float | None, hint: str | None
    ) -> str:
        parts = [hint] if hint else []
        if keywords:
            quoted = ", ".join(f"“{k}”" for k in keywords)
            parts.append(self.rules.reason_keywords.format(keywords=quoted))
        if similarity is not None and self._model is not None:
            parts.append(
                self.rules.reason_learned.format(
                    code=code,
                    count=self._model.counts.get(code, 0),
                    similarity=round(100 * similarity),
                )
            )
        return self.rules.reason_separator.join(parts)

    # --- persistence ---------------------------------------------------------------------------

    def to_json(self) -> bytes:
        """The learned model as JSON bytes (the directory and rules are not included)."""
        model = self._model
        payload: dict[str, Any] = {"format": MODEL_FORMAT, "trained": model is not None}
        if model is not None:
            payload |= {
                "n_docs": model.n_docs,
                "idf": model.idf,
                "centroids": model.centroids,
                "counts": model.counts,
            }
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(
        cls,
        data: bytes | str,
        directory: AgencyDirectory,
        *,
        rules: RoutingRules | None = None,
        lexicon: Lexicon | None = None,
    ) -> AgencyRouter:
        """Restore a router saved with `to_json()` over the current directory."""
        payload = json.loads(data)
        if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
            raise ValueError(f"not a {MODEL_FORMAT} model")
        model = None
        if payload.get("trained"):
            model = _Model(
                n_docs=int(payload["n_docs"]),
                idf={str(f): float(w) for f, w in payload["idf"].items()},
                centroids={
                    str(c): {str(f): float(w) for f, w in v.items()}
                    for c, v in payload["centroids"].items()
                },
                counts={str(c): int(n) for c, n in payload["counts"].items()},
            )
        return cls(directory, rules=rules, lexicon=lexicon, _model=model)


def _features(tokens: Sequence[str], stopwords: frozenset[str]) -> Counter[str]:
    """Words, word pairs and character 4-grams of the content words."""
    words = [t for t in tokens if t not in stopwords and not t.isdigit() and len(t) > 1]
    features: Counter[str] = Counter()
    for word in words:
        features["w:" + word] += 1
        padded = f"_{word}_"
        for i in range(len(padded) - 3):
            features["c:" + padded[i : i + 4]] += 1
    for first, second in itertools.pairwise(words):
        features[f"b:{first}_{second}"] += 1
    return features


def _weigh(features: Counter[str], idf: Mapping[str, float], default: float) -> dict[str, float]:
    """Sublinear TF times IDF, L2-normalised."""
    return _normalised(
        {f: (1.0 + math.log(tf)) * idf.get(f, default) for f, tf in features.items()}
    )


def _normalised(vector: Mapping[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in vector.values()))
    return {f: w / norm for f, w in vector.items()} if norm else {}


def _keyword_weight(keywords: Sequence[str]) -> float:
    """More and longer keywords say more: "jalan berlubang" outweighs "jalan"."""
    return sum(len(k.split()) for k in keywords)


def _shares(weights: Mapping[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    return {code: w / total for code, w in weights.items()} if total else {}
