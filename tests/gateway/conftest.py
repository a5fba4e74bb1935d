"""The polled channels' fakes (X, YouTube) and the real Dovecot, for the gateway's poller tests
(`test_pollers.py`): the same session-wide servers the channel tests use."""

from tests.channels.conftest import (  # noqa: F401 - fixtures, found by pytest by name
    _x_server,
    _youtube_server,
    dovecot,
    imap_account,
    x_api,
    youtube_api,
)
