"""What an admin pastes when capturing a TikTok comment (channels/tiktok.py): which links are
TikTok's, what of them is kept (never the share-tracking parameters), which handles are names."""

from __future__ import annotations

import pytest

from channels.tiktok import CaptureError, parse_handle, parse_link

VIDEO = "https://www.tiktok.com/@pemkabrembang/video/7301234567890123456"

LINKS = [
    # (label, pasted, kept url or None when refused, owner, video id, comment id)
    ("video", VIDEO, VIDEO, "pemkabrembang", "7301234567890123456", None),
    (
        "share tracking dropped",
        VIDEO + "?is_from_webapp=1&sender_device=pc&_t=8abc&_r=1",
        VIDEO,
        "pemkabrembang",
        "7301234567890123456",
        None,
    ),
    (
        "comment link keeps the comment id",
        VIDEO + "?comment_id=7309876543210987654&_r=1",
        VIDEO + "?comment_id=7309876543210987654",
        "pemkabrembang",
        "7301234567890123456",
        "7309876543210987654",
    ),
    ("no scheme", VIDEO[8:], VIDEO, "pemkabrembang", "7301234567890123456", None),
    ("http becomes https", "http" + VIDEO[5:], VIDEO, "pemkabrembang", "7301234567890123456", None),
    (
        "photo post",
        "https://www.tiktok.com/@pemkabrembang/photo/7301234567890123456",
        "https://www.tiktok.com/@pemkabrembang/photo/7301234567890123456",
        "pemkabrembang",
        "7301234567890123456",
        None,
    ),
    (
        "vm share link",
        "https://vm.tiktok.com/ZMh3abcDE/",
        "https://vm.tiktok.com/ZMh3abcDE/",
        None,
        None,
        None,
    ),
    (
        "vt share link",
        "https://vt.tiktok.com/ZSabc123/",
        "https://vt.tiktok.com/ZSabc123/",
        None,
        None,
        None,
    ),
    (
        "www /t/ link",
        "https://www.tiktok.com/t/ZTRabc123/",
        "https://www.tiktok.com/t/ZTRabc123/",
        None,
        None,
        None,
    ),
    ("fragment dropped", VIDEO + "#comments", VIDEO, "pemkabrembang", "7301234567890123456", None),
    ("another site", "https://www.instagram.com/p/DEMO1708/", None, None, None, None),
    (
        "look-alike host",
        "https://tiktok.com.evil.test/@a/video/7301234567890123456",
        None,
        None,
        None,
        None,
    ),
    (
        "subdomain trick",
        "https://evil-tiktok.com/@a/video/7301234567890123456",
        None,
        None,
        None,
        None,
    ),
    (
        "credentials in the link",
        "https://user:pw@www.tiktok.com/@a/video/7301234567890123456",
        None,
        None,
        None,
        None,
    ),
    ("javascript", "javascript:alert(1)", None, None, None, None),
    ("tiktok home page", "https://www.tiktok.com/", None, None, None, None),
    ("a profile, not a video", "https://www.tiktok.com/@pemkabrembang", None, None, None, None),
    ("spaces inside", "https://www.tiktok.com/@a b/video/1", None, None, None, None),
    ("empty", "", None, None, None, None),
    ("too long", VIDEO + "?comment_id=" + "1" * 1000, None, None, None, None),
]


@pytest.mark.parametrize(
    ("label", "pasted", "kept", "owner", "video", "comment"), LINKS, ids=[c[0] for c in LINKS]
)
def test_links(
    label: str,
    pasted: str,
    kept: str | None,
    owner: str | None,
    video: str | None,
    comment: str | None,
) -> None:
    if kept is None:
        with pytest.raises(CaptureError) as refused:
            parse_link(pasted)
        assert refused.value.key == "link_invalid"
        return
    link = parse_link(pasted)
    assert (link.url, link.owner, link.video_id, link.comment_id) == (kept, owner, video, comment)


HANDLES = [
    ("@warga_lasem", "@warga_lasem"),
    ("warga.lasem", "@warga.lasem"),
    ("  @Warga_Lasem  ", "@warga_lasem"),
    ("@a", None),  # too short
    ("@" + "a" * 25, None),  # too long
    ("@warga.", None),  # TikTok names do not end with a dot
    ("@warga lasem", None),
    ("@<script>", None),
    ("", None),
]


@pytest.mark.parametrize(("pasted", "kept"), HANDLES, ids=[h[0] or "empty" for h in HANDLES])
def test_handles(pasted: str, kept: str | None) -> None:
    if kept is None:
        with pytest.raises(CaptureError):
            parse_handle(pasted)
    else:
        assert parse_handle(pasted) == kept
