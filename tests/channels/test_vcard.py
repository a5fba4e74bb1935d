"""Reading a shared contact card's name and numbers (vCard 2.1/3.0/4.0, as WhatsApp writes it)."""

from __future__ import annotations

import pytest

from channels.vcard import ContactCard, is_vcard, read_vcard


@pytest.mark.parametrize(
    ("card", "expected"),
    [
        (
            b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Pak RT Slamet\r\n"
            b"item1.TEL;waid=6281234567001:+62 812-3456-7001\r\nEND:VCARD\r\n",
            ContactCard("Pak RT Slamet", ("+62 812-3456-7001",), ("6281234567001",)),
        ),
        (  # vCard 4.0: the number as a tel: URI
            b"BEGIN:VCARD\nVERSION:4.0\nFN:Bu Lurah\n"
            b"TEL;VALUE=uri;TYPE=cell:tel:+62-812-0000-1111\n"
            b"TEL;TYPE=work:0295 123456\nEND:VCARD\n",
            ContactCard("Bu Lurah", ("+62-812-0000-1111", "0295 123456"), ()),
        ),
        (  # a folded line (RFC 6350 3.2) and vCard 2.1 parameters
            b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Dinas\r\n Pekerjaan Umum\r\n"
            b"TEL;CELL:081234567002\r\nEND:VCARD\r\n",
            ContactCard("DinasPekerjaan Umum", ("081234567002",), ()),
        ),
        (b"\xff\xfe\x00garbage without lines", ContactCard(None, (), ())),
        (b"", ContactCard(None, (), ())),
    ],
)
def test_read_vcard(card: bytes, expected: ContactCard) -> None:
    assert read_vcard(card) == expected


def test_is_vcard() -> None:
    assert is_vcard("text/vcard") and is_vcard("text/x-vcard; charset=utf-8")
    assert not is_vcard("image/jpeg") and not is_vcard(None)
