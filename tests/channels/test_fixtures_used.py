"""Every provider fixture is used by some case: a fixture nobody reads tests nothing."""

from __future__ import annotations

from tests.channels.cases import CHANNELS, FIXTURES, all_cases
from tests.channels.feed_cases import FEED_CHANNELS, all_poll_cases


def test_every_fixture_is_used_by_a_case() -> None:
    on_disk = {
        (channel, path.name)
        for channel in sorted(set(CHANNELS) | set(FEED_CHANNELS))
        for path in (FIXTURES / channel).iterdir()
        if path.is_file()
    }
    used = {(case.channel, case.fixture) for case in all_cases() if case.fixture}
    used |= {(case.channel, case.fixture) for case in all_poll_cases()}
    assert on_disk - used == set(), "fixtures no case uses"
    assert used - on_disk == set(), "cases naming missing fixtures"


def test_case_labels_are_unique_per_channel() -> None:
    labels = [(case.channel, case.label) for case in all_cases()]
    labels += [(case.channel, case.label) for case in all_poll_cases()]
    assert len(labels) == len(set(labels))
