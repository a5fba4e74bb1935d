"""The browser fixtures of the admin tests (served app, Debian's chromium)."""

from tests.gateway.admin.test_browser import (  # noqa: F401 - pytest fixtures by name
    browser,
    chromium,
    gateway,
    settings,
    site,
)
