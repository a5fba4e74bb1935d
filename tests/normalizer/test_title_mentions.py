"""Titles never start with an @handle (issue 14 §8: imported tweets were titled "@Bupati...")."""

from __future__ import annotations

import pytest

from normalizer.title import make_title


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("@BupatiRembang @dpupr_rbg jalan di desa Leteh rusak", "Jalan di desa Leteh rusak"),
        ("RT @warga_rbg: @BupatiRembang jalan rusak di desa Leteh", "Jalan rusak di desa Leteh"),
        ("Selamat pagi @BupatiRembang, lampu jalan mati", "Lampu jalan mati"),
        ("@admin", ""),
        # "RT" without a mention is the neighbourhood, kept.
        ("RT 03 jalan rusak", "RT 03 jalan rusak"),
    ],
)  # fmt: skip
def test_mentions_never_start_a_title(text: str, title: str) -> None:
    assert make_title(text) == title
