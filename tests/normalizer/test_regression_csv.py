"""Regression over a curated set of realistic complaints (tests/normalizer/data/complaints.csv).

Each row carries the class and agency an admin would pick. The floors below are the accuracy
the shipped rules and keywords reach today, minus a little; a change to the word lists that
drops below them makes suggestions worse for admins and should be looked at.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from normalizer.classify import CLASSES
from normalizer.location import Gazetteer
from normalizer.pipeline import NormalizedComplaint, normalize
from normalizer.routing import AgencyDirectory

DATA = Path(__file__).parent / "data" / "complaints.csv"
CLASS_FLOOR = 0.9
AGENCY_TOP1_FLOOR = 0.8
AGENCY_TOP3_FLOOR = 0.9


def rows() -> list[dict[str, str]]:
    with DATA.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def results(
    directory: AgencyDirectory, gazetteer: Gazetteer
) -> list[tuple[dict[str, str], NormalizedComplaint]]:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    return [
        (row, normalize(row["text"], directory=directory, gazetteer=gazetteer, now=now))
        for row in rows()
    ]


def test_the_set_is_well_formed(directory: AgencyDirectory) -> None:
    data = rows()
    assert len(data) >= 50
    assert {row["class"] for row in data} == set(CLASSES)
    assert {row["agency"] for row in data} <= set(directory.codes)


def test_class_suggestions(results: list[tuple[dict[str, str], NormalizedComplaint]]) -> None:
    wrong = [r["text"][:60] for r, n in results if n.suggested_class.cls != r["class"]]
    accuracy = 1 - len(wrong) / len(results)
    assert accuracy >= CLASS_FLOOR, (accuracy, wrong)


def test_agency_suggestions(results: list[tuple[dict[str, str], NormalizedComplaint]]) -> None:
    top1 = sum(bool(n.agencies) and n.agencies[0].code == r["agency"] for r, n in results)
    top3 = sum(r["agency"] in [a.code for a in n.agencies] for r, n in results)
    assert top1 / len(results) >= AGENCY_TOP1_FLOOR, top1 / len(results)
    assert top3 / len(results) >= AGENCY_TOP3_FLOOR, top3 / len(results)
