"""Every photo is decoded, turned upright, stripped of its metadata and shrunk before it is
stored or forwarded (channels/images.py)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from channels.images import MAX_PIXELS, ImageRejected, clean_image, metadata_left
from tests.images import image_bytes, phone_photo, private_traces


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")],
)
def test_a_phone_photo_loses_gps_device_xmp_comment_and_profile(
    fmt: str, content_type: str
) -> None:
    original = phone_photo(fmt, size=(64, 48), orientation=6)
    assert "exif" in private_traces(original)  # the fixture really carries them
    clean = clean_image(original)
    assert clean.content_type == content_type
    assert private_traces(clean.data) == []
    with Image.open(io.BytesIO(clean.data)) as image:
        assert image.getexif().get_ifd(0x8825) == {}  # no GPS
        # EXIF orientation 6 was applied before it was dropped: the photo stays upright.
        assert image.size == (48, 64) == (clean.width, clean.height)


def test_heic_from_an_iphone_is_stored_as_a_clean_jpeg() -> None:
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "PrivasiCam X1"
    exif[0x8825] = {1: "S", 2: (6.0, 42.0, 30.15)}
    Image.new("RGB", (40, 30), (10, 200, 10)).save(buffer, format="HEIF", exif=exif.tobytes())
    assert "exif" in private_traces(buffer.getvalue())
    clean = clean_image(buffer.getvalue())
    assert clean.content_type == "image/jpeg" and private_traces(clean.data) == []
    assert (clean.width, clean.height) == (40, 30)


def test_large_photos_are_shrunk_to_the_longest_side() -> None:
    clean = clean_image(image_bytes("JPEG", (3000, 1500)), max_side=1000)
    assert (clean.width, clean.height) == (1000, 500)
    small = clean_image(image_bytes("PNG", (300, 200)), max_side=1000)
    assert (small.width, small.height) == (300, 200)


def test_a_gif_keeps_its_first_frame_as_png_and_transparency_survives() -> None:
    frames = [Image.new("P", (20, 20), i) for i in (1, 2)]
    buffer = io.BytesIO()
    frames[0].save(
        buffer, "GIF", save_all=True, append_images=frames[1:], comment=b"Budi", transparency=0
    )
    clean = clean_image(buffer.getvalue())
    assert clean.content_type == "image/png" and private_traces(clean.data) == []
    assert b"Budi" not in clean.data


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image at all",
        b"\xff\xd8\xff\xe0" + b"\x00" * 200,  # a JPEG header and nothing else
        image_bytes("JPEG", (64, 64))[:120],  # cut off in the middle
        b"%PDF-1.4 a document",
    ],
)
def test_what_does_not_decode_is_refused(data: bytes) -> None:
    with pytest.raises(ImageRejected) as refused:
        clean_image(data)
    assert refused.value.reason == "not_image"


def test_a_decompression_bomb_is_refused_before_it_is_decoded() -> None:
    side = int(MAX_PIXELS**0.5) + 100
    buffer = io.BytesIO()
    Image.new("1", (side, side)).save(buffer, "PNG")  # tiny file, huge picture
    assert len(buffer.getvalue()) < 1_000_000
    with pytest.raises(ImageRejected) as refused:
        clean_image(buffer.getvalue())
    assert refused.value.reason == "too_many_pixels"


def test_metadata_left_sees_what_a_phone_writes() -> None:
    assert metadata_left(image_bytes("JPEG")) == []
    assert "exif-tags" in metadata_left(phone_photo("JPEG"))
