"""Shared data for the normalizer tests: the shipped demo directory and gazetteer."""

from __future__ import annotations

import pytest

from normalizer.location import Gazetteer, load_gazetteer
from normalizer.routing import AgencyDirectory, load_agency_directory


@pytest.fixture(scope="session")
def gazetteer() -> Gazetteer:
    return load_gazetteer()


@pytest.fixture(scope="session")
def directory() -> AgencyDirectory:
    return load_agency_directory()
