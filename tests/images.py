"""Real image bytes for upload tests, made with Pillow — plain, or carrying what a phone writes
into a photo (EXIF with the device and a GPS position, XMP, a comment, a colour profile)."""

from __future__ import annotations

import io

from PIL import Image, ImageCms

from channels.images import metadata_left

# Markers a test can look for in the raw bytes: none may survive cleaning.
DEVICE = "PrivasiCam X1"
XMP_MARKER = "xmp-lokasi-rumah-pelapor"
COMMENT = "dibuat di rumah Budi"
GPS_LATITUDE = (6.0, 42.0, 30.15)  # 6°42'30.15" S, near Rembang


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


def phone_photo(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), orientation: int = 6) -> bytes:
    """A photo as a phone sends it: EXIF (device, GPS position, orientation), XMP, a comment and
    an ICC profile. Orientation 6 means "turn 90° clockwise to view": a clean copy is upright,
    so its width and height are swapped."""
    image = Image.new("RGB", size, (30, 120, 200))
    image.paste((250, 250, 0), (0, 0, size[0] // 2, size[1] // 4))  # something to look at
    exif = Image.Exif()
    exif[0x010F] = DEVICE  # Make
    exif[0x0110] = DEVICE  # Model
    exif[0x0112] = orientation
    exif[0x8825] = {  # the GPS IFD
        1: "S",
        2: GPS_LATITUDE,
        3: "E",
        4: (111.0, 20.0, 12.0),
    }
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        f'22-rdf-syntax-ns#"><rdf:Description about="{XMP_MARKER}"/></rdf:RDF></x:xmpmeta>'
    ).encode()
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    options: dict[str, object] = {"exif": exif.tobytes(), "icc_profile": icc}
    if fmt == "JPEG":
        options.update(xmp=xmp, comment=COMMENT.encode())
    elif fmt == "WEBP":
        options.update(xmp=xmp)
    elif fmt == "PNG":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        info.add_text("Comment", COMMENT)
        info.add_itxt("XML:com.adobe.xmp", xmp.decode())
        options["pnginfo"] = info
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def private_traces(data: bytes) -> list[str]:
    """What of a phone's metadata is still in these bytes (empty for a clean photo)."""
    found = list(metadata_left(data))
    for marker in (DEVICE, XMP_MARKER, COMMENT):
        if marker.encode() in data:
            found.append(marker)
    if b"Exif\x00\x00" in data:
        found.append("Exif segment")
    return found


def same_picture(stored: bytes, sent: bytes) -> bool:
    """The stored file shows the picture that was sent: same format and size (intake may
    re-encode it to drop its metadata, so the bytes need not be equal)."""
    first, second = Image.open(io.BytesIO(stored)), Image.open(io.BytesIO(sent))
    return (first.format, first.size) == (second.format, second.size)
