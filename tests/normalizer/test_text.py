"""Cleaning Indonesian complaint text and making titles."""

from __future__ import annotations

import pytest
import yaml

from normalizer.resources import data_file
from normalizer.text import MAX_CHARS, TITLE_MAX_CHARS, clean_text
from normalizer.title import make_title

CLEANING = [
    # (label, input, expected clean text)
    ("elongation collapsed", "jalannya rusakkkk parahhh", "jalannya rusak parah"),
    ("real double kept", "Maaaaf, saaat ini", "Maaf, saat ini"),
    ("ngg before vowel kept", "tinggggi dan tolonggg", "tinggi dan tolong"),
    ("two letters are left alone", "sakit, tanggal, keenam", "sakit, tanggal, keenam"),
    (
        "street abbreviation keeps case",
        "Jl. Pemuda dan jln kartini",
        "Jalan Pemuda dan jalan kartini",
    ),
    (
        "negations",
        "gak ada, ga bisa, nggak jalan, tdk ada, ngga",
        "tidak ada, tidak bisa, tidak jalan, tidak ada, tidak",
    ),
    (
        "pronouns and function words",
        "sy dan aq yg dgn krn utk",
        "saya dan saya yang dengan karena untuk",
    ),
    ("time words", "blm sdh bgt tp dll", "belum sudah sekali tapi dan lain-lain"),
    (
        "place words",
        "kel. Leteh kec. Rembang ds. Pacar",
        "kelurahan Leteh kecamatan Rembang desa Pacar",
    ),
    ("RT/RW compact", "rt3 rw5", "RT 03/RW 05"),
    ("RT/RW dotted", "RT.03/RW.05", "RT 03/RW 05"),
    ("RT/RW pair", "RT/RW 3/12", "RT 03/RW 12"),
    ("RT slash short", "rt 03/05", "RT 03/RW 05"),
    ("RT alone with a count after it", "rt 3, 5 orang", "RT 03, 5 orang"),
    ("reduplication with 2", "anak2 sekolah", "anak-anak sekolah"),
    ("repeated punctuation", "Tolong!!!! kapan???", "Tolong! kapan?"),
    ("emoji removed", "rusak 😡😡 parah 🙏🏽", "rusak parah"),
    (
        "URL kept verbatim",
        "lihat https://contoh.id/JLN_yg_rusak?x=1 ya",
        "lihat https://contoh.id/JLN_yg_rusak?x=1 ya",
    ),
    ("e-mail kept verbatim", "kirim ke yg.ds@contoh.id", "kirim ke yg.ds@contoh.id"),
    ("acronym in normal text kept", "PD BPR Bank Rembang", "PD BPR Bank Rembang"),
    ("shouting SMS expanded", "JLN RUSAK TDK DIPERBAIKI", "JALAN RUSAK TIDAK DIPERBAIKI"),
    ("full-width folded", "ｊｌｎ rusak", "jalan rusak"),
    ("whitespace tidied", "  jalan \t\t rusak \n\n\n parah  ", "jalan rusak\nparah"),
    ("invisible characters dropped", "jalan\u200b rusak\x00", "jalan rusak"),
]


@pytest.mark.parametrize(("label", "given", "expected"), CLEANING, ids=[c[0] for c in CLEANING])
def test_clean_text(label: str, given: str, expected: str) -> None:
    assert clean_text(given).text == expected


def test_original_is_kept_verbatim_and_folded_form_is_for_matching() -> None:
    given = "Jln RUSAKKK di Désa Leteh!! https://x.id/a"
    clean = clean_text(given)
    assert clean.original is given
    assert clean.folded == "jalan rusak di desa leteh"
    assert clean.tokens == ("jalan", "rusak", "di", "desa", "leteh")
    assert clean.urls == ("https://x.id/a",)
    assert not clean.truncated


def test_huge_input_is_capped_and_says_so() -> None:
    clean = clean_text("jalan rusak " * 5000)
    assert clean.truncated
    assert len(clean.text) <= MAX_CHARS
    assert not clean_text("jalan rusak").truncated


TITLES = [
    (
        "greetings dropped",
        "Selamat pagi min, mohon maaf mengganggu. Jalan di depan SD 2 Leteh berlubang besar.",
        "Jalan di depan SD 2 Leteh berlubang besar.",
    ),
    ("short sentences joined", "Jalan rusak. Sudah 2 tahun.", "Jalan rusak. Sudah 2 tahun."),
    (
        "SMS shouting to sentence case",
        "LAPOR JLN RUSAK DI RT 3 RW 5 LETEH",
        "Jalan rusak di RT 03/RW 05 leteh",
    ),
    ("identity sentence skipped", "Nama saya [NAMA]. Lampu jalan mati.", "Lampu jalan mati."),
    ("nothing to say", "🙏🙏🙏", ""),
    ("empty", "", ""),
]


@pytest.mark.parametrize(("label", "given", "expected"), TITLES, ids=[t[0] for t in TITLES])
def test_make_title(label: str, given: str, expected: str) -> None:
    assert make_title(given) == expected


def test_long_title_is_cut_at_a_word_with_an_ellipsis() -> None:
    text = (
        "Jalan penghubung antara desa Sumbergirang dan desa Sriombo di kecamatan Lasem rusak parah "
        "dan berlubang besar sejak musim hujan tahun lalu"
    )
    title = make_title(text)
    assert len(title) <= TITLE_MAX_CHARS
    assert title.endswith("…")
    assert text.startswith(title.removesuffix("…"))


def test_word_list_entries_are_documented_lower_case_and_unique() -> None:
    data = yaml.safe_load(data_file("lexicon.yaml").read_text(encoding="utf-8"))
    seen: set[str] = set()
    for entry in data["abbreviations"]:
        assert entry.get("note"), entry
        for form in entry["forms"]:
            assert isinstance(form, str) and form == form.lower(), form
            assert form not in seen, f"{form} listed twice"
            seen.add(form)


def test_cleaning_twice_changes_nothing_for_public_lexicon_chains() -> None:
    # Found by the property test: the public lexicon says "ak" -> "aku", our rules "aku" -> "saya".
    once = clean_text("aK mau lapor")
    assert once.text.split()[0].lower() == "saya"
    assert clean_text(once.text).text == once.text


def test_english_words_are_never_read_as_indonesian_slang() -> None:
    """The public lexicon lists "am" (sama), "so" (sok), "to" (tapi)...: an English complaint
    ("I am writing to complain") must keep them."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from normalizer.text import default_lexicon

    colloquial = default_lexicon().colloquial
    assert not sorted(w for w in ENGLISH_STOP_WORDS if w in colloquial)
    assert clean_text("I am writing to complain, so please see it").text == (
        "I am writing to complain, so please see it"
    )
