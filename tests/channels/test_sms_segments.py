"""SMS segment arithmetic and splitting: what a citizen's phone receives, and what it costs."""

from __future__ import annotations

import pytest

from channels.sms_segments import (
    GSM7_BASIC,
    SmsEncoding,
    count_segments,
    sms_encoding,
    sms_units,
    split_sms,
)

CODE = "LPR-7K3M9Q"


@pytest.mark.parametrize(
    ("label", "text", "encoding", "units", "segments"),
    [
        ("empty", "", SmsEncoding.GSM7, 0, 0),
        ("plain Indonesian", "Laporan diterima", SmsEncoding.GSM7, 16, 1),
        ("exactly one GSM-7 SMS", "a" * 160, SmsEncoding.GSM7, 160, 1),
        ("one septet more: two segments of 153", "a" * 161, SmsEncoding.GSM7, 161, 2),
        ("three full concatenated segments", "a" * 459, SmsEncoding.GSM7, 459, 3),
        ("extension characters take two septets", "€" * 80, SmsEncoding.GSM7, 160, 1),
        ("an extension character one over", "{" + "a" * 159, SmsEncoding.GSM7, 161, 2),
        # 152 septets, then "[" needs 2: it moves whole into the second segment.
        (
            "escape pair never straddles a segment",
            "a" * 152 + "[" + "a" * 10,
            SmsEncoding.GSM7,
            164,
            2,
        ),
        ("accented GSM letters stay GSM-7", "Café à Niño", SmsEncoding.GSM7, 11, 1),
        ("one emoji makes UCS-2", "Jalan rusak 😡", SmsEncoding.UCS2, 14, 1),
        ("exactly one UCS-2 SMS", "ŝ" * 70, SmsEncoding.UCS2, 70, 1),
        ("UCS-2 over: segments of 67", "ŝ" * 71, SmsEncoding.UCS2, 71, 2),
        (
            "a surrogate pair never straddles a segment",
            "ŝ" * 66 + "😡" + "ŝ" * 5,
            SmsEncoding.UCS2,
            73,
            2,
        ),
        ("curly quotes are not GSM", "“lapor”", SmsEncoding.UCS2, 7, 1),
    ],
)
def test_encoding_and_segments(
    label: str, text: str, encoding: SmsEncoding, units: int, segments: int
) -> None:
    assert sms_encoding(text) is encoding
    assert sms_units(text) == units
    assert count_segments(text) == segments


def test_gsm_basic_table_is_complete() -> None:
    assert len(GSM7_BASIC) == 127  # 128 code points minus the escape to the extension table


SENTENCES = (
    "Laporan Anda dengan kode LPR-7K3M9Q sudah diteruskan ke Dinas Pekerjaan Umum. "
    "Petugas akan meninjau lokasi dalam tiga hari kerja. "
    "Ketik CEK LPR-7K3M9Q untuk melihat perkembangan. Terima kasih telah melapor."
)


@pytest.mark.parametrize(
    ("label", "text", "max_segments", "parts"),
    [
        ("short text stays whole", "Laporan diterima.", 1, ["Laporan diterima."]),
        ("whitespace only", "  \n ", 1, []),
        (
            "cut at the end of a sentence",
            SENTENCES,
            1,
            [
                "Laporan Anda dengan kode LPR-7K3M9Q sudah diteruskan ke Dinas Pekerjaan Umum. "
                "Petugas akan meninjau lokasi dalam tiga hari kerja.",
                "Ketik CEK LPR-7K3M9Q untuk melihat perkembangan. Terima kasih telah melapor.",
            ],
        ),
        ("two segments allowed: one message", SENTENCES, 2, [SENTENCES]),
        (
            "a word longer than an SMS is cut by characters",
            "x" * 200,
            1,
            ["x" * 160, "x" * 40],
        ),
        (
            "the cut moves out of a tracking code",
            "y" * 155 + CODE + "z" * 20,
            1,
            ["y" * 155, CODE + "z" * 20],
        ),
    ],
)
def test_split_sms(label: str, text: str, max_segments: int, parts: list[str]) -> None:
    assert split_sms(text, max_segments) == parts


@pytest.mark.parametrize("max_segments", [1, 2, 10])
@pytest.mark.parametrize(
    "text",
    [
        " ".join([SENTENCES] * 12),
        ("Sampah menumpuk 😡 di pasar, kode " + CODE + ". ") * 20,
        "€uro {braces} [brackets] ~tilde~ " * 30,
        "Baris pertama\nBaris kedua\n\n" * 40,
    ],
    ids=["gsm sentences", "ucs-2 with codes", "extension characters", "lines"],
)
def test_split_parts_fit_and_lose_nothing(text: str, max_segments: int) -> None:
    parts = split_sms(text, max_segments)
    assert all(count_segments(part) <= max_segments for part in parts)
    assert " ".join(parts).split() == text.split()
    assert all(part == part.strip() and part for part in parts)
    # every tracking code survives whole in some part
    assert sum(part.count(CODE) for part in parts) == text.count(CODE)


def test_split_rejects_zero_segments() -> None:
    with pytest.raises(ValueError):
        split_sms("halo", 0)
