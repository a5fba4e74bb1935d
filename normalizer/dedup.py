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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from rapidfuzz import fuzz, process

from normalizer.text import CleanText, Lexicon, clean_text, default_lexicon

SAME_REPORTER_DUPLICATE = "same_reporter_duplicate"
SAME_PROBLEM = "same_problem"
DISTINCT = "distinct"
Decision = Literal["same_reporter_duplicate", "same_problem", "distinct"]
PlaceRelation = Literal["same_village", "same_kecamatan", "different", "unknown"]
TopicRelation = Literal["same", "different", "unknown"]

SIGNATURE_MAX_WORDS = 32
FUZZY_WORD_CUTOFF = 80
MINHASH_BINS = 32
MINHASH_ROWS = (
    2  # bins per band: 16 bands of 2 -> a pair with Jaccard 0.4 shares a key 94% of the time
)
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
    `"<band>:<hex>"`; two complaints sharing any key are candidates.
    """
    shingles = _shingles(signature_text)
    if not shingles:
        return ()
    bins: list[int | None] = [None] * MINHASH_BINS
    for shingle in shingles:
        hashed = zlib.crc32(shingle.encode("utf-8"))
        slot, value = hashed % MINHASH_BINS, hashed // MINHASH_BINS
        current = bins[slot]
        if current is None or value < current:
            bins[slot] = value
    filled = _densify(bins)
    keys = []
    for band in range(MINHASH_BINS // MINHASH_ROWS):
        rows = filled[band * MINHASH_ROWS : (band + 1) * MINHASH_ROWS]
        digest = zlib.crc32(",".join(map(str, rows)).encode("ascii"))
        keys.append(f"{band}:{digest:08x}")
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
    shingles = set()
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
