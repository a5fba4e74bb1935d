"""The pure half of duplicate detection: signatures for candidate look-up, pair scores, decisions.

Three kinds of duplicates exist; the first (the same delivery twice) is intake's business
(external ids). This module tells the other two apart from distinct complaints:

- `same_reporter_duplicate`: the same person sends the same complaint again (same or another
  channel) -> the gateway merges it into the first one;
- `same_problem`: different people describe the same problem at the same place within a time
  window -> the gateway links them into a cluster;
- `distinct`.

Candidate retrieval belongs to the database: the gateway stores `DedupSignature.text` (sorted,
de-duplicated content words: word order and repeated words do not matter, so reordered
sentences give the same string) in an indexed column for a trigram index (SQLite FTS5 trigram,
PostgreSQL pg_trgm), and/or `DedupSignature.band_keys` (MinHash LSH band keys over character
3-grams, computed here with one-permutation hashing) in an indexed key table; it then scores
the few candidates with `score()` and `decide()`. The band keys favour recall (16 bands of 2
bins): unrelated complaints share one about a quarter of the time (`python -m bench
dedup-quality`), so look them up only among open complaints of the same kecamatan and time
window (e.g. store them prefixed with the kecamatan), never across the whole table.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Final, Literal

from rapidfuzz import fuzz, process

from normalizer.location import PlaceMatch, PlaceParts, haversine_km
from normalizer.resources import data_file, read_yaml, require
from normalizer.text import CleanText, Lexicon, clean_text, default_lexicon

SAME_REPORTER_DUPLICATE: Final = "same_reporter_duplicate"
SAME_PROBLEM: Final = "same_problem"
DISTINCT: Final = "distinct"
Decision = Literal["same_reporter_duplicate", "same_problem", "distinct"]
PlaceRelation = Literal["same_village", "same_kecamatan", "different", "unknown"]
TopicRelation = Literal["same", "different", "unknown"]

SIGNATURE_MAX_WORDS = 32
FUZZY_WORD_CUTOFF = 80
MINHASH_BINS = 32
MINHASH_ROWS = (
    2  # bins per band: 16 bands of 2 -> a pair with Jaccard 0.4 shares a key 94% of the time
)
STRICT_ROWS = 4  # 8 bands of 4: Jaccard 0.8 -> 98 %, 0.3 -> 6 %, unrelated (~0.1) -> 0.1 %
# Words that say where or whose, not what: place words (the place is compared on its own) and
# the words left by masked personal data ("NIK [NIK]" folds to "nik nik").
_NOT_CONTENT = frozenset(
    [
        "desa",
        "kelurahan",
        "kecamatan",
        "dusun",
        "dukuh",
        "kabupaten",
        "rt",
        "rw",
        "gang",
        "nik",
        "kk",
        "nama",
        "telepon",
        "email",
        "rekening",
    ]
)
_SUFFIXES = ("nya", "lah", "kah")


@dataclass(frozen=True, slots=True)
class DedupSignature:
    """What the gateway stores to find candidates: a word signature and LSH band keys."""

    text: str
    band_keys: tuple[str, ...]


def signature(text: str | CleanText, lexicon: Lexicon | None = None) -> DedupSignature:
    """The duplicate-detection signature of one complaint."""
    lexicon = lexicon or default_lexicon()
    clean = text if isinstance(text, CleanText) else clean_text(text, lexicon)
    words = _content_words(clean.tokens, lexicon.stopwords)
    if len(words) > SIGNATURE_MAX_WORDS:
        # Long complaints keep their most specific (longest) words.
        words = sorted(sorted(words, key=lambda w: (-len(w), w))[:SIGNATURE_MAX_WORDS])
    joined = " ".join(words)
    return DedupSignature(text=joined, band_keys=band_keys(joined))


def band_keys(signature_text: str) -> tuple[str, ...]:
    """MinHash LSH band keys of a signature (one-permutation hashing with densification).

    Each character 3-gram is hashed once (crc32); its low bits pick one of `MINHASH_BINS` bins,
    the rest is the value; the minimum per bin is the sketch. Empty bins borrow from the next
    non-empty bin (rotation densification) so short texts still give every band a key. Keys are
    `"<band>:<hex>"`; two complaints sharing any key are candidates. These loose keys (16 bands
    of 2 bins) favour recall and must be scoped to a place (see `candidate_keys`).
    """
    return _bands(_sketch(signature_text), MINHASH_ROWS, "")


def text_keys(signature_text: str) -> tuple[str, ...]:
    """Place-free candidate keys: the whole signature, and strict MinHash bands (8 bands of 4
    bins). Two texts with a Jaccard similarity of 0.8 share one 98 % of the time, unrelated
    complaints almost never, so they can be looked up across every open complaint."""
    return _text_keys(signature_text, _sketch(signature_text))


def _text_keys(signature_text: str, sketch: list[int]) -> tuple[str, ...]:
    if not sketch:
        return ()
    exact = f"x:{zlib.crc32(signature_text.encode('utf-8')):08x}"
    return (exact, *_bands(sketch, STRICT_ROWS, "t"))


def candidate_keys(signature_text: str, place: PlaceMatch | None = None) -> list[str]:
    """Every key the gateway stores for a complaint (and looks up for a new one).

    Text first: `text_keys()` find the same or nearly the same text wherever it comes from.
    With a known village, its loose band keys (prefixed with kecamatan/village) also find
    paraphrases of the same problem there. Place is evidence in `judge()`, never the only way
    in.
    """
    # One sketch for both kinds of keys: it is most of the cost (a bulk import computes
    # millions of these).
    sketch = _sketch(signature_text)
    keys = list(_text_keys(signature_text, sketch))
    if place is not None and place.village:
        scope = f"v:{(place.kecamatan or '-').lower()}/{place.village.lower()}"
        keys += [f"{scope}:{band}" for band in _bands(sketch, MINHASH_ROWS, "")]
    return keys


def _sketch(signature_text: str) -> list[int]:
    shingles = _shingles(signature_text)
    if not shingles:
        return []
    bins: list[int | None] = [None] * MINHASH_BINS
    for shingle in shingles:
        hashed = zlib.crc32(shingle.encode("utf-8"))
        slot, value = hashed % MINHASH_BINS, hashed // MINHASH_BINS
        current = bins[slot]
        if current is None or value < current:
            bins[slot] = value
    return _densify(bins)


def _bands(sketch: list[int], rows: int, prefix: str) -> tuple[str, ...]:
    keys = []
    for band in range(len(sketch) // rows):
        values = sketch[band * rows : (band + 1) * rows]
        digest = zlib.crc32(",".join(map(str, values)).encode("ascii"))
        keys.append(f"{prefix}{band}:{digest:08x}")
    return tuple(keys)


@dataclass(frozen=True, slots=True)
class DuplicateCandidate:
    """A complaint as duplicate detection sees it (the gateway builds these from its rows)."""

    signature: str
    kecamatan: str | None
    village: str | None
    reporter_id: str | None
    created_at: datetime
    agencies: tuple[str, ...] = ()  # suggested agency codes, best first ("what it is about")
    # street, dusun, RT/RW, landmarks (`normalizer.location.place_parts()`)
    parts: PlaceParts = field(default_factory=PlaceParts)
    coordinates: tuple[float, float] | None = None  # the reporter's pin, when there is one


@dataclass(frozen=True, slots=True)
class DedupThresholds:
    """When two complaints count as duplicates; the gateway may override from its settings.

    Text similarity is 0..100 (see `score()`). A cluster needs the same village, or the same
    kecamatan when `cluster_on_kecamatan` is set and neither names a village; a merge needs the
    same reporter and places that do not contradict each other.
    """

    same_reporter_text: float = 65.0
    same_problem_text: float = 56.0
    same_reporter_window: timedelta = timedelta(days=30)
    same_problem_window: timedelta = timedelta(days=14)
    cluster_on_kecamatan: bool = False
    # `judge()`: text first, place as evidence. Without any place agreeing, only the same or
    # nearly the same text (>= near_exact_text, nothing contradicting) clusters; with a place
    # agreeing, the text plus the place's weight must reach cluster_evidence.
    near_exact_text: float = 85.0
    cluster_evidence: float = 66.0


@dataclass(frozen=True, slots=True)
class DuplicateScore:
    text: float
    place: PlaceRelation
    hours_apart: float
    same_reporter: bool
    topic: TopicRelation = "unknown"


def score(a: DuplicateCandidate, b: DuplicateCandidate) -> DuplicateScore:
    """How alike two complaints are: text (0..100), place relation, time apart, reporter."""
    return DuplicateScore(
        text=text_similarity(a.signature, b.signature),
        place=_place_relation(a, b),
        hours_apart=abs((a.created_at - b.created_at).total_seconds()) / 3600.0,
        same_reporter=a.reporter_id is not None and a.reporter_id == b.reporter_id,
        topic=_topic_relation(a.agencies, b.agencies),
    )


def text_similarity(a: str, b: str) -> float:
    """Similarity of two signatures, 0..100: a length-weighted, typo-tolerant Jaccard.

    Each word of one signature counts as shared when the other has it, or has a word at least
    `FUZZY_WORD_CUTOFF` alike by rapidfuzz's ratio (typos: "penerangan"/"penreangan"); words
    weigh by their length, since long words ("pertigaan", "puskesmas") say more about a
    problem than short ones. Plain token_set_ratio would call "jalan rusak" identical to any
    longer text containing those two words.
    """
    first, second = set(a.split()), set(b.split())
    if not first or not second:
        return 0.0
    total = sum(map(len, first)) + sum(map(len, second))
    shared = _shared_weight(first, second) + _shared_weight(second, first)
    return round(100.0 * shared / total, 2)


def _shared_weight(words: set[str], other: set[str]) -> int:
    weight = 0
    choices = None
    for word in words:
        if word in other:
            weight += len(word)
        elif len(word) >= 4:
            choices = choices if choices is not None else list(other)
            if process.extractOne(word, choices, scorer=fuzz.ratio, score_cutoff=FUZZY_WORD_CUTOFF):
                weight += len(word)
    return weight


def decide(found: DuplicateScore, thresholds: DedupThresholds | None = None) -> Decision:
    """Merge, cluster or leave apart; a wrong merge hurts more than a missed one."""
    t = thresholds or DedupThresholds()
    apart = timedelta(hours=found.hours_apart)
    if found.topic == "different":
        return DISTINCT
    if (
        found.same_reporter
        and found.text >= t.same_reporter_text
        and found.place != "different"
        and apart <= t.same_reporter_window
    ):
        return SAME_REPORTER_DUPLICATE
    same_place = found.place == "same_village" or (
        t.cluster_on_kecamatan and found.place == "same_kecamatan"
    )
    if same_place and found.text >= t.same_problem_text and apart <= t.same_problem_window:
        return SAME_PROBLEM
    return DISTINCT


def _content_words(tokens: Sequence[str], stopwords: frozenset[str]) -> list[str]:
    words = set()
    for index, token in enumerate(tokens):
        if token.isdigit():
            before = tokens[index - 1] if index else ""
            # "SD N 3", "RT 03", "gang 2": a number after a short word names a spot; keep it
            # glued to that word ("n3", "rt03"), other numbers (amounts, dates) are noise.
            if before.isalpha() and len(before) <= 4 and len(token) <= 3:
                words.add(before + token)
            continue
        if token in stopwords or token in _NOT_CONTENT or len(token) < 2:
            continue
        for suffix in _SUFFIXES:
            if token.endswith(suffix) and len(token) - len(suffix) >= 4:
                token = token[: -len(suffix)]
                break
        words.add(token)
    return sorted(words)


def _shingles(text: str) -> set[str]:
    shingles: set[str] = set()
    for word in text.split():
        padded = f" {word} "
        shingles.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return shingles


def _densify(bins: list[int | None]) -> list[int]:
    size = len(bins)
    filled = []
    for index in range(size):
        for offset in range(size):
            value = bins[(index + offset) % size]
            if value is not None:
                # Mix in the offset so a borrowed value differs from its donor bin's own.
                filled.append(value + offset * 0x9E3779B1)
                break
    return filled


def _topic_relation(a: Sequence[str], b: Sequence[str]) -> TopicRelation:
    """Different when neither complaint's best agency is among the other's suggestions: a
    broken street light (DINPERKIM) and a broken road (DPUPR) at one spot are two problems."""
    if not a or not b:
        return "unknown"
    if a[0] in b or b[0] in a:
        return "same"
    return "different"


def _place_relation(a: DuplicateCandidate, b: DuplicateCandidate) -> PlaceRelation:
    if a.village and b.village:
        if a.village.casefold() != b.village.casefold():
            return "different"
        if a.kecamatan and b.kecamatan and a.kecamatan.casefold() != b.kecamatan.casefold():
            return "different"  # a village name shared by two kecamatan
        return "same_village"
    if a.kecamatan and b.kecamatan:
        if a.kecamatan.casefold() != b.kecamatan.casefold():
            return "different"
        return "same_kecamatan"
    return "unknown"


# --- text first, place as evidence -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvidenceWeights:
    """How much each place finding adds to (or takes from) the text similarity in `judge()`.

    A wrong merge hurts more than a missed one: a contradiction (another street, dusun, RT,
    landmark of the same kind, village or kecamatan, pins far apart) weighs more than an
    agreement, and `judge()` neither merges nor clusters a pair with one; the weights still
    rank the near misses the inbox shows.
    """

    same_village: float = 10.0
    same_kecamatan: float = 5.0
    different_village: float = -30.0
    different_kecamatan: float = -45.0
    pin_near_km: float = 1.0
    pin_near: float = 10.0
    pin_close_km: float = 3.0
    pin_close: float = 5.0
    pin_far_km: float = 10.0
    pin_far: float = -20.0
    different_street: float = -35.0
    different_hamlet: float = -30.0
    different_rt: float = -20.0
    different_rw: float = -20.0
    different_landmark: float = -20.0
    shared_part: float = 5.0
    shared_parts_max: float = 10.0


@dataclass(frozen=True, slots=True)
class Factor:
    """One piece of evidence: a code (`same_village`, `different_street`, ...), its weight and
    the names or distance involved, for the inbox to say why."""

    code: str
    weight: float
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Judgement:
    """The decision for a pair and why: what the inbox shows for "why clustered / why not"."""

    decision: Decision
    text: float
    evidence: float
    place: PlaceRelation
    hours_apart: float
    same_reporter: bool
    shared_words: tuple[str, ...]
    distance_km: float | None
    factors: tuple[Factor, ...]

    @property
    def conflicts(self) -> tuple[Factor, ...]:
        return tuple(f for f in self.factors if f.weight < 0)

    def reasons(self, texts: dict[str, str] | None = None) -> list[str]:
        """Readable reasons (Indonesian by default, `config/normalizer/dedup.yaml`)."""
        texts = texts or default_reason_texts()
        lines = [
            texts["text"].format(
                similarity=round(self.text), words=", ".join(self.shared_words[:8]) or "-"
            )
        ]
        for factor in self.factors:
            template = texts.get(factor.code)
            if template:
                lines.append(template.format(detail=factor.detail))
        lines.append(texts[f"decision_{self.decision}"])
        return lines


def judge(
    a: DuplicateCandidate,
    b: DuplicateCandidate,
    thresholds: DedupThresholds | None = None,
    weights: EvidenceWeights | None = None,
) -> Judgement:
    """Merge, cluster or leave apart, text first with place as evidence (see module doc)."""
    t = thresholds or DedupThresholds()
    w = weights or EvidenceWeights()
    found = score(a, b)
    factors: list[Factor] = []
    if found.topic == "different":
        factors.append(Factor("different_topic", -100.0, f"{a.agencies[0]} / {b.agencies[0]}"))
    factors += _place_factors(a, b, found.place, w)
    distance = None
    if a.coordinates is not None and b.coordinates is not None:
        distance = round(haversine_km(*a.coordinates, *b.coordinates), 2)
        if distance <= w.pin_near_km:
            factors.append(Factor("pin_near", w.pin_near, f"{distance:g}"))
        elif distance <= w.pin_close_km:
            factors.append(Factor("pin_close", w.pin_close, f"{distance:g}"))
        elif distance > w.pin_far_km:
            factors.append(Factor("pin_far", w.pin_far, f"{distance:g}"))
    factors += _part_factors(a.parts, b.parts, w)
    evidence = found.text + sum(f.weight for f in factors)
    supported = any(f.weight > 0 for f in factors)  # a place, a pin or a street agrees
    contradicted = any(f.weight < 0 for f in factors)
    apart = timedelta(hours=found.hours_apart)
    decision: Decision = DISTINCT
    if (
        found.same_reporter
        and found.text >= t.same_reporter_text
        and not contradicted
        and apart <= t.same_reporter_window
    ):
        decision = SAME_REPORTER_DUPLICATE
    elif (
        apart <= t.same_problem_window
        # Any contradiction keeps them apart, as for a merge: the same sentence about another
        # street, dusun, RT or village is another spot (a wrong cluster hurts more than a miss).
        and not contradicted
        and (
            (supported and evidence >= t.cluster_evidence)
            or (found.text >= t.near_exact_text and evidence >= t.near_exact_text)
        )
    ):
        decision = SAME_PROBLEM
    return Judgement(
        decision=decision,
        text=found.text,
        evidence=round(evidence, 2),
        place=found.place,
        hours_apart=round(found.hours_apart, 2),
        same_reporter=found.same_reporter,
        shared_words=tuple(sorted(set(a.signature.split()) & set(b.signature.split()))),
        distance_km=distance,
        factors=tuple(factors),
    )


def _place_factors(
    a: DuplicateCandidate, b: DuplicateCandidate, relation: PlaceRelation, w: EvidenceWeights
) -> list[Factor]:
    if relation == "same_village":
        return [Factor("same_village", w.same_village, a.village or "")]
    if relation == "same_kecamatan":
        return [Factor("same_kecamatan", w.same_kecamatan, a.kecamatan or "")]
    if relation == "different":
        if a.kecamatan and b.kecamatan and a.kecamatan.casefold() != b.kecamatan.casefold():
            return [
                Factor(
                    "different_kecamatan", w.different_kecamatan, f"{a.kecamatan} / {b.kecamatan}"
                )
            ]
        return [Factor("different_village", w.different_village, f"{a.village} / {b.village}")]
    return []


def _part_factors(a: PlaceParts, b: PlaceParts, w: EvidenceWeights) -> list[Factor]:
    factors: list[Factor] = []
    shared = 0.0
    for code, first, second, weight in (
        ("street", a.streets, b.streets, w.different_street),
        ("hamlet", a.hamlets, b.hamlets, w.different_hamlet),
        ("rw", a.rw, b.rw, w.different_rw),
    ):
        if not first or not second:
            continue
        if _names_overlap(first, second):
            shared += w.shared_part
        else:
            factors.append(Factor(f"different_{code}", weight, _pair(first, second)))
    # RT numbers repeat in every RW: another RT counts only where the RW does not differ.
    if a.rt and b.rt and not any(f.code == "different_rw" for f in factors):
        if set(a.rt) & set(b.rt):
            shared += w.shared_part
        else:
            factors.append(Factor("different_rt", w.different_rt, _pair(a.rt, b.rt)))
    kinds_a = _by_kind(a.landmarks)
    kinds_b = _by_kind(b.landmarks)
    for kind in kinds_a.keys() & kinds_b.keys():
        if _names_overlap(kinds_a[kind], kinds_b[kind]):
            shared += w.shared_part
        else:
            factors.append(
                Factor(
                    "different_landmark", w.different_landmark, _pair(kinds_a[kind], kinds_b[kind])
                )
            )
    if shared:
        factors.append(Factor("shared_part", min(shared, w.shared_parts_max)))
    return factors


def _by_kind(landmarks: Sequence[str]) -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = {}
    for landmark in landmarks:
        kind, _, _name = landmark.partition(" ")
        kinds.setdefault(kind, []).append(landmark)
    return kinds


def _names_overlap(first: Sequence[str], second: Sequence[str]) -> bool:
    return any(fuzz.ratio(x, y) >= 85 for x in first for y in second)


def _pair(first: Sequence[str], second: Sequence[str]) -> str:
    return f"{', '.join(first)} / {', '.join(second)}"


@lru_cache(maxsize=1)
def default_reason_texts() -> dict[str, str]:
    data = read_yaml(data_file("dedup.yaml"))
    reasons = require(data, "reasons", dict, "dedup.yaml")
    return {str(k): str(v) for k, v in reasons.items()}
