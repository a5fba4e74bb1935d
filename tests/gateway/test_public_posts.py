"""Which public comments the bot answers (gateway/bot/public_posts.py): praise, greetings and
emoji are recorded and left alone; anything that names a problem, however short, or a tracking
code gets the private conversation."""

from __future__ import annotations

import pytest

from gateway.bot.public_posts import worth_answering

CASES = [
    ("Pak, jalan ke Desa Sumberjo rusak parah, kapan diperbaiki?", True),
    ("lampu mati", True),  # short, but it names a problem
    ("Air PDAM di Kelurahan Leteh mati tiga hari, tolong dicek", True),
    ("Min, laporan LPR-7K3M9U kok belum ada kabar?", True),  # asks about a complaint
    ("lpr7k3m9u", True),
    ("Mantaaap pak bupati 👍🔥 semoga sukses", False),
    ("Keren min, lanjutkan!", False),
    ("Terima kasih pak, sehat selalu", False),
    ("Aamiin", False),
    ("👍👍👍", False),
    ("hadir", False),
    ("Selamat pagi admin", False),
    ("", False),
    ("rusak", False),  # one word: nothing to act on yet
]


@pytest.mark.parametrize(("text", "answered"), CASES, ids=[c[0] or "empty" for c in CASES])
def test_worth_answering(text: str, answered: bool) -> None:
    assert worth_answering(text) is answered
