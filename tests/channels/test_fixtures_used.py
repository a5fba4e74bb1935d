"""Every provider fixture is used by some webhook case: a fixture nobody reads tests nothing."""

from __future__ import annotations

from tests.channels.cases import CHANNELS, FIXTURES, all_cases


def test_every_fixture_is_used_by_a_case() -> None:
    on_disk = {
        (channel, path.name)
        for channel in CHANNELS
        for path in (FIXTURES / channel).iterdir()
        if path.is_file()
    }
    used = {(case.channel, case.fixture) for case in all_cases() if case.fixture}
    assert on_disk - used == set(), "fixtures no case uses"
    assert used - on_disk == set(), "cases naming missing fixtures"


def test_case_labels_are_unique_per_channel() -> None:
    labels = [(case.channel, case.label) for case in all_cases()]
    assert len(labels) == len(set(labels))
