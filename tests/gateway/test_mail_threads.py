"""The subject of a reply in a mail thread (gateway/outbox/mail_threads.py): one "Re:", no code
piled up (the channel puts the code in front once), the catalog's subject when there is none."""

from __future__ import annotations

import pytest

from gateway.outbox.mail_threads import reply_subject

CASES = [
    ("Jalan rusak", "Re: Jalan rusak"),
    ("Re: Jalan rusak", "Re: Jalan rusak"),
    ("RE: re: Jalan rusak", "Re: Jalan rusak"),
    ("Re: [LPR-QE9TUA] Re: Jalan rusak", "Re: Jalan rusak"),
    ("[LPR-QE9TUA] Jalan rusak", "Re: Jalan rusak"),
    ("Fwd: AW: Balas: Jalan rusak", "Re: Jalan rusak"),
    ("Reklame liar di alun-alun", "Re: Reklame liar di alun-alun"),  # "Re" inside a word stays
    ("", "Laporan Anda"),
    ("Re: ", "Laporan Anda"),
]


@pytest.mark.parametrize(("subject", "expected"), CASES, ids=[c[0] or "empty" for c in CASES])
def test_reply_subject(subject: str, expected: str) -> None:
    assert reply_subject(subject, "Laporan Anda") == expected
