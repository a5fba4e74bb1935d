"""Agency suggestions: directory keywords and a model learned from past dispositions."""

from __future__ import annotations

import pytest

from normalizer.routing import Agency, AgencyDirectory, AgencyRouter

KEYWORDS = [
    ("road", "Jalan berlubang di kec lasem", "DPUPR"),
    ("street light beats road", "Lampu jalan mati di desa Leteh", "DINPERKIM"),
    ("garbage truck beats truck", "Sampah menumpuk tidak diangkut truk sampah", "DLH"),
    ("misspelt keyword", "Pukesmas Lasem antri lama, dokter tidak ada", "DINKES"),
    ("suffix -nya", "jalannya rusak parah", "DPUPR"),
    ("SMS abbreviation expanded first", "jln rusak bgt", "DPUPR"),
    ("id card", "KTP saya belum jadi sudah 3 bulan", "DINDUKCAPIL"),
    ("water company", "Air PDAM keruh sejak kemarin", "PDAM"),
]


@pytest.mark.parametrize(("label", "text", "code"), KEYWORDS, ids=[k[0] for k in KEYWORDS])
def test_keyword_routing(directory: AgencyDirectory, label: str, text: str, code: str) -> None:
    suggestions = AgencyRouter(directory).suggest(text)
    assert suggestions[0].code == code
    assert suggestions[0].reason.startswith("Kata kunci")
    assert len(suggestions) <= 3


def test_nothing_points_anywhere(directory: AgencyDirectory) -> None:
    assert AgencyRouter(directory).suggest("selamat pagi, terima kasih") == []


def test_the_word_every_complaint_uses_routes_nothing(directory: AgencyDirectory) -> None:
    # "lapor" is a DINKOMINFO keyword, but every complaint says it.
    assert AgencyRouter(directory).suggest("saya mau lapor") == []


def test_oversight_class_points_at_the_inspectorate(directory: AgencyDirectory) -> None:
    text = "Guru honorer dimintai uang agar diusulkan jadi PPPK"
    plain = AgencyRouter(directory).suggest(text)
    hinted = AgencyRouter(directory).suggest(text, class_hint="pengaduan_berkadar_pengawasan")
    assert "INSPEKTORAT" not in [s.code for s in plain]
    assert hinted[0].code == "INSPEKTORAT"
    assert "pengawasan" in hinted[0].reason


# Complaints about stray animals: no agency in the demo directory has a keyword for them.
DISPOSED_STRAY_ANIMALS = [
    ("anjing liar berkeliaran dan menggigit warga", "DINTANPAN"),
    ("banyak anjing liar di pasar, takut rabies", "DINTANPAN"),
    ("kucing dan anjing liar membuat resah warga", "DINTANPAN"),
    ("tetangga memelihara anjing yang sering lepas dan menggigit", "DINTANPAN"),
    ("mohon vaksin rabies untuk anjing kampung", "DINTANPAN"),
]
DISPOSED_OTHERS = [
    ("jalan rusak berlubang di desa", "DPUPR"),
    ("sampah menumpuk di pinggir sungai", "DLH"),
    ("ktp belum jadi berbulan-bulan", "DINDUKCAPIL"),
]


def test_training_on_dispositions_changes_suggestions_without_keywords(
    directory: AgencyDirectory,
) -> None:
    text = "Anjing-anjing liar berkeliaran di depan balai desa, anak-anak takut digigit"
    untrained = AgencyRouter(directory)
    assert untrained.suggest(text) == []
    trained = untrained.train(DISPOSED_STRAY_ANIMALS + DISPOSED_OTHERS)
    suggestions = trained.suggest(text)
    assert suggestions[0].code == "DINTANPAN"
    assert "disposisi" in suggestions[0].reason
    assert trained.trained_on == 8
    assert untrained.trained_on == 0  # training returns a new router


def test_many_dispositions_outweigh_a_misleading_keyword(directory: AgencyDirectory) -> None:
    # "jalan" (DPUPR) appears in addresses; admins keep sending leaking pipes to PDAM.
    text = "Pipa pecah di jalan Gajah Mada, air terbuang sejak pagi"
    history = [
        (f"pipa pecah di jalan {street}, air terbuang", "PDAM")
        for street in ("Pemuda", "Kartini", "Diponegoro", "Sudirman", "Gatot Subroto")
    ] * 80 + [("jalan rusak berlubang", "DPUPR")] * 100
    router = AgencyRouter(directory)
    assert router.suggest(text)[0].code == "DPUPR"
    assert router.train(history).suggest(text)[0].code == "PDAM"


def test_model_round_trips_through_json(directory: AgencyDirectory) -> None:
    trained = AgencyRouter(directory).train(DISPOSED_STRAY_ANIMALS + DISPOSED_OTHERS)
    stored = trained.to_json()
    assert isinstance(stored, bytes)
    restored = AgencyRouter.from_json(stored, directory)
    text = "anjing liar menggigit anak"
    assert restored.suggest(text) == trained.suggest(text)
    assert restored.trained_on == trained.trained_on
    untrained = AgencyRouter.from_json(AgencyRouter(directory).to_json(), directory)
    assert untrained.trained_on == 0
    with pytest.raises(ValueError):
        AgencyRouter.from_json(b'{"format": "something-else"}', directory)


def test_dispositions_to_unknown_agencies_are_skipped(directory: AgencyDirectory) -> None:
    trained = AgencyRouter(directory).train([("anjing liar", "DINAS_YANG_SUDAH_DIHAPUS")])
    assert trained.trained_on == 0
    assert trained.suggest("anjing liar") == []


def test_a_directory_built_in_code_works_like_the_file(directory: AgencyDirectory) -> None:
    # The gateway may build the directory from its database (agencies edited in the admin UI).
    built = AgencyDirectory(
        tuple(Agency(a.code, a.name, a.function_group, a.keywords) for a in directory.agencies)
    )
    text = "Lampu jalan mati, saya mau lapor"
    assert AgencyRouter(built).suggest(text) == AgencyRouter(directory).suggest(text)
