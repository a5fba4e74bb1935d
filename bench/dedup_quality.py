"""Quality of duplicate detection on generated, labelled complaint pairs.

Pairs come from `bench.corpus` (fixed seed): rewritten resends by one reporter, one problem in
two reporters' words, and hard distinct pairs (other village, other problem at the same spot,
same problem at another spot, months later). Each text goes through `normalize()`; each pair is
scored with `dedup.score()` and decided with `dedup.decide()` under the default thresholds.
"Duplicate" means either merge or cluster; precision is about not folding distinct complaints
together (a wrong merge hurts more than a missed one).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from bench.corpus import START, ComplaintFactory, LabelledPair, Report
from normalizer.dedup import DedupThresholds, DuplicateCandidate, decide, score, signature
from normalizer.location import load_gazetteer
from normalizer.pii import find_pii
from normalizer.pipeline import NormalizedComplaint, normalize
from normalizer.routing import load_agency_directory
from normalizer.text import clean_text

SECTION = "dedup-quality"
TITLE = "Duplicate detection: quality on generated labelled pairs (not real data)"
SEED = 20260302


@dataclass(frozen=True)
class Outcome:
    pair: LabelledPair
    decision: str
    text_score: float
    place: str
    shares_band_key: bool


def candidate(report: Report, normalized: NormalizedComplaint) -> DuplicateCandidate:
    place = normalized.place
    return DuplicateCandidate(
        signature=normalized.signature.text,
        kecamatan=place.kecamatan if place else None,
        village=place.village if place else None,
        reporter_id=report.reporter,
        created_at=report.created_at,
        agencies=tuple(a.code for a in normalized.agencies),
    )


def evaluate(
    pairs: Sequence[LabelledPair], thresholds: DedupThresholds | None = None
) -> list[Outcome]:
    gazetteer, directory = load_gazetteer(), load_agency_directory()
    outcomes = []
    for pair in pairs:
        first = normalize(pair.first.text, directory=directory, gazetteer=gazetteer, now=START)
        second = normalize(pair.second.text, directory=directory, gazetteer=gazetteer, now=START)
        found = score(candidate(pair.first, first), candidate(pair.second, second))
        outcomes.append(
            Outcome(
                pair=pair,
                decision=decide(found, thresholds),
                text_score=found.text,
                place=found.place,
                shares_band_key=bool(
                    set(first.signature.band_keys) & set(second.signature.band_keys)
                ),
            )
        )
    return outcomes


def metrics(outcomes: Sequence[Outcome]) -> dict[str, float]:
    is_dup = [o.pair.label != "distinct" for o in outcomes]
    said_dup = [o.decision != "distinct" for o in outcomes]
    tp = sum(a and b for a, b in zip(is_dup, said_dup, strict=True))
    fp = sum(b and not a for a, b in zip(is_dup, said_dup, strict=True))
    fn = sum(a and not b for a, b in zip(is_dup, said_dup, strict=True))
    kind_right = sum(o.decision == o.pair.label for o in outcomes if o.pair.label != "distinct")
    positives = [o for o in outcomes if o.pair.label != "distinct"]
    negatives = [o for o in outcomes if o.pair.label == "distinct"]
    return {
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "kind_accuracy": kind_right / len(positives) if positives else 1.0,
        "band_recall": sum(o.shares_band_key for o in positives) / max(1, len(positives)),
        "band_false_rate": sum(o.shares_band_key for o in negatives) / max(1, len(negatives)),
        "pairs": len(outcomes),
    }


def random_pair_band_rate(pairs: Sequence[LabelledPair]) -> float:
    """How often two unrelated complaints share a band key: the candidate load per complaint
    is about this rate times the number of open complaints the keys are looked up among."""
    keys = [set(signature(clean_text(find_pii(p.first.text).masked_text)).band_keys) for p in pairs]
    rng = random.Random(SEED)
    shuffled = keys[:]
    rng.shuffle(shuffled)
    shared = sum(bool(a & b) for a, b in zip(keys, shuffled, strict=True) if a is not b)
    return shared / max(1, len(keys))


def run(quick: bool = False) -> str:
    pairs = ComplaintFactory(load_gazetteer(), SEED).pairs(600 if quick else 3000)
    outcomes = evaluate(pairs)
    m = metrics(outcomes)
    m["band_random_rate"] = random_pair_band_rate(pairs)
    by_variety: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for o in outcomes:
        by_variety[(o.pair.label, o.pair.variety)][o.decision] += 1
    t = DedupThresholds()
    lines = [
        f"{m['pairs']} generated pairs (seed {SEED}; `bench/corpus.py`), default thresholds "
        f"(merge: same reporter, text >= {t.same_reporter_text:g}, within "
        f"{t.same_reporter_window.days} days; cluster: same village, text >= "
        f"{t.same_problem_text:g}, within {t.same_problem_window.days} days).",
        "",
        "| measure | value |",
        "|---|---|",
        f"| precision (duplicate = merge or cluster) | {m['precision']:.3f} |",
        f"| recall | {m['recall']:.3f} |",
        f"| right kind among true duplicates (merge vs cluster) | {m['kind_accuracy']:.3f} |",
        f"| MinHash band keys: true duplicates sharing a key | {m['band_recall']:.3f} |",
        f"| MinHash band keys: distinct pairs sharing a key | {m['band_false_rate']:.3f} |",
        f"| MinHash band keys: random pairs of complaints sharing a key | "
        f"{m['band_random_rate']:.3f} |",
        "",
        "| label | how the pair was made | pairs | merged | clustered | distinct |",
        "|---|---|---|---|---|---|",
    ]
    for (label, variety), counts in sorted(by_variety.items()):
        total = sum(counts.values())
        lines.append(
            f"| {label} | {variety} | {total} | {counts['same_reporter_duplicate']} | "
            f"{counts['same_problem']} | {counts['distinct']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(quick=True))
