"""Downloading a provider's attachment with limits: one streaming fetch shared by the channels.

The body is streamed and the download stops as soon as it passes `max_bytes`, so an oversized
video never sits in memory. Errors name the file by `describe`, never by its URL, and drop the
httpx exception (`from None`): a Telegram file URL holds the bot token. Failures say whether a
later retry may help (`MediaError.retryable`): a timeout, a refused connection, 429 or a 5xx may
pass; a 404, a forbidden type or an oversized file will not.
"""

from __future__ import annotations

from collections.abc import Collection

import httpx

from channels.base import MediaError


def _bare_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


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
    """GET `url` (following redirects) into memory; raise `MediaError` past the limits.

    `describe` names the file in error messages instead of the URL, which may carry a token.
    """
    allowed = {t.lower() for t in allowed_types}
    try:
        async with client.stream("GET", url, auth=auth, follow_redirects=True) as response:
            if response.status_code != 200:
                raise MediaError(
                    f"{describe}: provider answered HTTP {response.status_code}",
                    retryable=response.status_code in (408, 425, 429)
                    or response.status_code >= 500,
                )
            content_type = _bare_type(response.headers.get("content-type")) or _bare_type(
                claimed_type
            )
            if allowed and content_type not in allowed:
                raise MediaError(
                    f"{describe}: type {content_type or 'unknown'} is not accepted",
                    retryable=False,
                )
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
            return b"".join(chunks), content_type
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
