"""Finding the kecamatan and desa/kelurahan from text and from location pins."""

from __future__ import annotations

import pytest

from normalizer.location import Gazetteer, find_places, load_gazetteer, locate, place_from_pin
from normalizer.resources import DEFAULT_GAZETTEER_FILE

FOUND = [
    # (label, text, expected kecamatan, expected village)
    ("kecamatan abbreviated", "jalan rusak di kec. lasem", "Lasem", None),
    ("desa abbreviated", "ds sumbergirang banjir", "Lasem", "Sumbergirang"),
    ("kelurahan abbreviated", "kel. leteh gelap", "Rembang", "Leteh"),
    ("typo after a preposition", "jalan di lasm rusak", "Lasem", None),
    ("typo after kec", "kec lasm", "Lasem", None),
    ("typo in a long name, no context", "jalan sumbrgirang rusak", "Lasem", "Sumbergirang"),
    ("two-word name", "banjir di Dresi Kulon", "Kaliori", "Dresi Kulon"),
    ("two-word name written as one", "banjir di dresikulon", "Kaliori", "Dresi Kulon"),
    ("two-word name misspelt", "desa dresi kulonn", "Kaliori", "Dresi Kulon"),
    ("village and kecamatan", "kelurahan Leteh kecamatan Rembang", "Rembang", "Leteh"),
    (
        "shared name resolved by kecamatan",
        "desa Sendangmulyo kec. Sarang",
        "Sarang",
        "Sendangmulyo",
    ),
    ("ordinary word after desa", "desa Pacar kebanjiran", "Rembang", "Pacar"),
    (
        "ordinary-word desa backed by its kecamatan",
        "banjir di Joho, kec. Pamotan",
        "Pamotan",
        "Joho",
    ),
    ("a name of both is the kecamatan", "jalan Pantura Kaliori gelap", "Kaliori", None),
    ("facility named after its kecamatan", "Puskesmas Sarang lambat", "Sarang", None),
    ("unique name without context", "Tasikagung dekat pantai", "Rembang", "Tasikagung"),
    ("kecamatan in passing", "pasar Lasem macet", "Lasem", None),
]


@pytest.mark.parametrize(
    ("label", "text", "kecamatan", "village"), FOUND, ids=[c[0] for c in FOUND]
)
def test_places_found(
    gazetteer: Gazetteer, label: str, text: str, kecamatan: str, village: str | None
) -> None:
    match = find_places(text, gazetteer)
    assert match is not None
    assert (match.kecamatan, match.village) == (kecamatan, village)
    assert match.source == "text"


NOT_FOUND = [
    ("a nest is not kecamatan Sarang", "sarang burung walet di atap"),
    ("a sedan is not kecamatan Sedan", "mobil sedan merah parkir di depan pasar"),
    ("a girlfriend is not kelurahan Pacar", "pacar saya belum dapat KTP"),
    ("the regency is not kecamatan Rembang", "Pemerintah Kabupaten Rembang kurang tanggap"),
    ("a feather is not kecamatan Bulu", "bulu ayam berserakan"),
    ("nothing", "jalan rusak parah"),
    ("empty", ""),
]


@pytest.mark.parametrize(("label", "text"), NOT_FOUND, ids=[c[0] for c in NOT_FOUND])
def test_ordinary_words_are_not_places(gazetteer: Gazetteer, label: str, text: str) -> None:
    assert find_places(text, gazetteer) is None


def test_ambiguous_village_lists_its_kecamatan(gazetteer: Gazetteer) -> None:
    # Sendangmulyo is a desa in five of Rembang's kecamatan (and all over Java): it needs "desa".
    assert find_places("banjir di Sendangmulyo", gazetteer) is None
    match = find_places("banjir di desa Sendangmulyo", gazetteer)
    assert match is not None
    assert match.village == "Sendangmulyo"
    assert match.kecamatan is None
    assert set(match.candidates) == {"Bulu", "Gunem", "Sarang", "Kragan", "Sluke"}


def test_pin_picks_the_nearest_kecamatan(gazetteer: Gazetteer) -> None:
    near_lasem = place_from_pin(-6.70, 111.44, gazetteer)
    assert near_lasem is not None
    assert near_lasem.kecamatan == "Lasem"
    assert near_lasem.source == "pin"
    assert near_lasem.distance_km is not None and near_lasem.distance_km < 5
    assert place_from_pin(-7.80, 110.36, gazetteer) is None  # Yogyakarta: outside the regency
    assert place_from_pin(float("nan"), 111.4, gazetteer) is None


def test_text_wins_over_pin_and_pin_fills_in(gazetteer: Gazetteer) -> None:
    by_text = locate("banjir di kel. Leteh", gazetteer, lat=-6.70, lon=111.44)
    assert by_text is not None and by_text.kecamatan == "Rembang"
    by_pin = locate("banjir di sini", gazetteer, lat=-6.70, lon=111.44)
    assert by_pin is not None and (by_pin.kecamatan, by_pin.source) == ("Lasem", "pin")


def test_gazetteer_path_is_configurable(tmp_path) -> None:
    own = tmp_path / "kota.yaml"
    own.write_text(
        "regency: Contoh\nneeds_context: []\nkecamatan:\n"
        "  - name: Timur\n    centroid: [-6.9, 110.4]\n    kelurahan: [Mawar]\n    desa: []\n",
        encoding="utf-8",
    )
    custom = load_gazetteer(own)
    match = find_places("banjir di kelurahan Mawar", custom)
    assert match is not None and (match.kecamatan, match.village_kind) == ("Timur", "kelurahan")
    assert find_places("banjir di kelurahan Mawar", load_gazetteer(DEFAULT_GAZETTEER_FILE)) is None


def test_demo_gazetteer_has_the_fourteen_kecamatan(gazetteer: Gazetteer) -> None:
    names = {k.name for k in gazetteer.kecamatan}
    assert names == {
        "Bulu",
        "Gunem",
        "Kaliori",
        "Kragan",
        "Lasem",
        "Pamotan",
        "Pancur",
        "Rembang",
        "Sale",
        "Sarang",
        "Sedan",
        "Sluke",
        "Sulang",
        "Sumber",
    }
    assert all(k.centroid is not None and len(k.villages) >= 10 for k in gazetteer.kecamatan)


SIBLINGS = Gazetteer.from_mapping(
    {
        "regency": "Lombok Barat",
        "needs_context": [],
        "kecamatan": [
            {"name": "Kediri", "desa": ["Kediri", "Kediri Selatan", "Banyumulek"]},
            {"name": "Sekotong", "desa": ["Sekotong Barat", "Sekotong Tengah"]},
        ],
    }
)


@pytest.mark.parametrize(
    ("text", "village"),
    [
        # Real names of Lombok Barat (the region table), the direction word misspelt: the exact
        # "Kediri" must not win over the longer name it starts (bench quality-real, places).
        ("warga desa Kediri Sealtan kec. Kediri mengeluh air mati", "Kediri Selatan"),
        ("banjir di ds Sekotong Barrat", "Sekotong Barat"),
        # ... and a desa followed by an ordinary word stays itself.
        ("warga desa Kediri mengeluh air mati", "Kediri"),
        ("desa Kediri selatan jalan rusak", "Kediri Selatan"),
    ],
)
def test_a_misspelt_direction_word_reads_the_longer_sibling(text: str, village: str) -> None:
    match = find_places(text, SIBLINGS)
    assert match is not None and match.village == village
