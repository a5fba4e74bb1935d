"""The subject of a reply in a mail thread (gateway/outbox/mail_threads.py): one "Re:", no code
piled up (the channel puts the code in front once), the catalog's subject when there is none;
and what a new mail's complaint says (gateway/bot/mail.py): the subject unless it says nothing."""

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


TEXTS = [
    # (subject, body, what the complaint says)
    (
        "Jalan rusak di Desa Pasarbanggi",
        "Lubang besar.",
        "Jalan rusak di Desa Pasarbanggi\n\nLubang besar.",
    ),
    ("Laporan", "Lampu jalan mati.", "Lampu jalan mati."),  # a subject that says nothing
    ("Re: [LPR-QE9TUA] Pengaduan", "Lampu jalan mati.", "Lampu jalan mati."),
    (
        "Lampu mati",
        "Lampu mati di depan SD 1 Leteh.",
        "Lampu mati di depan SD 1 Leteh.",
    ),  # repeated
    ("Re: [LPR-QE9TUA] Sampah menumpuk", "Masih menumpuk.", "Sampah menumpuk\n\nMasih menumpuk."),
    ("Foto jalan", "", "Foto jalan"),  # a photo with only a subject
    ("", "", ""),
]


@pytest.mark.parametrize(
    ("subject", "body", "expected"), TEXTS, ids=[c[0] or "empty" for c in TEXTS]
)
def test_complaint_text(subject: str, body: str, expected: str) -> None:
    from datetime import UTC, datetime

    from gateway.bot.mail import complaint_text
    from gateway.store.models import InboundMessage

    row = InboundMessage(
        channel="email",
        external_id="<x@contoh.test>",
        sender="budi@contoh.test",
        text=body,
        received_at=datetime(2026, 11, 2, tzinfo=UTC),
        extra={"subject": subject},
    )
    assert complaint_text(row) == expected
