"""TikTok: comments under the regency's videos, captured by an admin.

Provider: none to call. TikTok's public APIs (Display API, Research API, Content Posting API)
give a regency no way to read or answer the comments under its own videos, so nothing here talks
to TikTok and no credential is needed. An admin reads the comments in the TikTok app, and the
gateway makes that first-class (gateway/intake/tiktok_capture.py, `/admin/tiktok`): the link of
the video or the comment, the commenter's handle, the words, and screenshots. The answer goes
back the same way: the complaint page shows a copy-ready public reply and the admin records that
it was posted.

This module only reads what the admin pasted (pure): `parse_link` accepts a tiktok.com address
(www., m., vm. and vt. share links) and keeps only what names the video or the comment — share
links carry tracking parameters (`_t`, `_r`, `is_from_webapp`, `sender_device`...) that can name
the admin's own account, so they are dropped; `parse_handle` reads `@name` as TikTok spells
usernames (2–24 letters, digits, `_` and `.`, not ending in a dot).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

CHANNEL = "tiktok"
HOSTS = frozenset(
    {"tiktok.com", "www.tiktok.com", "m.tiktok.com", "vm.tiktok.com", "vt.tiktok.com"}
)
# Query parameters that name the comment a link points to; every other one is dropped.
KEPT_PARAMETERS = ("comment_id", "cid")
URL_MAX = 1000
_HANDLE = re.compile(r"^@?([A-Za-z0-9_.]{2,24})$")
_VIDEO = re.compile(r"^/@(?P<owner>[A-Za-z0-9_.]{2,24})/(?:video|photo)/(?P<id>\d{5,25})/?$")
_SHORT = re.compile(r"^/(?:t/)?[A-Za-z0-9_-]{5,20}/?$")


class CaptureError(ValueError):
    """What the admin pasted is not usable; `key` names the message (tiktok.errors.<key>)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class TikTokLink:
    url: str  # the link as kept: https, the host, the path, only the comment parameter
    owner: str | None = None  # the account whose video it is (None for a short share link)
    video_id: str | None = None
    comment_id: str | None = None


def parse_link(text: str) -> TikTokLink:
    """The video or comment link an admin pasted, cleaned; `CaptureError("link_invalid")` for
    anything that is not a tiktok.com video, photo post or share link."""
    raw = (text or "").strip()
    if not raw or len(raw) > URL_MAX or any(c.isspace() for c in raw):
        raise CaptureError("link_invalid")
    if "://" not in raw:
        raw = "https://" + raw
    parts = urlsplit(raw)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or host not in HOSTS:
        raise CaptureError("link_invalid")
    if parts.username or parts.password or parts.port:
        raise CaptureError("link_invalid")
    path = parts.path or "/"
    video = _VIDEO.match(path)
    if video is None and not (host in ("vm.tiktok.com", "vt.tiktok.com") or path.startswith("/t/")):
        raise CaptureError("link_invalid")
    if video is None and not _SHORT.match(path):
        raise CaptureError("link_invalid")
    kept = [(k, v) for k, v in parse_qsl(parts.query) if k in KEPT_PARAMETERS and v.isdigit()]
    comment = kept[0][1] if kept else None
    url = urlunsplit(("https", host, path, urlencode(kept), ""))
    return TikTokLink(
        url=url,
        owner=video["owner"].lower() if video else None,
        video_id=video["id"] if video else None,
        comment_id=comment,
    )


def parse_handle(text: str) -> str:
    """`@name`, lower case (TikTok usernames are not case-sensitive)."""
    match = _HANDLE.match((text or "").strip())
    if match is None or match.group(1).endswith("."):
        raise CaptureError("handle_invalid")
    return "@" + match.group(1).lower()
