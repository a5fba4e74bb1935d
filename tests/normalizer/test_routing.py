"""Agency suggestions: directory keywords and a classifier learned from past dispositions."""

from __future__ import annotations

import dataclasses
import json

import pytest

from normalizer.routing import Agency, AgencyDirectory, AgencyRouter, load_routing_rules

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


# --- the learned classifier (issue 14) ---------------------------------------------------------


def _history(n: int) -> list[tuple[str, str]]:
    """Dispositions of five agencies, in the words citizens use."""
    topics = [
        ("jalan rusak berlubang di dekat {p}", "DPUPR"),
        ("sampah menumpuk dan bau di {p}", "DLH"),
        ("lampu penerangan jalan mati di {p}", "DINPERKIM"),
        ("air pdam tidak mengalir di {p}", "PDAM"),
        ("anjing liar menggigit warga di {p}", "DINTANPAN"),
    ]
    places = ["pasar", "balai desa", "sekolah", "masjid", "terminal", "alun-alun", "sawah"]
    return [
        (topics[i % len(topics)][0].format(p=places[i % len(places)]), topics[i % len(topics)][1])
        for i in range(n)
    ]


def test_a_trained_router_always_suggests_three(directory: AgencyDirectory) -> None:
    router = AgencyRouter(directory).train(_history(100))
    # Nothing like any example and no keyword: still three suggestions, best first.
    suggestions = router.suggest("tolong dibantu pak, sudah lama sekali")
    assert len(suggestions) == 3
    scores = [s.score for s in suggestions]
    assert scores == sorted(scores, reverse=True)
    assert 0 < sum(scores) <= 1.0001


def test_scores_are_the_library_s_probabilities(directory: AgencyDirectory) -> None:
    # Served from JSON arrays, the model must give what scikit-learn itself gives.
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from normalizer.routing import _features
    from normalizer.senses import literal_tokens
    from normalizer.text import clean_text

    rules = dataclasses.replace(load_routing_rules(), calibration_folds=0)
    examples = _history(60)
    router = AgencyRouter.from_json(
        AgencyRouter(directory, rules=rules).train(examples).to_json(), directory, rules=rules
    )

    def features(text: str) -> list[str]:
        return list(_features(literal_tokens(clean_text(text).tokens)).elements())

    vectorizer = TfidfVectorizer(analyzer=lambda f: f, sublinear_tf=True)
    matrix = vectorizer.fit_transform([features(t) for t, _ in examples])
    reference = LogisticRegression(C=rules.regularization, max_iter=2000)
    reference.fit(matrix, [c for _, c in examples])
    text = "anjing galak menggigit anak kecil dekat masjid"  # no keyword: the model alone ranks
    probabilities = reference.predict_proba(vectorizer.transform([features(text)]))[0]
    expected = dict(zip(reference.classes_, probabilities, strict=True))
    suggestions = router.suggest(text, k=5)
    assert [s.code for s in suggestions] == sorted(expected, key=lambda c: -expected[c])
    for suggestion in suggestions:
        assert suggestion.score == pytest.approx(expected[suggestion.code], abs=0.01)


def test_probabilities_are_calibrated_on_held_out_examples(directory: AgencyDirectory) -> None:
    router = AgencyRouter(directory).train(_history(100))
    model = router._model
    assert model is not None
    assert model.temperature != 1.0  # fitted, not the default
    assert 0 <= model.accuracy_keywords_first <= 1 and 0 <= model.accuracy_learned <= 1


def test_keywords_decide_while_there_is_too_little_data(directory: AgencyDirectory) -> None:
    # Ten admins' choices that contradict the directory's keyword are not yet evidence enough.
    text = "Pipa pecah di jalan Gajah Mada, air terbuang sejak pagi"
    few = AgencyRouter(directory).train([("pipa pecah di jalan, air terbuang", "PDAM")] * 10)
    assert not few.learned_decides
    assert few.suggest(text)[0].code == "DPUPR"
    assert "PDAM" in [s.code for s in few.suggest(text)]  # the model fills the other places


def test_the_model_decides_once_it_beats_the_keywords(directory: AgencyDirectory) -> None:
    router = AgencyRouter(directory).train(_history(200))
    assert router.learned_decides
    accuracy = router.held_out_accuracy
    assert accuracy is not None and accuracy[0] >= accuracy[1]
    assert AgencyRouter(directory).train(_history(10)).held_out_accuracy is None


def test_an_agency_the_model_never_saw_comes_in_by_its_keyword(
    directory: AgencyDirectory,
) -> None:
    router = AgencyRouter(directory).train(_history(200))
    suggestions = router.suggest("KTP saya belum jadi, jalan ke kantor jauh")
    assert "DINDUKCAPIL" in [s.code for s in suggestions]
    dukcapil = next(s for s in suggestions if s.code == "DINDUKCAPIL")
    assert "belum ada contoh" in dukcapil.reason


JALAN_AS_GO = [
    "Saya lagi jalan ke pasar, macet total",
    "mau jalan-jalan ke pantai tapi hujan",
    "yuk jalan bareng nanti sore",
    "aku jalan kaki ke sekolah tiap hari",
]


@pytest.mark.parametrize("text", JALAN_AS_GO)
def test_jalan_meaning_go_is_no_road(directory: AgencyDirectory, text: str) -> None:
    assert "DPUPR" not in [s.code for s in AgencyRouter(directory).suggest(text)]


@pytest.mark.parametrize(
    "text",
    ["jalan ke pasar rusak parah", "jalan-jalan di desa kami rusak semua", "mau lewat jalan rusak"],
)
def test_jalan_as_a_road_still_routes_to_public_works(
    directory: AgencyDirectory, text: str
) -> None:
    # "pasar" is a keyword too (DINPERINDAG): the road must keep one of the first two places.
    assert "DPUPR" in [s.code for s in AgencyRouter(directory).suggest(text)[:2]]


def test_a_joke_about_floods_routes_nothing(directory: AgencyDirectory) -> None:
    assert AgencyRouter(directory).suggest("nonton drakor sampai banjir air mata wkwk") == []
    assert AgencyRouter(directory).suggest("banjir setinggi lutut di depan rumah")[0].code == (
        "DPUPR"
    )


def test_a_model_of_another_format_or_damaged_is_refused(directory: AgencyDirectory) -> None:
    old = b'{"format":"lapor-agency-router/1","trained":true,"n_docs":3,"idf":{},"centroids":{}}'
    with pytest.raises(ValueError):
        AgencyRouter.from_json(old, directory)
    stored = json.loads(AgencyRouter(directory).train(_history(40)).to_json())
    stored["weights"] = stored["weights"][:-8]
    with pytest.raises(ValueError):
        AgencyRouter.from_json(json.dumps(stored), directory)


def test_the_stored_model_is_plain_json(directory: AgencyDirectory) -> None:
    stored = json.loads(AgencyRouter(directory).train(_history(40)).to_json())
    assert stored["format"] == "lapor-agency-router/2"
    assert set(stored["classes"]) == {"DPUPR", "DLH", "DINPERKIM", "PDAM", "DINTANPAN"}
    assert isinstance(stored["features"], list) and all(
        isinstance(f, str) for f in stored["features"]
    )
