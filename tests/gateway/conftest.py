"""The polled channels' fakes (X, YouTube) and the real mail servers (Dovecot, aiosmtpd), for
the gateway's poller and mailbox tests: the same session-wide servers the channel tests use."""

from tests.channels.conftest import (  # noqa: F401 - fixtures, found by pytest by name
    _smtp_server,
    _x_server,
    _youtube_server,
    dovecot,
    imap_account,
    smtp_server,
    x_api,
    youtube_api,
)
