"""The admin fixtures (agency directory with liaison officers, one account per role, logged-in
clients) for the SLA sweeps, reports and publication tests."""

from tests.gateway.admin.conftest import (  # noqa: F401 - pytest fixtures by name
    accounts,
    cheap_hashes,
    clients,
    directory,
)
