"""Tracking codes: short, unambiguous, and a typo is caught before the database is asked."""

from __future__ import annotations

import itertools
import random

import pytest

from gateway.complaints import tracking

rng = random.Random(42)
SAMPLE = [tracking.new_code() for _ in range(200)]


def test_shape_and_alphabet() -> None:
    for code in SAMPLE:
        assert len(code) == 10 and code.startswith("LPR-")
        assert not set(code[4:]) & set("01OIL")  # nothing to misread aloud
        assert tracking.normalize_code(code) == code


@pytest.mark.parametrize("code", SAMPLE[:40])
def test_every_single_wrong_character_is_caught(code: str) -> None:
    body = code[4:]
    for position, wrong in itertools.product(range(6), tracking.ALPHABET):
        if wrong == body[position]:
            continue
        typo = body[:position] + wrong + body[position + 1 :]
        assert tracking.normalize_code(typo) is None


@pytest.mark.parametrize("code", SAMPLE[:40])
def test_every_swap_of_neighbours_is_caught(code: str) -> None:
    body = code[4:]
    for position in range(5):
        if body[position] == body[position + 1]:
            continue
        swapped = body[:position] + body[position + 1] + body[position] + body[position + 2 :]
        assert tracking.normalize_code(swapped) is None


@pytest.mark.parametrize(
    "typed",
    ["{c}", "{c_lower}", "{body}", "LPR {body}", "lpr-{b1} {b2}", " {c} ", "{b1}-{b2}"],
)
def test_how_people_type_a_code(typed: str) -> None:
    code = SAMPLE[0]
    body = code[4:]
    text = typed.format(c=code, c_lower=code.lower(), body=body, b1=body[:3], b2=body[3:])
    assert tracking.normalize_code(text) == code


def test_find_code_in_a_chat_message() -> None:
    code = SAMPLE[1]
    assert tracking.find_code(f"cek {code.lower()} ya min") == code
    assert tracking.find_code("cek laporan saya dong") is None


def test_codes_are_spread_out() -> None:
    many = {tracking.new_code() for _ in range(5000)}
    assert len(many) > 4990
