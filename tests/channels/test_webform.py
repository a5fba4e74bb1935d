"""Web-form validation: one readable message per field, in the reporter's language."""

from __future__ import annotations

import pytest

from channels import webform
from channels.webform import Limits, Photo
from tests.images import image_bytes

VALID = {"description": "Jalan di depan pasar berlubang besar sejak bulan lalu", "consent": "1"}
LIMITS = Limits(min_chars=15, max_chars=200, max_files=2, max_bytes=1024)


@pytest.mark.parametrize(
    ("label", "changes", "field", "message_part"),
    [
        ("missing description", {"description": ""}, "description", "wajib diisi"),
        ("blank description", {"description": "   \n "}, "description", "wajib diisi"),
        ("too short", {"description": "rusak"}, "description", "minimal 15"),
        ("too long", {"description": "a" * 201}, "description", "maksimal 200"),
        ("no consent", {"consent": ""}, "consent", "menyetujui"),
        ("consent false", {"consent": False}, "consent", "menyetujui"),
        ("phone letters", {"phone": "nomor saya"}, "phone", "Nomor HP tidak valid"),
        ("phone too short", {"phone": "0812"}, "phone", "Nomor HP tidak valid"),
        ("email", {"email": "budi@"}, "email", "email tidak valid"),
        ("latitude only", {"latitude": "-6.7"}, "latitude", "Koordinat"),
        ("latitude out of range", {"latitude": "99", "longitude": "111"}, "latitude", "Koordinat"),
        ("latitude text", {"latitude": "utara", "longitude": "111"}, "latitude", "Koordinat"),
        ("long name", {"name": "x" * 201}, "name", "Nama terlalu panjang"),
        ("long location", {"location_text": "x" * 501}, "location_text", "Lokasi"),
    ],
)
def test_invalid_fields_get_an_indonesian_message(
    label: str, changes: dict, field: str, message_part: str
) -> None:
    form, errors = webform.validate_form({**VALID, **changes}, limits=LIMITS)
    assert form is None
    assert message_part in errors.fields[field]


def test_english_messages_when_asked() -> None:
    _, errors = webform.validate_form({"description": ""}, limits=LIMITS, lang="en")
    assert errors.fields["description"] == "Please describe your report."
    assert "agree" in errors.fields["consent"]


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("0812-3456-7890", "+6281234567890"),
        ("+62 812 3456 7890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("(0295) 691234", "+62295691234"),
    ],
)
def test_phone_numbers_are_normalised_to_e164(typed: str, e164: str) -> None:
    form, errors = webform.validate_form({**VALID, "phone": typed}, limits=LIMITS)
    assert not errors and form is not None and form.phone == e164


def test_valid_form_keeps_flags_and_trims_text() -> None:
    form, errors = webform.validate_form(
        {
            **VALID,
            "description": "  " + VALID["description"] + "  ",
            "anonim": "on",
            "rahasia": "1",
            "email": "Budi@Example.ORG",
            "latitude": "-6.70",
            "longitude": "111.34",
        },
        limits=LIMITS,
    )
    assert not errors and form is not None
    assert form.description == VALID["description"]
    assert (form.anonim, form.rahasia, form.email) == (True, True, "budi@example.org")
    assert (form.latitude, form.longitude) == (-6.70, 111.34)


def test_photo_content_is_sniffed_not_trusted_from_the_name() -> None:
    fake = Photo("jalan.jpg", b"MZ\x90\x00 this is an executable, not a photo")
    _, errors = webform.validate_form(VALID, [fake], limits=LIMITS)
    assert "jalan.jpg bukan foto" in errors.fields["photos"]
    real = Photo("foto-tanpa-ekstensi", image_bytes("PNG"))
    form, errors = webform.validate_form(VALID, [real], limits=LIMITS)
    assert not errors and form is not None and form.photos[0][1] == "image/png"


def test_oversized_and_too_many_photos_are_refused() -> None:
    big = Photo("besar.jpg", image_bytes("JPEG", (400, 400)))
    assert len(big.data) > LIMITS.max_bytes
    _, errors = webform.validate_form(VALID, [big], limits=LIMITS)
    assert "besar.jpg terlalu besar" in errors.fields["photos"]
    small = Photo("a.png", image_bytes("PNG"))
    _, errors = webform.validate_form(VALID, [small, small, small], limits=LIMITS)
    assert errors.fields["photos"] == "Maksimal 2 foto."


def test_sender_is_the_contact_when_given_so_channels_can_link() -> None:
    form, _ = webform.validate_form({**VALID, "phone": "081234567890"}, limits=LIMITS)
    assert form is not None
    assert webform.sender_address(form, "abc") == "+6281234567890"
    anonymous, _ = webform.validate_form(VALID, limits=LIMITS)
    assert anonymous is not None and webform.sender_address(anonymous, "abc") == "web:abc"


def test_nul_and_lone_surrogates_never_reach_the_database() -> None:
    """PostgreSQL refuses U+0000 (issue 13, item 1) and no encoder takes a lone surrogate: the
    form and the JSON API hand over the text without them."""
    data = {
        "description": "Jalan\x00 rusak parah di depan SD Negeri 2 \ud800",
        "name": "Bu\x00di",
        "location_text": "Desa\x00 Leteh",
        "consent": "1",
    }
    form, errors = webform.validate_form(data)
    assert not errors and form is not None
    assert form.description == "Jalan rusak parah di depan SD Negeri 2 \ufffd"
    assert (form.name, form.location_text) == ("Budi", "Desa Leteh")
