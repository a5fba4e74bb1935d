"""Downloading a provider's attachment with limits: one streaming fetch shared by the channels.

The body is streamed and the download stops as soon as it passes `max_bytes`, so an oversized
video never sits in memory. The type is the server's, else the provider's claim, else what the
bytes are (`channels.sniff`) when the server only says "octet-stream"; a type outside the
allowed list is refused. Errors name the file by `describe`, never by its URL, and drop the
httpx exception (`from None`): a Telegram file URL holds the bot token. Failures say whether a
later retry may help (`MediaError.retryable`): a timeout, a refused connection, 429 or a 5xx
may pass; a 404, a forbidden type or an oversized file will not.
"""

from __future__ import annotations

from collections.abc import Collection

import httpx

from channels.base import MediaError
from channels.sniff import sniff

# Types that say nothing about the content.
_GENERIC_TYPES = {"application/octet-stream", "binary/octet-stream", "application/binary"}


def _specific_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    bare = content_type.split(";", 1)[0].strip().lower()
    return None if not bare or bare in _GENERIC_TYPES else bare


def _check_type(content_type: str | None, allowed: set[str], describe: str) -> None:
    if allowed and content_type not in allowed:
        raise MediaError(
            f"{describe}: type {content_type or 'unknown'} is not accepted", retryable=False
        )


async def fetch_limited(
    client: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int,
    allowed_types: Collection[str],
    claimed_type: str | None = None,
    auth: httpx.Auth | tuple[str, str] | None = None,
    describe: str = "attachment",
) -> tuple[bytes, str | None]:
    """GET `url` (following redirects) into memory; raise `MediaError` past the limits."""
    allowed = {t.lower() for t in allowed_types}
    try:
        async with client.stream("GET", url, auth=auth, follow_redirects=True) as response:
            status = response.status_code
            if status != 200:
                raise MediaError(
                    f"{describe}: provider answered HTTP {status}",
                    retryable=status in (408, 425, 429) or status >= 500,
                )
            content_type = _specific_type(response.headers.get("content-type"))
            content_type = content_type or _specific_type(claimed_type)
            if content_type is not None:
                _check_type(content_type, allowed, describe)
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise MediaError(
                    f"{describe}: {int(declared)} bytes is over the {max_bytes}-byte limit",
                    retryable=False,
                )
            chunks: list[bytes] = []
            received = 0
            async for chunk in response.aiter_bytes():
                received += len(chunk)
                if received > max_bytes:
                    raise MediaError(
                        f"{describe}: more than the {max_bytes}-byte limit", retryable=False
                    )
                chunks.append(chunk)
    except httpx.TimeoutException:
        raise MediaError(f"{describe}: download timed out", retryable=True) from None
    except (httpx.UnsupportedProtocol, httpx.TooManyRedirects, httpx.InvalidURL) as exc:
        raise MediaError(
            f"{describe}: unusable URL ({type(exc).__name__})", retryable=False
        ) from None
    except httpx.TransportError as exc:
        raise MediaError(
            f"{describe}: provider unreachable ({type(exc).__name__})", retryable=True
        ) from None
    data = b"".join(chunks)
    if content_type is None:  # the server said only "bytes": believe the bytes
        content_type = sniff(data)
        _check_type(content_type, allowed, describe)
    return data, content_type
