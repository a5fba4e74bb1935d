"""Suggest the competent agency (OPD) for a complaint: directory keywords first, a learned
linear classifier once admins have disposed enough complaints.

Two sources of evidence:

1. Keywords from the agency directory (`config/agencies.yaml`, or the admin UI's copy): matched
   as whole words in the clean text, the longest keyword winning where two overlap ("lampu jalan"
   is DINPERKIM's even though "jalan" is DPUPR's), tolerant of small misspellings. Words used in
   another sense are read first: "jalan" in "mau jalan-jalan" is the verb "to go" and names no
   road; the words of idioms and jokes ("banjir air mata") route nothing (`normalizer.senses`).
2. A multinomial logistic regression (scikit-learn) over TF-IDF of words, word pairs and
   character 4-grams (robust to typos and SMS spelling), learned from (text, agency) examples:
   the admins' dispositions and labelled imports. Its probabilities are calibrated by one
   temperature fitted on cross-validated predictions, so "70 %" means right about 70 % of the
   time. scikit-learn is needed only to train: the model is stored as JSON (feature names, IDF,
   weights as base64 arrays; never a pickle) and a suggestion is one sparse dot product in numpy.

Which one decides is measured on each deployment's own examples when the model is trained:
every example is predicted by a model that did not see it (cross-validation), once by the
model alone and once "keywords first, the model where no keyword matches". While the keywords
do better (too little data: on the generated complaints of `bench/corpus.py` that is below
about 50 examples), they rank the agencies and the model fills the places they leave; once
the model does at least as well, it ranks them and a keyword only brings in an agency the
model has never seen. With a trained model there are always `k` suggestions (no similarity
cut-off leaves a complaint with none); only an untrained router facing a text that names no
keyword suggests nothing.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process

from normalizer.resources import (
    DEFAULT_AGENCY_FILE,
    DataFileError,
    data_file,
    read_yaml,
    require,
    strings,
)
from normalizer.senses import BLANK, SenseRules, default_sense_rules, literal_tokens
from normalizer.text import CleanText, Lexicon, clean_text, default_lexicon, fold

MODEL_FORMAT = "lapor-agency-router/2"


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
    max_features: int
    regularization: float
    calibration_folds: int
    calibration_min_examples: int
    reason_keywords: str
    reason_learned: str
    reason_unseen: str
    reason_separator: str
    class_hints: Mapping[str, ClassHint] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "routing rules") -> RoutingRules:
        data = dict(data)
        reasons = require(data, "reasons", dict, source)
        return cls(
            keyword_fuzzy_cutoff=float(data.get("keyword_fuzzy_cutoff", 88)),
            keyword_fuzzy_min_length=int(data.get("keyword_fuzzy_min_length", 5)),
            max_features=int(data.get("max_features", 30000)),
            regularization=float(data.get("regularization", 10.0)),
            calibration_folds=int(data.get("calibration_folds", 3)),
            calibration_min_examples=int(data.get("calibration_min_examples", 30)),
            reason_keywords=str(reasons["keywords"]),
            reason_learned=str(reasons["learned"]),
            reason_unseen=str(reasons["unseen"]),
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


def load_routing_rules(path: Path | str | None = None) -> RoutingRules:
    path = Path(path) if path else data_file("routing.yaml")
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


@dataclass(frozen=True, eq=False)
class _LinearModel:
    """A trained multinomial logistic regression over TF-IDF features, in plain arrays."""

    classes: tuple[str, ...]
    features: tuple[str, ...]
    idf: np.ndarray  # (features,)
    weights: np.ndarray  # (features, classes)
    intercept: np.ndarray  # (classes,)
    temperature: float
    counts: Mapping[str, int]
    n_docs: int
    # Cross-validated top-1 accuracy on the training examples: the model alone, and keywords
    # first with the model where none matches. -1 when there were too few examples to tell.
    accuracy_learned: float = -1.0
    accuracy_keywords_first: float = 0.0
    vocabulary: Mapping[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "vocabulary", {f: i for i, f in enumerate(self.features)})

    def probabilities(self, features: Counter[str]) -> dict[str, float]:
        """Calibrated class probabilities for one document's features (what scikit-learn's
        TfidfVectorizer + LogisticRegression.predict_proba would give, tempered)."""
        index: list[int] = []
        values: list[float] = []
        for feature, count in features.items():
            column = self.vocabulary.get(feature)
            if column is not None:
                index.append(column)
                values.append(1.0 + math.log(count))
        logits = self.intercept.astype(np.float64)
        if index:
            columns = np.asarray(index)
            vector = np.asarray(values) * self.idf[columns]
            vector /= np.linalg.norm(vector)
            logits = logits + vector @ self.weights[columns]
        scaled = logits / self.temperature
        scaled -= scaled.max()
        exps = np.exp(scaled)
        return dict(zip(self.classes, (exps / exps.sum()).tolist(), strict=True))


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
        senses: SenseRules | None = None,
        _model: _LinearModel | None = None,
    ) -> None:
        self.directory = directory
        self.rules = rules or default_routing_rules()
        self.lexicon = lexicon or default_lexicon()
        self.senses = senses or default_sense_rules()
        self._model = _model

    @property
    def trained_on(self) -> int:
        """How many examples the learned model was trained on (0 when untrained)."""
        return self._model.n_docs if self._model else 0

    @property
    def held_out_accuracy(self) -> tuple[float, float] | None:
        """(model alone, keywords first): top-1 accuracy on the training examples, each
        predicted by a model that did not see it; None when there were too few to tell. The
        CLI and the admin UI can show why the keywords or the model rank the agencies."""
        model = self._model
        if model is None or model.accuracy_learned < 0:
            return None
        return model.accuracy_learned, model.accuracy_keywords_first

    @property
    def learned_decides(self) -> bool:
        """Whether the learned model, not the keywords, ranks the agencies."""
        model = self._model
        return model is not None and model.accuracy_learned >= model.accuracy_keywords_first

    def train(self, examples: Iterable[tuple[str | CleanText, str]]) -> AgencyRouter:
        """Learn from (complaint text, agency code) pairs: dispositions and labelled imports.

        Training starts from scratch each time (the gateway retrains from all of them);
        examples for codes no longer in the directory are skipped. Needs scikit-learn.
        """
        known = set(self.directory.codes)
        documents: list[list[str]] = []
        labels: list[str] = []
        keyword_tops: list[str | None] = []  # what the keywords alone would suggest first
        for text, code in examples:
            if code not in known:
                continue
            clean = text if isinstance(text, CleanText) else clean_text(text, self.lexicon)
            tokens = literal_tokens(clean.tokens, self.senses)
            features = _features(tokens)
            if features:
                documents.append(list(features.elements()))
                labels.append(code)
                keyword_tops.append(self._keyword_top(tokens))
        model = _fit(documents, labels, keyword_tops, self.rules) if documents else None
        return AgencyRouter(
            self.directory, rules=self.rules, lexicon=self.lexicon, senses=self.senses, _model=model
        )

    def suggest(
        self, text: str | CleanText, k: int = 3, *, class_hint: str | None = None
    ) -> list[AgencySuggestion]:
        """The `k` likeliest agencies, best first (fewer only when the directory is smaller, or
        when nothing is known: an untrained router and no keyword).

        `class_hint` is the suggested class; some classes point at a function group
        (`class_hints` in routing.yaml).
        """
        clean = text if isinstance(text, CleanText) else clean_text(text, self.lexicon)
        tokens = literal_tokens(clean.tokens, self.senses)
        keyword_hits = self.directory.keyword_matches(tokens, self.rules)
        hint = self.rules.class_hints.get(class_hint or "")
        hinted = (
            {a.code for a in self.directory.agencies if a.function_group == hint.function_group}
            if hint is not None
            else set()
        )
        learned: dict[str, float] = {}
        if self._model is not None:
            probabilities = self._model.probabilities(_features(tokens))
            learned = {c: p for c, p in probabilities.items() if self.directory.agency(c)}
        if (keyword_hits or hinted) and not self.learned_decides:
            ranked = self._keywords_first(keyword_hits, hint, hinted, learned)
        else:
            ranked = self._learned_first(learned, keyword_hits, hinted)
        suggestions = []
        for code, score in ranked[:k]:
            agency = self.directory.agency(code)
            suggestions.append(
                AgencySuggestion(
                    code=code,
                    name=agency.name if agency else code,
                    score=round(score, 3),
                    reason=self._reason(
                        code,
                        keyword_hits.get(code, []),
                        learned.get(code),
                        hint.reason if hint is not None and code in hinted else None,
                    ),
                )
            )
        return suggestions

    def _keywords_first(
        self,
        keyword_hits: Mapping[str, list[str]],
        hint: ClassHint | None,
        hinted: set[str],
        learned: Mapping[str, float],
    ) -> list[tuple[str, float]]:
        """Too little data: agencies by their share of the keywords; the learned model (if any)
        fills the remaining places."""
        weights = {code: _keyword_weight(kws) for code, kws in keyword_hits.items()}
        if hint is not None:
            for code in hinted:
                weights[code] = weights.get(code, 0) + hint.weight
        ranked = sorted(_shares(weights).items(), key=lambda kv: (-kv[1], kv[0]))
        named = {code for code, _ in ranked}
        ranked += sorted(
            ((c, p) for c, p in learned.items() if c not in named), key=lambda kv: (-kv[1], kv[0])
        )
        return ranked

    def _learned_first(
        self,
        learned: Mapping[str, float],
        keyword_hits: Mapping[str, list[str]],
        hinted: set[str],
    ) -> list[tuple[str, float]]:
        """The model decides; an agency it has never seen comes in through its keyword, and
        the agency a class points at (Inspektorat for pengawasan) keeps a place."""
        ranked = sorted(learned.items(), key=lambda kv: (-kv[1], kv[0]))
        unseen = {c: _keyword_weight(kws) for c, kws in keyword_hits.items() if c not in learned}
        if unseen:
            # Named by its own keyword, it is worth a look even when the model is sure; its
            # score is its keyword share of what the model leaves to other agencies.
            code, share = max(_shares(unseen).items(), key=lambda kv: (kv[1], kv[0]))
            top = ranked[0][1] if ranked else 0.0
            ranked.insert(min(1, len(ranked)), (code, share * (1.0 - top)))
        for code in sorted(hinted):
            if code not in [c for c, _ in ranked[:2]]:
                entry = next((r for r in ranked if r[0] == code), (code, learned.get(code, 0.0)))
                if entry in ranked:
                    ranked.remove(entry)
                ranked.insert(min(2, len(ranked)), entry)
                break
        return ranked

    def _keyword_top(self, tokens: Sequence[str]) -> str | None:
        hits = self.directory.keyword_matches(tokens, self.rules)
        weights = {code: _keyword_weight(kws) for code, kws in hits.items()}
        return min(weights, key=lambda c: (-weights[c], c)) if weights else None

    def _reason(
        self, code: str, keywords: list[str], probability: float | None, hint: str | None
    ) -> str:
        parts = [hint] if hint else []
        if keywords:
            quoted = ", ".join(f"“{k}”" for k in keywords)
            template = self.rules.reason_keywords
            if self._model is not None and self.learned_decides and probability is None:
                template = self.rules.reason_unseen
            parts.append(template.format(keywords=quoted))
        if probability is not None and self._model is not None:
            parts.append(
                self.rules.reason_learned.format(
                    code=code,
                    count=self._model.counts.get(code, 0),
                    probability=round(100 * probability),
                )
            )
        return self.rules.reason_separator.join(parts)

    # --- persistence ---------------------------------------------------------------------------

    def to_json(self) -> bytes:
        """The learned model as JSON bytes (the directory and rules are not included).

        Arrays are base64 of little-endian numbers (IDF float32, weights float16): compact, and
        reading them back runs no code, unlike a pickle."""
        model = self._model
        payload: dict[str, Any] = {"format": MODEL_FORMAT, "trained": model is not None}
        if model is not None:
            payload |= {
                "n_docs": model.n_docs,
                "classes": list(model.classes),
                "counts": dict(model.counts),
                "features": list(model.features),
                "idf": _encode(model.idf, "<f4"),
                "weights": _encode(model.weights, "<f2"),
                "intercept": [float(v) for v in model.intercept],
                "temperature": model.temperature,
                "accuracy_learned": model.accuracy_learned,
                "accuracy_keywords_first": model.accuracy_keywords_first,
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
        senses: SenseRules | None = None,
    ) -> AgencyRouter:
        """Restore a router saved with `to_json()` over the current directory; a payload of
        another format or a damaged one raises ValueError."""
        payload = json.loads(data)
        if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
            raise ValueError(f"not a {MODEL_FORMAT} model")
        model = None
        if payload.get("trained"):
            try:
                classes = tuple(str(c) for c in payload["classes"])
                features = tuple(str(f) for f in payload["features"])
                model = _LinearModel(
                    classes=classes,
                    features=features,
                    idf=_decode(payload["idf"], "<f4", (len(features),)),
                    weights=_decode(payload["weights"], "<f2", (len(features), len(classes))),
                    intercept=np.asarray(payload["intercept"], dtype=np.float64),
                    temperature=float(payload["temperature"]),
                    counts={str(c): int(n) for c, n in payload["counts"].items()},
                    n_docs=int(payload["n_docs"]),
                    accuracy_learned=float(payload["accuracy_learned"]),
                    accuracy_keywords_first=float(payload["accuracy_keywords_first"]),
                )
            except (KeyError, TypeError, AttributeError) as error:
                raise ValueError(f"damaged {MODEL_FORMAT} model: {error}") from error
            if model.intercept.shape != (len(classes),) or not model.temperature > 0:
                raise ValueError(f"damaged {MODEL_FORMAT} model: shapes do not agree")
        return cls(directory, rules=rules, lexicon=lexicon, senses=senses, _model=model)


def _fit(
    documents: list[list[str]],
    labels: list[str],
    keyword_tops: list[str | None],
    rules: RoutingRules,
) -> _LinearModel:
    """TF-IDF + logistic regression with scikit-learn, returned as plain arrays, calibrated and
    with its cross-validated accuracy beside that of the keywords."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        analyzer=_as_is, sublinear_tf=True, max_features=rules.max_features, dtype=np.float32
    )
    matrix = vectorizer.fit_transform(documents)
    vocabulary: dict[str, int] = vectorizer.vocabulary_
    features = tuple(sorted(vocabulary, key=vocabulary.__getitem__))
    classes = tuple(sorted(set(labels)))
    temperature, accuracy_learned, accuracy_keywords_first = 1.0, -1.0, 0.0
    if len(classes) == 1:  # one agency so far: nothing to tell apart
        weights = np.zeros((len(features), 1), dtype=np.float32)
        intercept = np.zeros(1)
    else:
        weights, intercept = _logistic(matrix, labels, classes, rules)
        held = _held_out_logits(matrix, labels, classes, rules)
        if held is not None:
            logits, rows = held
            target = np.asarray([classes.index(labels[i]) for i in rows])
            temperature = _temperature(logits, target)
            learned = dict(zip(rows, (classes[j] for j in logits.argmax(axis=1)), strict=True))
            accuracy_learned = float(np.mean([learned[i] == labels[i] for i in rows]))
            accuracy_keywords_first = float(
                np.mean([(keyword_tops[i] or learned[i]) == labels[i] for i in rows])
            )
    return _LinearModel(
        classes=classes,
        features=features,
        idf=vectorizer.idf_.astype(np.float32),
        # Stored as float16: round now so the model in memory is the one that is stored.
        weights=weights.astype(np.float16).astype(np.float32),
        intercept=intercept,
        temperature=temperature,
        counts=dict(Counter(labels)),
        n_docs=len(labels),
        accuracy_learned=round(accuracy_learned, 4),
        accuracy_keywords_first=round(accuracy_keywords_first, 4),
    )


def _logistic(
    matrix: Any, labels: Sequence[str], classes: Sequence[str], rules: RoutingRules
) -> tuple[np.ndarray, np.ndarray]:
    """Weights (features x classes) and intercepts whose softmax is the model's predict_proba."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=rules.regularization, max_iter=2000)
    model.fit(matrix, list(labels))
    order = [list(model.classes_).index(c) for c in classes]
    coef, intercept = model.coef_, model.intercept_
    if coef.shape[0] == 1:  # two classes: one decision d; softmax of (-d/2, d/2) is sigmoid(d)
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    return coef[order].T.astype(np.float32), intercept[order].astype(np.float64)


def _held_out_logits(
    matrix: Any, labels: Sequence[str], classes: Sequence[str], rules: RoutingRules
) -> tuple[np.ndarray, list[int]] | None:
    """Each example's logits from a model trained without it (k folds), with the examples'
    indices; None when there are too few examples to tell anything."""
    folds = rules.calibration_folds
    if folds < 2 or len(labels) < rules.calibration_min_examples:
        return None
    order = np.random.default_rng(0).permutation(len(labels))
    held: list[np.ndarray] = []
    rows: list[int] = []
    for part in range(folds):
        test = order[part::folds]
        train = np.setdiff1d(order, test)
        train_labels = [labels[i] for i in train]
        seen = sorted(set(train_labels))
        if len(seen) < 2:
            continue
        weights, intercept = _logistic(matrix[train], train_labels, seen, rules)
        logits = np.full((len(test), len(classes)), -1e4)
        logits[:, [classes.index(c) for c in seen]] = matrix[test] @ weights + intercept
        for row, i in enumerate(test):
            if labels[i] in seen:  # an agency no other fold has seen cannot be predicted
                held.append(logits[row])
                rows.append(int(i))
    return (np.vstack(held), rows) if rows else None


def _temperature(logits: np.ndarray, target: np.ndarray) -> float:
    """The temperature that makes held-out probabilities honest (least log loss).

    Dividing the logits by one number fitted on held-out predictions (temperature scaling)
    calibrates the probabilities without changing which agency ranks first."""

    def log_loss(temperature: float) -> float:
        scaled = logits / temperature
        scaled -= scaled.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(scaled).sum(axis=1))
        return float(np.mean(log_norm - scaled[np.arange(len(target)), target]))

    grid = np.exp(np.linspace(math.log(0.05), math.log(8.0), 81))
    return round(float(min(grid, key=log_loss)), 4)


def _as_is(features: list[str]) -> list[str]:
    return features


def _encode(array: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype=dtype).tobytes()).decode("ascii")


def _decode(text: str, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    raw = base64.b64decode(text, validate=True)
    array = np.frombuffer(raw, dtype=dtype)
    if array.size != math.prod(shape):
        raise ValueError(f"damaged {MODEL_FORMAT} model: an array has the wrong size")
    return array.astype(np.float32).reshape(shape)


def _features(tokens: Sequence[str]) -> Counter[str]:
    """Words, word pairs and character 4-grams; a number counts by its length only ("#2" for an
    RT, "#12" for a phone number). Stop words stay: the model weighs them itself, and on real
    SMS they helped (`bench/quality_real.py`)."""
    words = []
    for token in tokens:
        if token == BLANK:
            continue
        if token.isdigit():
            words.append(f"#{min(len(token), 12)}")
        elif len(token) > 1:
            words.append(token)
    features: Counter[str] = Counter()
    for word in words:
        features["w:" + word] += 1
        if not word.startswith("#"):
            padded = f"_{word}_"
            for i in range(len(padded) - 3):
                features["c:" + padded[i : i + 4]] += 1
    for first, second in itertools.pairwise(words):
        features[f"b:{first}_{second}"] += 1
    return features


def _keyword_weight(keywords: Sequence[str]) -> float:
    """More and longer keywords say more: "jalan berlubang" outweighs "jalan"."""
    return sum(len(k.split()) for k in keywords)


def _shares(weights: Mapping[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    return {code: w / total for code, w in weights.items()} if total else {}
