"""Duplicate detection: signatures, pair scores and merge/cluster/distinct decisions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from normalizer.dedup import (
    DedupThresholds,
    DuplicateCandidate,
    decide,
    score,
    signature,
)

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def candidate(
    text: str,
    *,
    village: str | None = "Leteh",
    kecamatan: str | None = "Rembang",
    reporter: str | None = "r1",
    hours: float = 0,
) -> DuplicateCandidate:
    return DuplicateCandidate(
        signature=signature(text).text,
        kecamatan=kecamatan,
        village=village,
        reporter_id=reporter,
        created_at=T0 + timedelta(hours=hours),
    )


def test_signature_ignores_word_order_case_abbreviations_and_greetings() -> None:
    a = signature("Selamat pagi min. Jalan di depan SD rusak parah. Sudah 2 tahun tdk diperbaiki!")
    b = signature("JLN DI DEPAN SD RUSAK PARAHHH, udh 2 thn gak diperbaiki")
    c = signature("Sudah dua tahun tidak diperbaiki. Jalan depan SD rusak parah.")
    assert a.text == b.text == c.text == "depan jalan parah rusak sd"
    assert signature("Jalan depan SD 3 rusak").text == "depan jalan rusak sd sd3"
    assert signature("sampah di RT 03/RW 05").text == "rt03 rw05 sampah"


def test_signature_is_capped_for_long_complaints() -> None:
    long_text = " ".join(f"kata{i}panjang" for i in range(200))
    assert len(signature(long_text).text.split()) == 32


def test_near_duplicates_share_band_keys_and_unrelated_complaints_do_not() -> None:
    a = signature("Lampu jalan mati di depan balai desa, gelap sekali kalau malam")
    b = signature("lampu jln mati depan balai desa, gelap bgt klo malem")
    c = signature("Pupuk subsidi langka di kios, petani tidak bisa menanam")
    assert set(a.band_keys) & set(b.band_keys)
    assert not set(a.band_keys) & set(c.band_keys)
    assert len(a.band_keys) == 16
    assert signature("").band_keys == ()


PAIRS = [
    # (label, first, second, expected decision)
    (
        "same reporter resends with SMS spelling",
        candidate("Jalan di depan SD Leteh berlubang besar, mohon diperbaiki"),
        candidate("jln depan SD leteh berlubang besarrr tlg diperbaiki", hours=5),
        "same_reporter_duplicate",
    ),
    (
        "same reporter, other channel, reordered",
        candidate("Sampah menumpuk di TPS pasar. Sudah seminggu tidak diangkut."),
        candidate("Sudah seminggu tidak diangkut, sampah menumpuk di TPS pasar", hours=30),
        "same_reporter_duplicate",
    ),
    (
        "two reporters, same problem, same village",
        candidate("Jalan di depan SD Leteh berlubang besar, mohon diperbaiki"),
        candidate("Jalan depan SD Leteh berlubang besar sekali", reporter="r2", hours=48),
        "same_problem",
    ),
    (
        "same problem text, different village",
        candidate("Jalan di depan SD berlubang besar, mohon diperbaiki"),
        candidate(
            "Jalan di depan SD berlubang besar, mohon diperbaiki", village="Pacar", reporter="r2"
        ),
        "distinct",
    ),
    (
        "same village, different problem",
        candidate("Jalan di depan SD Leteh berlubang besar, mohon diperbaiki"),
        candidate("Lampu jalan di depan SD Leteh mati sudah seminggu", reporter="r2"),
        "distinct",
    ),
    (
        "same problem but months apart",
        candidate("Jalan di depan SD Leteh berlubang besar, mohon diperbaiki"),
        candidate("Jalan di depan SD Leteh berlubang besar", reporter="r2", hours=24 * 90),
        "distinct",
    ),
    (
        "same reporter, different problem",
        candidate("Jalan di depan SD Leteh berlubang besar, mohon diperbaiki"),
        candidate("KTP saya belum jadi sudah tiga bulan", hours=2),
        "distinct",
    ),
    (
        "unknown place never clusters",
        candidate("Jalan berlubang besar, mohon diperbaiki", village=None, kecamatan=None),
        candidate(
            "Jalan berlubang besar mohon diperbaiki", village=None, kecamatan=None, reporter="r2"
        ),
        "distinct",
    ),
]


@pytest.mark.parametrize(("label", "a", "b", "expected"), PAIRS, ids=[p[0] for p in PAIRS])
def test_decide(label: str, a: DuplicateCandidate, b: DuplicateCandidate, expected: str) -> None:
    assert decide(score(a, b)) == expected
    assert decide(score(b, a)) == expected  # symmetric


def test_score_parts() -> None:
    a = candidate("Jalan berlubang besar di depan SD")
    b = candidate("Jalan berlubang besar di depan SD", village="Pacar", reporter="r2", hours=3)
    found = score(a, b)
    assert found.text == 100
    assert found.place == "different"
    assert found.hours_apart == 3
    assert not found.same_reporter
    assert score(a, replace(b, village=None, kecamatan="Rembang")).place == "same_kecamatan"
    assert score(a, replace(b, village=None, kecamatan=None)).place == "unknown"


def test_thresholds_are_configurable() -> None:
    a = candidate("Jalan berlubang besar", village=None)
    b = candidate("Jalan berlubang besar", village=None, reporter="r2", hours=1)
    found = score(a, b)
    assert found.place == "same_kecamatan"
    assert decide(found) == "distinct"
    assert decide(found, DedupThresholds(cluster_on_kecamatan=True)) == "same_problem"
    assert decide(found, DedupThresholds(same_problem_window=timedelta(minutes=5))) == "distinct"
