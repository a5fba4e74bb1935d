"""Build a deployment's gazetteer from the official region table, for any kabupaten/kota.

The region table is Kemendagri's code list (Kepmendagri 300.2.2-2L38/2025) as published in the
`idn-area-data` package (data: Open Database License 1.0, see `config/regions/DATA.md`), shipped
in `config/regions/`: provinces, regencies, districts (kecamatan) and villages (desa/kelurahan;
a village code whose fourth part starts with 1 is a kelurahan, with 2 a desa).

`build("Kabupaten Rembang")` (or `build("33.17")`) returns the text of a gazetteer file in the
format `normalizer.location.load_gazetteer()` reads. Names that need context before they count
as a place are found from data, not typed by hand:

- names shared by villages in at least `common_min_regencies` regencies anywhere in Indonesia
  (Krajan, Kauman, Ngemplak, Sidomulyo...): a bare "Kauman" says little about where;
- names that are ordinary Indonesian words (the standard forms of the colloquial lexicon:
  "sumber", "sarang", "pacar");
- the regency's own name.

The table has no coordinates; kecamatan centroids (for location pins) come from an optional
CSV (`code` or kecamatan name, `latitude`, `longitude`).
"""

from __future__ import annotations

import csv
import gzip
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from normalizer.resources import CONFIG_DIR
from normalizer.text import fold

REGIONS_DIR = CONFIG_DIR / "regions"
SOURCE = "Kemendagri region codes (Kepmendagri 300.2.2-2L38/2025) via idn-area-data 4.0.1, ODbL 1.0"


@dataclass(frozen=True, slots=True)
class Village:
    code: str
    name: str

    @property
    def kind(self) -> str:
        return "kelurahan" if self.code.rsplit(".", 1)[-1].startswith("1") else "desa"


@dataclass(frozen=True, slots=True)
class District:
    code: str
    name: str
    villages: tuple[Village, ...]


@dataclass(frozen=True, slots=True)
class Regency:
    code: str
    name: str
    province: str
    districts: tuple[District, ...]


@dataclass(frozen=True)
class Regions:
    """The whole region table: regencies with their kecamatan and villages."""

    regencies: Mapping[str, Regency]
    # folded village name -> codes of the regencies that have a village of that name
    name_regencies: Mapping[str, frozenset[str]] = field(repr=False)


@lru_cache(maxsize=2)
def load_regions(directory: Path | str = REGIONS_DIR) -> Regions:
    directory = Path(directory)
    provinces = {r["code"]: r["name"] for r in _rows(directory / "provinces.csv")}
    villages: dict[str, list[Village]] = defaultdict(list)
    names: dict[str, set[str]] = defaultdict(set)
    for row in _rows(directory / "villages.csv.gz"):
        villages[row["district_code"]].append(Village(row["code"], row["name"]))
        names[_key(row["name"])].add(row["district_code"][:5])
    districts: dict[str, list[District]] = defaultdict(list)
    for row in _rows(directory / "districts.csv"):
        districts[row["regency_code"]].append(
            District(row["code"], row["name"], tuple(villages.get(row["code"], ())))
        )
    regencies = {
        row["code"]: Regency(
            row["code"],
            _title(row["name"]),
            _title(provinces.get(row["province_code"], "")),
            tuple(districts.get(row["code"], ())),
        )
        for row in _rows(directory / "regencies.csv")
    }
    return Regions(regencies, {k: frozenset(v) for k, v in names.items()})


def find_regency(query: str, regions: Regions | None = None) -> Regency:
    """A regency by code ("33.17", "3317") or name ("Kabupaten Rembang", "Kab. Rembang",
    "Kota Semarang", "Rembang" when only one regency has that name)."""
    regions = regions or load_regions()
    wanted = query.strip()
    digits = wanted.replace(".", "")
    if digits.isdigit() and len(digits) == 4:
        code = f"{digits[:2]}.{digits[2:]}"
        if code in regions.regencies:
            return regions.regencies[code]
        raise LookupError(f"no regency with code {code}")
    folded = fold(wanted.replace("Kab.", "Kabupaten ").replace("kab.", "kabupaten "))
    exact = [r for r in regions.regencies.values() if fold(r.name) == folded]
    if exact:
        return exact[0]
    bare = [r for r in regions.regencies.values() if _bare(r.name) == folded]
    if len(bare) == 1:
        return bare[0]
    if len(bare) > 1:
        options = ", ".join(f"{r.name} ({r.code})" for r in bare)
        raise LookupError(f"'{query}' is ambiguous: {options}")
    raise LookupError(f"no regency named '{query}'")


def build(
    query: str,
    *,
    regions: Regions | None = None,
    centroids: Mapping[str, tuple[float, float]] | None = None,
    ordinary_words: Iterable[str] | None = None,
    common_min_regencies: int = 5,
    max_pin_km: float = 25.0,
    extra_needs_context: Iterable[str] = (),
) -> str:
    """The gazetteer file text (YAML) for one kabupaten/kota."""
    regions = regions or load_regions()
    regency = find_regency(query, regions)
    words = set(ordinary_words) if ordinary_words is not None else _ordinary_words()
    centroids = {k.lower(): v for k, v in (centroids or {}).items()}
    needs_context: set[str] = {_bare(regency.name).title()}
    extra = {_key(n) for n in extra_needs_context}
    kecamatan = []
    for district in regency.districts:
        entry: dict[str, object] = {"name": district.name, "code": district.code}
        centroid = centroids.get(district.code.lower()) or centroids.get(district.name.lower())
        if centroid is not None:
            entry["centroid"] = [round(centroid[0], 5), round(centroid[1], 5)]
        entry["kelurahan"] = sorted(v.name for v in district.villages if v.kind == "kelurahan")
        entry["desa"] = sorted(v.name for v in district.villages if v.kind == "desa")
        kecamatan.append(entry)
        for name in [district.name, *(v.name for v in district.villages)]:
            key = _key(name)
            # A kecamatan of this regency named in a complaint is good evidence even if villages
            # elsewhere share its name; a village name shared all over Indonesia is not.
            shared = len(regions.name_regencies.get(key, ())) >= common_min_regencies
            common = shared and name != district.name
            ordinary = fold(name) in words or key in extra
            if common or ordinary:
                needs_context.add(name)
    header = (
        f"# Gazetteer of {regency.name} ({regency.province}), code {regency.code}.\n"
        f"# GENERATED by `lapor-gateway gazetteer --regency` (normalizer.gazetteer_build) from\n"
        f"# {SOURCE}.\n"
        "# Do not edit by hand: regenerate. needs_context lists names shared by villages in at\n"
        f"# least {common_min_regencies} regencies, names that are ordinary words, and the "
        "regency's own name.\n"
        f"# Centroids: {'given for ' + str(len(centroids)) if centroids else 'none'} "
        "(the region table has no coordinates).\n"
    )
    body = {
        "regency": _bare(regency.name).title(),
        "code": regency.code,
        "source": SOURCE,
        "max_pin_km": max_pin_km,
        "needs_context": sorted(needs_context),
        "kecamatan": kecamatan,
    }
    return header + yaml.safe_dump(body, allow_unicode=True, sort_keys=False, width=100)


def read_centroids(path: Path | str) -> dict[str, tuple[float, float]]:
    """Centroids from a CSV with `code` (kecamatan code or name), `latitude`, `longitude`;
    lines starting with # are comments."""
    lines = [
        line
        for line in Path(path).read_text(encoding="utf-8").splitlines()
        if not line.startswith("#")
    ]
    return {
        row["code"].strip(): (float(row["latitude"]), float(row["longitude"]))
        for row in csv.DictReader(lines)
    }


def read_names(path: Path | str) -> list[str]:
    """Names from a text file, one a line; lines starting with # are comments."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _ordinary_words() -> set[str]:
    from normalizer.text import default_lexicon

    lexicon = default_lexicon()
    standard = {w for value in lexicon.colloquial.values() for w in value.split()}
    return standard | set(lexicon.stopwords)


def _rows(path: Path) -> Iterable[dict[str, str]]:
    if path.suffix == ".gz":
        with gzip.open(path, "rb") as handle:
            yield from csv.DictReader(io.TextIOWrapper(handle, encoding="utf-8"))
        return
    with path.open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


def _title(name: str) -> str:
    return " ".join(
        w if w.isupper() and len(w) <= 3 and w in {"DKI", "DI"} else w.capitalize()
        for w in name.split()
    )


def _bare(name: str) -> str:
    folded = fold(name)
    for prefix in ("kabupaten ", "kota "):
        if folded.startswith(prefix):
            return folded[len(prefix) :]
    return folded


def _key(name: str) -> str:
    return fold(name).replace(" ", "")
