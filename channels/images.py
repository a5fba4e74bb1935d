"""Every photo that enters the gateway, made safe before it is stored or forwarded.

`clean_image()` decodes the bytes with Pillow (a file that does not decode is no photo), refuses
decompression bombs before decoding, turns the picture upright (EXIF orientation), converts it
to sRGB, drops every piece of metadata (EXIF with the GPS position and the device, XMP, ICC
profile, comments), shrinks it to `max_side` pixels on its longer side and encodes it again:
JPEG stays JPEG (quality 85), PNG stays PNG, WebP stays WebP, HEIC/HEIF (iPhones) and GIF become
JPEG and PNG. Only the first frame of an animation is kept: a complaint needs a photo.

It lives beside `sniff.py` because the web form's validation (`channels/webform.py`) calls it —
that is how a form answers "this file is not a photo" in words — and `gateway/intake/attachments.py`
calls it for every download. It is pure: bytes in, bytes out.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

try:  # HEIC/HEIF: iPhones send these; pillow-heif registers a Pillow opener.
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover - pillow-heif is a dependency; keep JPEG/PNG working
    HEIF_SUPPORTED = False

DEFAULT_MAX_SIDE = 2560
# A photo of a pothole is a few megapixels; 50 MP is already a professional camera. More is a
# decompression bomb (a tiny file that unpacks to gigabytes): refused before it is decoded.
MAX_PIXELS = 50_000_000
JPEG_QUALITY = 85
WEBP_QUALITY = 85

# Pillow format → what we write (format, content type).
_OUTPUT = {
    "JPEG": ("JPEG", "image/jpeg"),
    "MPO": ("JPEG", "image/jpeg"),  # multi-picture JPEG from some phones: keep the first
    "PNG": ("PNG", "image/png"),
    "WEBP": ("WEBP", "image/webp"),
    "HEIF": ("JPEG", "image/jpeg"),
    "GIF": ("PNG", "image/png"),
}
# Metadata keys Pillow keeps in `Image.info` that must never be written out again.
METADATA_KEYS = frozenset(
    {"exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment", "photoshop", "iptc"}
)


class ImageRejected(ValueError):
    """The bytes are not a photo we take; `reason` is `not_image` or `too_many_pixels`."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    content_type: str
    width: int
    height: int


def clean_image(data: bytes, *, max_side: int = DEFAULT_MAX_SIDE) -> CleanImage:
    """The photo decoded, upright, without metadata, at most `max_side` pixels on its longer
    side, encoded again. Raises `ImageRejected` for anything that is not such a photo."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            source = Image.open(io.BytesIO(data))
            if source.width * source.height > MAX_PIXELS:
                raise ImageRejected("too_many_pixels", f"{source.width}x{source.height}")
            output = _OUTPUT.get(source.format or "")
            if output is None:
                raise ImageRejected("not_image", f"format {source.format}")
            source.seek(0)  # the first frame of an animation
            # A JPEG more than twice the size we keep is decoded at 1/2, 1/4... straight away
            # (libjpeg's scaled decoding): a 48 MP phone photo costs a quarter of the time.
            source.draft(source.mode, (max_side, max_side))
            source.load()
            image = _upright_srgb(source)
    except ImageRejected:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        ValueError,
        SyntaxError,  # Pillow raises it for some malformed headers
        EOFError,
    ) as exc:
        raise ImageRejected("not_image", type(exc).__name__) from None
    fmt, content_type = output
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    image = _mode_for(image, fmt)
    image.info = {}  # Pillow writes some of these back (a JPEG comment) unless removed
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.save(buffer, "JPEG", quality=JPEG_QUALITY)
    elif fmt == "WEBP":
        image.save(buffer, "WEBP", quality=WEBP_QUALITY)
    else:
        image.save(buffer, "PNG", optimize=True)
    return CleanImage(buffer.getvalue(), content_type, image.width, image.height)


def _upright_srgb(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation (the one piece of metadata that changes how the photo looks)
    and convert a colour profile to sRGB, so dropping both changes nothing on screen."""
    upright = ImageOps.exif_transpose(image) or image
    profile = image.info.get("icc_profile")
    if profile and upright.mode in ("RGB", "RGBA"):
        # A broken profile: keep the pixels as they are.
        with contextlib.suppress(ImageCms.PyCMSError, OSError, ValueError):
            converted = ImageCms.profileToProfile(
                upright,
                ImageCms.ImageCmsProfile(io.BytesIO(profile)),
                ImageCms.createProfile("sRGB"),
                outputMode=upright.mode,
            )
            upright = converted or upright
    return upright


def _mode_for(image: Image.Image, fmt: str) -> Image.Image:
    """A pixel mode the output format can hold (transparency flattened onto white for JPEG)."""
    if image.mode == "P":
        # Palette transparency lives in `info`, which is cleared before saving.
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if fmt == "JPEG":
        if image.mode in ("RGBA", "LA"):
            background = Image.new("RGB", image.size, (255, 255, 255))
            background.paste(image, mask=image.getchannel("A"))
            return background
        if image.mode not in ("RGB", "L"):
            return image.convert("RGB")
        return image
    keeps = ("RGB", "RGBA") if fmt == "WEBP" else ("RGB", "RGBA", "L", "LA", "I;16", "I")
    if image.mode not in keeps:
        return image.convert("RGBA" if "A" in image.getbands() else "RGB")
    return image


def metadata_left(data: bytes) -> list[str]:
    """The kinds of metadata an image still carries (empty for a clean one). Reads the headers
    only, so storage can check cheaply that nothing slipped past `clean_image`."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            found = sorted(METADATA_KEYS & set(image.info))
            if getattr(image, "text", None):  # PNG tEXt/iTXt chunks ("Author", "Comment")
                found.append("text")
            if len(image.getexif()):
                found.append("exif-tags")
            return found
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        return ["unreadable"]
