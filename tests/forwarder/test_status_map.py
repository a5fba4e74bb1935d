"""The core-status table: LAPOR!'s public words and the simulator's words all land on our states."""

from __future__ import annotations

import pytest

from forwarder.simulator.lifecycle import STATUS_LABELS, SimStatus
from forwarder.status_map import CORE_STATUS_TO_INTERNAL, INTERNAL_STATES, to_internal

# What SP4N-LAPOR! shows the public, and what each means for a complaint of ours.
LAPOR_PUBLIC = [
    ("Belum Terverifikasi", "received"),
    ("Belum Ditindaklanjuti", "verified"),
    ("Terverifikasi", "verified"),
    ("Didisposisikan", "disposed"),
    ("Proses", "in_progress"),
    ("Selesai", "answered"),
    ("Ditindaklanjuti", "answered"),
    ("Ditutup", "closed"),
    ("Diarsipkan", "archived"),
    ("Dikembalikan", "returned"),
    ("Ditolak", "returned"),
]

# Written out by hand (not derived from the table) so a wrong table row fails here.
SIMULATOR_EXPECTED = {
    SimStatus.UNVERIFIED: "received",
    SimStatus.VERIFIED: "verified",
    SimStatus.DISPOSED: "disposed",
    SimStatus.IN_PROCESS: "in_progress",
    SimStatus.ANSWERED: "answered",
    SimStatus.CLOSED: "closed",
    SimStatus.ARCHIVED: "archived",
    SimStatus.RETURNED: "returned",
    SimStatus.PENDING: "pending",
}


@pytest.mark.parametrize(("word", "state"), LAPOR_PUBLIC)
def test_lapor_public_statuses(word: str, state: str) -> None:
    assert to_internal(word) == state


def test_every_simulator_status_and_label_maps() -> None:
    assert set(SIMULATOR_EXPECTED) == set(SimStatus), "a new simulator status needs a mapping"
    for status, state in SIMULATOR_EXPECTED.items():
        assert to_internal(status.value) == state, status
        assert to_internal(STATUS_LABELS[status]) == state, STATUS_LABELS[status]


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("IN_PROCESS", "in_progress"),
        ("in-process", "in_progress"),
        ("  In   Process ", "in_progress"),
        ("BELUM_TERVERIFIKASI", "received"),
        ("belum  terverifikasi", "received"),
    ],
)
def test_case_spacing_and_separators_do_not_matter(word: str, state: str) -> None:
    assert to_internal(word) == state


@pytest.mark.parametrize("word", [None, "", "   ", "menunggu pembayaran", "42"])
def test_unknown_words_give_none(word: str | None) -> None:
    assert to_internal(word) is None


def test_table_only_names_our_states() -> None:
    assert set(CORE_STATUS_TO_INTERNAL.values()) <= INTERNAL_STATES
    # every state we have that a core can express is reachable from some core word
    assert set(CORE_STATUS_TO_INTERNAL.values()) == INTERNAL_STATES
