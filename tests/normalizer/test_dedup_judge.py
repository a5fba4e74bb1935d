"""`judge()`: text first, place as evidence; a contradiction in the place keeps two complaints
apart (issue 14: the same sentence with another street or dusun was clustered)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from normalizer.dedup import DuplicateCandidate, candidate_keys, judge, signature
from normalizer.location import PlaceMatch, place_parts

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _c(text: str, reporter: str, *, village: str | None = None, kecamatan: str | None = None,
       hours: float = 0, pin: tuple[float, float] | None = None) -> DuplicateCandidate:  # fmt: skip
    return DuplicateCandidate(
        signature(text).text, kecamatan, village, reporter, T0 + timedelta(hours=hours),
        parts=place_parts(text), coordinates=pin,
    )  # fmt: skip


def test_the_same_text_without_a_village_clusters() -> None:
    text = "Sampah menumpuk di pinggir jalan dekat terminal bus, bau menyengat dan banyak lalat"
    found = judge(_c(text, "a"), _c(text, "b", hours=3))
    assert found.decision == "same_problem"
    assert found.place == "unknown" and found.text == 100


@pytest.mark.parametrize(
    ("first", "second", "code"),
    [
        ("Jl. Diponegoro", "Jl. Gatot Subroto", "different_street"),
        ("dusun Ngemplak", "dusun Sudo", "different_hamlet"),
        ("RT 02", "RT 05", "different_rt"),
        ("depan SD 1", "depan SD 4", "different_landmark"),
    ],
)
def test_another_street_dusun_rt_or_landmark_is_never_clustered_or_merged(
    first: str, second: str, code: str
) -> None:
    template = "Lampu penerangan jalan mati total di {}, desa Sumbergirang kec Lasem"
    a = _c(template.format(first), "a", village="Sumbergirang", kecamatan="Lasem")
    for reporter in ("b", "a"):  # another reporter (cluster) and the same one (merge)
        b = _c(template.format(second), reporter, village="Sumbergirang", kecamatan="Lasem")
        found = judge(a, b)
        assert found.decision == "distinct"
        assert [f.code for f in found.conflicts] == [code]


def test_a_pin_nearby_supports_a_paraphrase() -> None:
    a = _c("Jembatan kayu ambrol, warga tidak bisa lewat ke sawah", "a", pin=(-6.70, 111.44))
    b = _c("jembatan ambrol sejak kemarin, warga susah lewat ke sawah", "b", hours=5,
           pin=(-6.701, 111.441))  # fmt: skip
    found = judge(a, b)
    assert any(f.code == "pin_near" for f in found.factors)
    assert found.decision == "same_problem"


def test_text_keys_meet_without_a_village_and_village_keys_only_with_one() -> None:
    sig = signature("Air PDAM tidak mengalir sudah tiga hari di perumahan").text
    plain = candidate_keys(sig)
    placed = candidate_keys(sig, PlaceMatch("Lasem", "Sumbergirang", "desa", 1.0, "text"))
    assert plain and all(k.startswith(("x:", "t")) for k in plain)
    assert set(plain) < set(placed)
    assert any(k.startswith("v:lasem/sumbergirang:") for k in placed)
