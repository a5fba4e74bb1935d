"""Find the kecamatan and desa/kelurahan a complaint is about, from its text or a location pin.

The place names come from a gazetteer (deployment data, `config/gazetteer/<regency>.yaml`, path
given by the gateway); how names are recognised (context words, fuzzy thresholds) comes from
`config/normalizer/places.yaml`. Precision matters more than recall: many village names are
also ordinary words ("sumber", "sarang", "pacar"), so such names only match after a place word
("desa", "kec.") or together with their kecamatan; misspellings are forgiven after a place word
("kec lasm"), a little after a preposition ("di lasm"), and only for long names otherwise.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, Literal

from rapidfuzz import fuzz, process

from normalizer.resources import (
    DEFAULT_GAZETTEER_FILE,
    DataFileError,
    data_file,
    read_yaml,
    require,
    strings,
)
from normalizer.text import CleanText, clean_text, fold

KECAMATAN: Final = "kecamatan"
DESA: Final = "desa"
KELURAHAN: Final = "kelurahan"
AreaKind = Literal["kecamatan", "desa", "kelurahan"]


@dataclass(frozen=True, slots=True)
class Area:
    """One named area of the gazetteer: a kecamatan, or a desa/kelurahan inside one."""

    kind: AreaKind
    name: str
    kecamatan: str


@dataclass(frozen=True, slots=True)
class Kecamatan:
    name: str
    centroid: tuple[float, float] | None
    villages: tuple[Area, ...]


@dataclass(frozen=True, eq=False)  # identity equality: hashable, usable as a cache key
class Gazetteer:
    """The deployment's areas, indexed by their folded, space-free names."""

    regency: str
    kecamatan: tuple[Kecamatan, ...]
    needs_context: frozenset[str]
    max_pin_km: float = 25.0
    _index: Mapping[str, tuple[Area, ...]] = field(init=False, repr=False)
    _keys: tuple[str, ...] = field(init=False, repr=False)
    _by_length: Mapping[tuple[int, bool], list[str]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        index: dict[str, list[Area]] = defaultdict(list)
        for kec in self.kecamatan:
            index[_key(kec.name)].append(Area(KECAMATAN, kec.name, kec.name))
            for village in kec.villages:
                index[_key(village.name)].append(village)
        object.__setattr__(self, "_index", {k: tuple(v) for k, v in index.items()})
        object.__setattr__(self, "_keys", tuple(index))
        multiword = {_key(a.name) for kec in self.kecamatan for a in kec.villages if " " in a.name}
        by_length: dict[tuple[int, bool], list[str]] = defaultdict(list)
        for key in index:
            by_length[(len(key), key in multiword)].append(key)
        object.__setattr__(self, "_by_length", dict(by_length))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "gazetteer") -> Gazetteer:
        data = dict(data)
        kecamatan = []
        for raw in require(data, "kecamatan", list, source):
            if not isinstance(raw, dict) or "name" not in raw:
                raise DataFileError(f"{source}: every kecamatan needs a name")
            name = str(raw["name"])
            centroid = raw.get("centroid")
            if centroid is not None and (not isinstance(centroid, list) or len(centroid) != 2):
                raise DataFileError(f"{source}: centroid of {name} must be [lat, lon]")
            villages = [
                Area(KELURAHAN, v, name)
                for v in strings(raw.get("kelurahan") or [], f"{name}.kelurahan", source)
            ] + [
                Area(DESA, v, name) for v in strings(raw.get("desa") or [], f"{name}.desa", source)
            ]
            kecamatan.append(
                Kecamatan(
                    name=name,
                    centroid=(float(centroid[0]), float(centroid[1])) if centroid else None,
                    villages=tuple(villages),
                )
            )
        return cls(
            regency=str(data.get("regency", "")),
            kecamatan=tuple(kecamatan),
            needs_context=frozenset(
                _key(n) for n in strings(data.get("needs_context", []), "needs_context", source)
            ),
            max_pin_km=float(data.get("max_pin_km", 25.0)),
        )

    def areas(self, key: str) -> tuple[Area, ...]:
        return self._index.get(key, ())

    def names_between(self, low: int, high: int, multiword: bool) -> list[str]:
        """Indexed names with a length in [low, high], single- or multi-word ones."""
        return [
            key
            for length in range(max(low, 1), high + 1)
            for key in self._by_length.get((length, multiword), ())
        ]

    @property
    def keys(self) -> Sequence[str]:
        """Every indexed name (folded, no spaces): the choices for fuzzy matching."""
        return self._keys


def load_gazetteer(path: Path | str | None = None) -> Gazetteer:
    """Read a gazetteer file (the gateway passes the path from its settings)."""
    path = Path(path) if path else DEFAULT_GAZETTEER_FILE
    return Gazetteer.from_mapping(read_yaml(path), str(path))


@dataclass(frozen=True)
class PlaceRules:
    """How names are recognised (see `config/normalizer/places.yaml`)."""

    village_words: frozenset[str]
    kecamatan_words: frozenset[str]
    weak_words: frozenset[str]
    landmark_words: frozenset[str]
    strong_threshold: float
    weak_threshold: float
    bare_threshold: float
    bare_min_length: int
    min_length: int
    hamlet_words: frozenset[str] = frozenset()
    landmark_nouns: frozenset[str] = frozenset()
    landmark_stop: frozenset[str] = frozenset()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "place rules") -> PlaceRules:
        data = dict(data)
        thresholds = require(data, "thresholds", dict, source)
        return cls(
            village_words=frozenset(
                fold(w) for w in strings(data.get("village_words"), "village_words", source)
            ),
            kecamatan_words=frozenset(
                fold(w) for w in strings(data.get("kecamatan_words"), "kecamatan_words", source)
            ),
            weak_words=frozenset(
                fold(w) for w in strings(data.get("weak_words"), "weak_words", source)
            ),
            landmark_words=frozenset(
                fold(w) for w in strings(data.get("landmark_words", []), "landmark_words", source)
            ),
            strong_threshold=float(thresholds["strong"]),
            weak_threshold=float(thresholds["weak"]),
            bare_threshold=float(thresholds["bare"]),
            bare_min_length=int(data.get("bare_min_length", 8)),
            min_length=int(data.get("min_length", 4)),
            hamlet_words=frozenset(
                fold(w) for w in strings(data.get("hamlet_words", []), "hamlet_words", source)
            ),
            landmark_nouns=frozenset(
                fold(w) for w in strings(data.get("landmark_nouns", []), "landmark_nouns", source)
            ),
            landmark_stop=frozenset(
                fold(w) for w in strings(data.get("landmark_stop", []), "landmark_stop", source)
            ),
        )


def load_place_rules(path: Path | str | None = None) -> PlaceRules:
    path = Path(path) if path else data_file("places.yaml")
    return PlaceRules.from_mapping(read_yaml(path), str(path))


@lru_cache(maxsize=1)
def default_place_rules() -> PlaceRules:
    return load_place_rules()


@dataclass(frozen=True, slots=True)
class PlaceMatch:
    """Where a complaint is: the kecamatan, the desa/kelurahan when known, and how sure we are.

    `candidates` lists the kecamatan a village name could belong to when the text does not say
    which (several kecamatan have a "Sendangmulyo"); `kecamatan` is then None.
    """

    kecamatan: str | None
    village: str | None
    village_kind: Literal["desa", "kelurahan"] | None
    score: float
    source: Literal["text", "pin"]
    matched_text: str = ""
    candidates: tuple[str, ...] = ()
    distance_km: float | None = None


@dataclass(frozen=True, slots=True)
class _Hit:
    areas: tuple[Area, ...]
    score: float
    strong: bool
    position: int
    text: str
    after_place_word: bool
    after_village_word: bool


def find_places(
    text: str | CleanText, gazetteer: Gazetteer, rules: PlaceRules | None = None
) -> PlaceMatch | None:
    """The place named in the text, or None when no name is found with enough confidence."""
    rules = rules or default_place_rules()
    tokens = text.tokens if isinstance(text, CleanText) else clean_text(text).tokens
    hits = _hits(tokens, gazetteer, rules)
    if not hits:
        return None
    kecamatan_hits = [h for h in hits if any(a.kind == KECAMATAN for a in h.areas)]
    best: tuple[tuple[bool, bool, float], PlaceMatch] | None = None
    for hit in hits:
        villages = [a for a in hit.areas if a.kind != KECAMATAN]
        if not villages:
            continue
        if len(villages) < len(hit.areas) and not hit.after_village_word:
            continue  # "Kaliori" alone is the kecamatan, not its desa of the same name
        # Another mention of a kecamatan (not this same word) backs the village up.
        named_kecamatan = {
            a.name
            for h in kecamatan_hits
            if h.position != hit.position
            for a in h.areas
            if a.kind == KECAMATAN
        }
        in_named = [v for v in villages if v.kecamatan in named_kecamatan]
        if in_named:
            villages = in_named
        elif not hit.strong:
            continue  # an ordinary-looking word, and nothing else in the text backs it up
        kecamatan_of = sorted({v.kecamatan for v in villages})
        village = villages[0]
        score = hit.score if not in_named else min(100.0, hit.score + 5)
        match = PlaceMatch(
            kecamatan=kecamatan_of[0] if len(kecamatan_of) == 1 else None,
            village=village.name,
            village_kind=village.kind,  # type: ignore[arg-type]
            score=score,
            source="text",
            matched_text=hit.text,
            candidates=tuple(kecamatan_of) if len(kecamatan_of) > 1 else (),
        )
        # "makam Karangturi di desa Criwik": the name after "desa" is the place; a bare one
        # may be a landmark named after another village.
        rank = (match.kecamatan is not None, hit.after_place_word, match.score)
        if best is None or rank > best[0]:
            best = (rank, match)
    if best is not None:
        return best[1]
    for hit in sorted(kecamatan_hits, key=lambda h: (-h.score, h.position)):
        names = [a.name for a in hit.areas if a.kind == KECAMATAN]
        if hit.strong:
            return PlaceMatch(names[0], None, None, hit.score, "text", hit.text)
    return None


def place_from_pin(lat: float, lon: float, gazetteer: Gazetteer) -> PlaceMatch | None:
    """The kecamatan whose centroid is nearest to a location pin, if it is inside the regency."""
    if not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180:
        return None
    nearest: tuple[float, str] | None = None
    for kec in gazetteer.kecamatan:
        if kec.centroid is None:
            continue
        distance = haversine_km(lat, lon, *kec.centroid)
        if nearest is None or distance < nearest[0]:
            nearest = (distance, kec.name)
    if nearest is None or nearest[0] > gazetteer.max_pin_km:
        return None
    distance, name = nearest
    score = round(100.0 * max(0.0, 1.0 - distance / gazetteer.max_pin_km), 1)
    return PlaceMatch(name, None, None, score, "pin", distance_km=round(distance, 2))


def locate(
    text: str | CleanText,
    gazetteer: Gazetteer,
    *,
    lat: float | None = None,
    lon: float | None = None,
    rules: PlaceRules | None = None,
) -> PlaceMatch | None:
    """The place from the text; failing that, from the pin (the pin's coordinates are kept by
    the caller either way)."""
    found = find_places(text, gazetteer, rules)
    if found is None and lat is not None and lon is not None:
        return place_from_pin(lat, lon, gazetteer)
    return found


def _hits(tokens: Sequence[str], gazetteer: Gazetteer, rules: PlaceRules) -> list[_Hit]:
    hits: list[_Hit] = []
    covered_until = 0
    context_words = rules.village_words | rules.kecamatan_words | rules.weak_words
    for i, token in enumerate(tokens):
        if i < covered_until or token in context_words or token.isdigit():
            continue
        before = tokens[i - 1] if i > 0 else ""
        if before in rules.hamlet_words:
            continue  # "dusun Krajan": a hamlet (a part of the place), never a desa or kecamatan
        village_word = before in rules.village_words
        # "Puskesmas Sarang": a facility named after its kecamatan.
        kecamatan_word = before in rules.kecamatan_words or before in rules.landmark_words
        strong = village_word or kecamatan_word
        weak = before in rules.weak_words
        found: tuple[tuple[Area, ...], float, bool] | None = None
        width = 1
        for width in (3, 2, 1):
            words = tokens[i : i + width]
            if len(words) == width and not any(w.isdigit() for w in words):
                found = _exact("".join(words), gazetteer, strong, kecamatan_word, village_word)
                if found is not None:
                    break
        if found is not None and i + width < len(tokens) and not tokens[i + width].isdigit():
            # "Kediri Sealtan": the exact "Kediri" followed by a misspelt "Selatan" is the
            # longer name that starts with it (a desa and its Selatan/Barat/... sibling).
            longer = _fuzzy(
                "".join(tokens[i : i + width + 1]),
                gazetteer,
                rules,
                strong,
                weak,
                kecamatan_word,
                village_word,
                multiword=True,
            )
            exact_key = "".join(tokens[i : i + width])
            if longer is not None and any(
                _key(a.name).startswith(exact_key) and len(_key(a.name)) > len(exact_key)
                for a in longer[0]
            ):
                found, width = longer, width + 1
        if found is None:
            width = 1
            found = _fuzzy(token, gazetteer, rules, strong, weak, kecamatan_word, village_word)
            if i + 1 < len(tokens) and not tokens[i + 1].isdigit():
                # Two words misspelt together ("dresi kulonn") are matched as one name.
                pair = _fuzzy(
                    token + tokens[i + 1],
                    gazetteer,
                    rules,
                    strong,
                    weak,
                    kecamatan_word,
                    village_word,
                    multiword=True,
                )
                if pair is not None and (found is None or pair[1] > found[1]):
                    found, width = pair, 2
        if found is not None:
            areas, score, sure = found
            words = " ".join(tokens[i : i + width])
            hits.append(
                _Hit(areas, score, sure, i, words, village_word or kecamatan_word, village_word)
            )
            covered_until = i + width
    return hits


def _exact(
    key: str, gazetteer: Gazetteer, strong: bool, kecamatan_word: bool, village_word: bool
) -> tuple[tuple[Area, ...], float, bool] | None:
    areas = _prefer(gazetteer.areas(key), kecamatan_word, village_word)
    if not areas:
        return None
    sure = strong or key not in gazetteer.needs_context
    return areas, 100.0, sure


def _fuzzy(
    key: str,
    gazetteer: Gazetteer,
    rules: PlaceRules,
    strong: bool,
    weak: bool,
    kecamatan_word: bool,
    village_word: bool,
    *,
    multiword: bool = False,
) -> tuple[tuple[Area, ...], float, bool] | None:
    if len(key) < rules.min_length:
        return None
    if strong:
        cutoff = rules.strong_threshold
    elif weak:
        cutoff = rules.weak_threshold
    elif len(key) >= rules.bare_min_length:
        cutoff = rules.bare_threshold
    else:
        return None
    found = _closest_name(gazetteer, key, cutoff, multiword)
    if found is None:
        return None
    name, score = found
    if not strong and name in gazetteer.needs_context:
        return None  # a misspelt ordinary word is far likelier than a misspelt place
    areas = _prefer(gazetteer.areas(name), kecamatan_word, village_word)
    return (areas, score, True) if areas else None


@lru_cache(maxsize=65536)
def _closest_name(
    gazetteer: Gazetteer, key: str, cutoff: float, multiword: bool
) -> tuple[str, float] | None:
    """The closest gazetteer name by rapidfuzz `ratio`; cached, words repeat across complaints.

    Only names of a length that could reach the cutoff are compared: ratio is at most
    2*min(len)/(len_a+len_b), so that pruning loses nothing.
    """
    low = math.ceil(len(key) * cutoff / (200 - cutoff))
    high = math.floor(len(key) * (200 - cutoff) / cutoff)
    choices = gazetteer.names_between(low, high, multiword)
    found = process.extractOne(key, choices, scorer=fuzz.ratio, score_cutoff=cutoff)
    return (found[0], float(found[1])) if found else None


def _prefer(areas: Iterable[Area], kecamatan_word: bool, village_word: bool) -> tuple[Area, ...]:
    """After "kecamatan" keep kecamatan entries; after "desa" keep villages (when there are)."""
    areas = tuple(areas)
    if kecamatan_word:
        chosen = tuple(a for a in areas if a.kind == KECAMATAN)
        return chosen or areas
    if village_word:
        chosen = tuple(a for a in areas if a.kind != KECAMATAN)
        return chosen or areas
    return areas


def _key(name: str) -> str:
    return fold(name).replace(" ", "")


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    radius = 6371.0
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = math.radians(lat2 - lat1)
    d_lambda = math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * radius * math.asin(math.sqrt(a))


# --- parts of a place below the village: street, hamlet, RT/RW, landmark ----------------------

_STREET = re.compile(
    r"\b(?:[Jj]alan|JALAN|[Gg]ang|GANG)\s+((?:[A-Z][\w'’.-]*|\d{1,3}[A-Za-z]?)"
    r"(?:\s+(?:[A-Z][\w'’.-]*|\d{1,3}[A-Za-z]?|No\.?|Raya|raya)){0,3})"
)
# Abbreviated street words in the ORIGINAL text mark a street even in lower case ("jl. pemuda").
_STREET_ABBREVIATED = re.compile(r"(?i)\b(?:jl|jln|gg)\b\.?\s*([a-z][\w'’-]{2,}|\d{1,3}[a-z]?)")
_HAMLET = re.compile(
    r"(?i)\b(?:dusun|dsn|dukuh|dkh|dk|kampung|kp)\b\.?\s+([^\W\d_][\w'’-]+)"
    r"(?:\s+(kulon|wetan|lor|kidul|tengah|utara|selatan|timur|barat|baru|krajan))?"
)
_RT = re.compile(r"\bRT (\d{2})\b")
_RW = re.compile(r"\bRW (\d{2})\b")


@dataclass(frozen=True, slots=True)
class PlaceParts:
    """What narrows a place down inside a village, folded for comparison.

    Two complaints with different parts (another street, another dusun, another RT, another
    school of the same kind) are about different spots even in one village: duplicate detection
    counts a difference against a merge or cluster.
    """

    streets: tuple[str, ...] = ()
    hamlets: tuple[str, ...] = ()
    rt: tuple[str, ...] = ()
    rw: tuple[str, ...] = ()
    landmarks: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.streets or self.hamlets or self.rt or self.rw or self.landmarks)

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "streets": list(self.streets),
            "hamlets": list(self.hamlets),
            "rt": list(self.rt),
            "rw": list(self.rw),
            "landmarks": list(self.landmarks),
        }


def place_parts(text: str | CleanText, rules: PlaceRules | None = None) -> PlaceParts:
    """Streets (Jl./Jln./Gg./Gang), dusun/dukuh, RT/RW and landmarks ("depan SD 1", "dekat
    masjid Al Ikhlas") named in a complaint."""
    rules = rules or default_place_rules()
    clean = text if isinstance(text, CleanText) else clean_text(text)
    display = clean.text
    streets: list[str] = []
    for match in _STREET.finditer(display):
        streets.append(_part_key(match.group(1)))
    for match in _STREET_ABBREVIATED.finditer(clean.original):
        streets.append(_part_key(match.group(1)))
    hamlets = [
        _part_key(" ".join(g for g in match.groups() if g)) for match in _HAMLET.finditer(display)
    ]
    landmarks = _landmarks(clean.tokens, rules)
    return PlaceParts(
        streets=_unique(s for s in streets if s and s not in rules.landmark_stop),
        hamlets=_unique(h for h in hamlets if h and h.split()[0] not in rules.landmark_stop),
        rt=_unique(_RT.findall(display)),
        rw=_unique(_RW.findall(display)),
        landmarks=_unique(landmarks),
    )


def _landmarks(tokens: Sequence[str], rules: PlaceRules) -> list[str]:
    """A landmark noun ("sd", "masjid") and the 1-3 words naming it ("sd 1", "masjid al
    ikhlas"); a bare noun names no particular landmark."""
    found = []
    for i, token in enumerate(tokens):
        if token not in rules.landmark_nouns:
            continue
        name: list[str] = []
        for word in tokens[i + 1 : i + 4]:
            if word in rules.landmark_stop or word in rules.landmark_nouns:
                break
            name.append(word)
            if word.isdigit():
                break  # "sd 1": the number ends the name
        if name:
            found.append(f"{token} {' '.join(name)}")
    return found


def _part_key(text: str) -> str:
    words = fold(text).split()
    return " ".join(w.lstrip("0") or "0" if w.isdigit() else w for w in words)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))
