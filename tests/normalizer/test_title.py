"""Titles say what the complaint is about: from its content, never the greeting or filler, and
cut at a word and phrase boundary when long (never "sudah 3." or "Hello, I want to report a
problem")."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from normalizer.resources import DataFileError
from normalizer.text import TITLE_MAX_CHARS, clean_text, fold
from normalizer.title import (
    ELLIPSIS,
    TitleRules,
    default_title_rules,
    make_title,
    shorten,
)

# (what a citizen wrote, the title): SMS, WhatsApp and web-form texts as they come.
REAL = [
    (
        "Selamat pagi min, saya mau lapor jalan di Desa Sumbergirang rusak parah sudah 3 bulan "
        "tidak ada perbaikan sama sekali dari dinas",
        "Jalan di Desa Sumbergirang rusak parah sudah 3 bulan tidak ada perbaikan…",
    ),
    (
        "Lapor min, lampu penerangan jalan di gang Melati RT 02 RW 04 Kelurahan Leteh mati sudah "
        "3 minggu, mohon ditindaklanjuti",
        "Lampu penerangan jalan di gang Melati RT 02/RW 04 Kelurahan Leteh mati…",
    ),
    ("Mohon ditindaklanjuti. Sampah di pasar Kragan menumpuk", "Sampah di pasar Kragan menumpuk"),
    (
        "Assalamualaikum wr wb. Mohon maaf mengganggu pak. Saya ingin menyampaikan bahwa air PDAM "
        "di perumahan kami mati sejak 3 hari",
        "Air PDAM di perumahan kami mati sejak 3 hari",
    ),
    ("min tolong jalan di depan SD 1 Leteh berlubang", "Jalan di depan SD 1 Leteh berlubang"),
    (
        "Jalan di Desa Tireman rusak sudah 3. Bulan depan musim hujan",
        "Jalan di Desa Tireman rusak sudah 3. Bulan depan musim hujan",
    ),
    (
        "Selamat siang admin LAPOR, perkenalkan saya warga Desa Pandean, ingin melaporkan jembatan "
        "penghubung dusun yang ambrol sejak banjir minggu lalu sehingga anak sekolah harus memutar "
        "jauh",
        "Jembatan penghubung dusun yang ambrol sejak banjir minggu lalu…",
    ),
    (
        "Pagi pak, sy mau lapor. Di dusun Krajan RT 01 RW 02 desa Pasarbanggi ada pohon tumbang "
        "menutup jalan sejak kemarin sore dan belum ada yang membersihkan",
        "Di dusun Krajan RT 01/RW 02 desa Pasarbanggi ada pohon tumbang menutup jalan…",
    ),
    (
        "Kepada Yth. Bapak Bupati Rembang. Saya warga Kecamatan Sarang ingin mengadukan pungutan "
        "liar saat pengurusan sertifikat tanah di kantor desa sebesar Rp 2.500.000",
        "Pungutan liar saat pengurusan sertifikat tanah di kantor desa…",
    ),
    (
        "sy mau tanya min, syarat bikin KTP elektronik apa aja ya? trims",
        "Syarat bikin KTP elektronik apa saja",
    ),
    (
        "Jalan rusak di RT 3 RW 5 Leteh, sudah 3 tahun tidak pernah diperbaiki padahal setiap "
        "hari dilewati anak sekolah dan truk pasir",
        "Jalan rusak di RT 03/RW 05 Leteh, sudah 3 tahun tidak pernah diperbaiki…",
    ),
    (
        "Hello, I want to report a problem. The road in front of SD 2 Lasem has a big pothole",
        "The road in front of SD 2 Lasem has a big pothole",
    ),
    (
        "Good morning, I would like to report that the street lights near the market have been "
        "off for two weeks. Thank you",
        "The street lights near the market have been off for two weeks.",
    ),
    ("Lampu jalan mati sudah seminggu. Terima kasih min", "Lampu jalan mati sudah seminggu."),
    # Nothing but greetings and filler: no title (the inbox shows its placeholder).
    ("Hello, I want to report a problem", ""),
    ("Halo admin", ""),
    ("Tolong segera diperbaiki ya pak", ""),
]


@pytest.mark.parametrize(("given", "expected"), REAL, ids=[r[1] or r[0] for r in REAL])
def test_real_looking_complaints(given: str, expected: str) -> None:
    assert make_title(given) == expected


def test_shorten_cuts_at_a_phrase_boundary() -> None:
    text = (
        "Drainase di perumahan Griya Asri Blok C tersumbat sampah plastik, setiap hujan air "
        "masuk ke rumah warga"
    )
    assert shorten(text) == "Drainase di perumahan Griya Asri Blok C tersumbat sampah plastik…"
    assert shorten("Jalan rusak") == "Jalan rusak"


def test_a_broken_rules_file_fails_when_loaded() -> None:
    with pytest.raises(DataFileError, match="min_cut"):
        TitleRules.from_mapping(
            {"openings": [], "closings": [], "filler_words": [], "breaks": [], "dangling": []}
        )


# --- properties ------------------------------------------------------------------------------

RULES = default_title_rules()
WORD = re.compile(r"[^\W_]+")

GREETINGS = [
    "Selamat pagi min,",
    "Halo admin.",
    "Assalamualaikum wr wb.",
    "Hello, I want to report a problem.",
    "Good morning,",
    "Permisi pak, saya mau lapor",
    "Lapor min!",
    "Mohon maaf mengganggu.",
    "Yth. Bapak Bupati.",
    "min",
    "Selamat siang kak, izin melapor",
    "Dear sir/madam, I am writing to complain about",
]
CONTENT = [
    "Jalan di Desa Sumbergirang berlubang besar",
    "lampu penerangan jalan di gang Melati mati",
    "Sampah di pasar Kragan tidak diangkut",
    "air PDAM di Perumahan Griya Asri keruh dan berbau",
    "ada pungutan liar di kantor desa saat mengurus KTP",
    "the bridge in Pandean village collapsed after the flood",
    "saluran air di RT 02/RW 04 Kelurahan Leteh tersumbat",
    "pohon tumbang menutup jalan menuju puskesmas Sarang",
]
CLOSINGS = ["", "mohon ditindaklanjuti", "Terima kasih.", "Mohon segera dibantu ya min", "thanks"]
MORE = st.lists(
    st.sampled_from(
        "sudah 3 bulan tidak ada perbaikan sama sekali dari dinas terkait padahal setiap hari "
        "dilewati anak sekolah dan truk pasir sejak musim hujan di RT 05 dekat SD 1".split()
    ),
    max_size=25,
).map(" ".join)
words = st.text(st.characters(categories=["L", "Nd"]), min_size=1, max_size=18)
sentences = st.lists(words, min_size=1, max_size=30).map(" ".join)
texts = st.lists(
    st.one_of(sentences, st.sampled_from([*GREETINGS, *CONTENT, *CLOSINGS])),
    min_size=1,
    max_size=6,
).map(lambda parts: st_join(parts))


def st_join(parts: list[str]) -> str:
    return ". ".join(parts)


def _whole_words_of(title: str, text: str) -> bool:
    """Every word of the title is a whole word of the (cleaned) text: nothing cut mid-word."""
    # Upper case on both sides: the title capitalises its first letter ("ı" becomes "I").
    folded_text = set(fold(clean_text(text).text).upper().split())
    return all(word in folded_text for word in fold(title.removesuffix(ELLIPSIS)).upper().split())


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(texts)
def test_a_title_never_exceeds_the_limit_nor_ends_mid_word(text: str) -> None:
    title = make_title(text)
    assert len(title) <= TITLE_MAX_CHARS
    assert _whole_words_of(title, text), title
    if title.endswith(ELLIPSIS):
        last = title.removesuffix(ELLIPSIS).split()[-1].strip(".,;:")
        assert fold(last) not in RULES.dangling and not last.isdigit(), title


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.lists(st.sampled_from(GREETINGS), min_size=1, max_size=3),
    st.sampled_from(CONTENT),
    MORE,
    st.sampled_from(CLOSINGS),
)
def test_a_title_is_never_the_greeting_when_there_is_content(
    greetings: list[str], content: str, more: str, closing: str
) -> None:
    text = " ".join([*greetings, f"{content} {more}".strip() + ",", closing])
    title = make_title(text)
    assert title, text
    # It starts where the content starts, whatever greeted it.
    assert fold(title).split()[0] == fold(content).split()[0], (text, title)
    assert len(title) <= TITLE_MAX_CHARS


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.integers(min_value=10, max_value=120))
def test_shorten_respects_any_limit(text: str, limit: int) -> None:
    short = shorten(text, limit)
    assert len(short) <= limit
    assert "\n" not in short
