"""Downloading attachments safely: only from the provider's own media hosts, with limits.

An attachment's URL arrives inside a payload (Twilio's `MediaUrl0`, a Meta CDN link, a photo
in the core's answer), so it is attacker-controlled as far as the gateway can tell. Fetching it
blindly would let anyone with a signed request make the gateway call its own network (SSRF),
with the provider's credentials attached. So every download goes through one policy:

- `MediaPolicy` says where a source's media may be fetched from and redirected to (host names,
  `*.example.com` for subdomains, `host:port` for one port), which of those hosts receive the
  credentials (only the provider's API host: never a CDN, never after a redirect elsewhere),
  and whether private, loopback and link-local addresses may be reached. `media_policy(settings,
  source)` builds it from the settings (TWILIO_MEDIA_HOSTS..., MEDIA_ALLOW_PRIVATE_ADDRESSES);
  the host of the source's configured base URL is always allowed and trusted, so the local
  fakes work in tests and in the demo.
- `allowed_media_url(url, policy)` is the one allow-list check, also for the gateway's core
  attachment URLs (check them before storing, then fetch with `fetch_media`).
- `fetch_media` follows at most `MAX_REDIRECTS` redirects itself, each checked again; the host
  is resolved at connect time and a private, loopback or link-local address is refused unless
  the policy allows it (no DNS rebinding between check and connect: the checked address is the
  one connected to). Proxies from the environment are not used for media.

The body is streamed and the download stops as soon as it passes `max_bytes`, so an oversized
video never sits in memory. The type is the server's, else the provider's claim, else what the
bytes are (`channels.sniff`) when the server only says "octet-stream"; a type outside the
allowed list is refused. Errors are generic ("media could not be fetched (HTTP 404)"): never a
URL (a Telegram file URL holds the bot token), never an address or why a connection failed (an
internal port must not be probed through the admin's error list). Failures say whether a later
retry may help (`MediaError.retryable`): a timeout, no connection, 429 or a 5xx may pass; a 404,
a refused address, a forbidden type or an oversized file will not.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import anyio
import certifi
import httpcore
import httpx

from channels.base import MediaError
from channels.sniff import sniff
from config.settings import Settings

MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)
# Types that say nothing about the content.
_GENERIC_TYPES = {"application/octet-stream", "binary/octet-stream", "application/binary"}

# Where each source's media come from: (hosts setting, base URL settings, credential hosts).
# The base URLs' hosts are allowed, trusted and receive the credentials too (the fakes, a
# deployment's own proxy).
_SOURCES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "twilio": ("twilio_media_hosts", ("twilio_api_base_url",), ("api.twilio.com",)),
    "telegram": ("telegram_media_hosts", ("telegram_api_base_url",), ()),
    "meta": (
        "meta_media_hosts",
        ("meta_graph_base_url", "instagram_graph_base_url"),
        ("lookaside.fbsbx.com",),  # WhatsApp Cloud media URLs want the bearer token
    ),
    "x": ("x_media_hosts", ("x_api_base_url",), ("ton.twitter.com",)),  # DM media: OAuth 1.0a
    "core": ("core_media_hosts", ("core_base_url",), ()),
}
SOURCES = tuple(_SOURCES)


# --- the policy ----------------------------------------------------------------------------------


def _host_port(url: str) -> tuple[str, int] | None:
    """(host, port) of an http(s) URL, the host lower-case; None for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.hostname.lower().rstrip("."), port or (443 if parts.scheme == "https" else 80)


_WITH_PORT = re.compile(r"^(?P<name>\[[^\]]+\]|[^:]+):(?P<port>\d+)$")


def host_matches(pattern: str, host: str, port: int | None) -> bool:
    """`api.twilio.com` (any port), `*.twiliocdn.com` (its subdomains), `127.0.0.1:8000` (that
    port only), `[::1]:8000`."""
    pattern = pattern.strip().lower().rstrip(".")
    match = _WITH_PORT.match(pattern)
    if match:
        if port != int(match["port"]):
            return False
        pattern = match["name"]
    pattern = pattern.strip("[]")
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


@dataclass(frozen=True)
class MediaPolicy:
    """Where one source's attachments may be fetched from, and where its credentials go."""

    hosts: tuple[str, ...]  # where a fetch may start or be redirected
    credential_hosts: tuple[str, ...] = ()  # which of them receive the provider's credentials
    trusted_hosts: tuple[str, ...] = ()  # configured by an admin: any address, private too
    allow_private: bool = False  # private, loopback, link-local addresses for the rest

    def _matches(self, patterns: Iterable[str], url: str) -> bool:
        where = _host_port(url)
        return where is not None and any(host_matches(p, where[0], where[1]) for p in patterns)

    def allows(self, url: str) -> bool:
        return self._matches((*self.hosts, *self.trusted_hosts), url)

    def sends_credentials_to(self, url: str) -> bool:
        return self._matches((*self.credential_hosts, *self.trusted_hosts), url)

    def trusts(self, host: str, port: int) -> bool:
        return any(host_matches(p, host.lower(), port) for p in self.trusted_hosts)


def allowed_media_url(url: str, policy: MediaPolicy) -> bool:
    """Whether `url` may be fetched under `policy` (its host; the address is checked when
    connecting). The gateway checks a core attachment's URL with this before keeping it."""
    return policy.allows(url)


def _origin(url: str | None) -> str | None:
    """`host:port` of a URL, as a policy pattern (`[::1]:8000` for an IPv6 address)."""
    where = _host_port(url) if url else None
    if where is None:
        return None
    host, port = where
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def media_policy(settings: Settings, source: str) -> MediaPolicy:
    """The policy for `source` ("twilio", "telegram", "meta", "x" or "core") from the settings."""
    hosts_setting, base_settings, credential_hosts = _SOURCES[source]
    bases = [_origin(getattr(settings, name)) for name in base_settings]
    allow_private = settings.media_allow_private_addresses
    if allow_private is None:
        allow_private = settings.app_env != "production"
    return MediaPolicy(
        hosts=tuple(getattr(settings, hosts_setting)),
        credential_hosts=credential_hosts,
        trusted_hosts=tuple(base for base in bases if base),
        allow_private=allow_private,
    )


# --- connecting only to allowed addresses --------------------------------------------------------


class AddressNotAllowed(httpcore.ConnectError):
    """The host resolved only to addresses the policy refuses (private, loopback...)."""


def public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to addresses the policy allows: the host
    is resolved here and the connection made to the checked address (TLS still names the host)."""

    def __init__(self, policy: MediaPolicy) -> None:
        self.policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def _address(self, host: str, port: int, timeout: float | None) -> str:
        if self.policy.allow_private or self.policy.trusts(host, port):
            return host
        try:
            with anyio.fail_after(timeout):
                found = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError:
            raise httpcore.ConnectTimeout("name resolution timed out") from None
        except OSError:
            raise httpcore.ConnectError("name resolution failed") from None
        for _family, _type, _proto, _name, sockaddr in found:
            address = str(sockaddr[0])
            if public_address(address):
                return address
        raise AddressNotAllowed("no public address")

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[object] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = await self._address(host, port, timeout)
        return await self._inner.connect_tcp(
            address,
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,  # type: ignore[arg-type]
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: object = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("no unix sockets for media")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over `_GuardedBackend`. httpx does not take a network backend, so
    its connection pool is replaced by one built the same way with ours (tested in
    tests/channels/test_media.py: a loopback address is refused, so this cannot silently stop
    working with another httpx)."""

    def __init__(self, policy: MediaPolicy) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl.create_default_context(cafile=certifi.where()),
            network_backend=_GuardedBackend(policy),
        )


def media_client(policy: MediaPolicy, timeout: float) -> httpx.AsyncClient:
    """An HTTP client that connects only where `policy` allows (no environment proxies)."""
    return httpx.AsyncClient(
        transport=_GuardedTransport(policy),
        timeout=timeout,
        trust_env=False,
        follow_redirects=False,
    )


# --- the download --------------------------------------------------------------------------------


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


def _not_allowed(describe: str) -> MediaError:
    return MediaError(
        f"{describe}: media could not be fetched (address not allowed)", retryable=False
    )


async def fetch_media(
    url: str,
    *,
    policy: MediaPolicy,
    max_bytes: int,
    allowed_types: Collection[str],
    claimed_type: str | None = None,
    auth: httpx.Auth | tuple[str, str] | None = None,
    describe: str = "attachment",
    timeout: float = 30.0,
) -> tuple[bytes, str | None]:
    """GET `url` under `policy` into memory: (bytes, content type), or `MediaError`.

    `auth` goes only to the policy's credential hosts, so a redirect to a CDN (or anywhere
    else) never carries it."""
    async with media_client(policy, timeout) as client:
        return await _fetch(
            client,
            url,
            policy=policy,
            max_bytes=max_bytes,
            allowed_types=allowed_types,
            claimed_type=claimed_type,
            auth=auth,
            describe=describe,
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
    """The former shared download, kept for callers without a policy (the gateway's core
    attachments until it moves to `fetch_media(url, policy=media_policy(settings, "core"))`):
    redirects only within the URL's own host and port, credentials only there, generic errors;
    no address check (use `fetch_media` for that)."""
    origin = _origin(url)
    if origin is None:
        raise _not_allowed(describe)
    policy = MediaPolicy(hosts=(origin,), credential_hosts=(origin,))
    return await _fetch(
        client,
        url,
        policy=policy,
        max_bytes=max_bytes,
        allowed_types=allowed_types,
        claimed_type=claimed_type,
        auth=auth,
        describe=describe,
    )


async def _fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    policy: MediaPolicy,
    max_bytes: int,
    allowed_types: Collection[str],
    claimed_type: str | None,
    auth: httpx.Auth | tuple[str, str] | None,
    describe: str,
) -> tuple[bytes, str | None]:
    allowed = {t.lower() for t in allowed_types}
    try:
        for _ in range(MAX_REDIRECTS + 1):
            if not policy.allows(url):
                raise _not_allowed(describe)
            credentials = auth if policy.sends_credentials_to(url) else None
            request = client.build_request("GET", url)
            response = await client.send(request, auth=credentials, stream=True)
            try:
                location = response.headers.get("location")
                if response.status_code in _REDIRECTS and location:
                    url = str(response.url.join(location))
                    continue
                return await _read(response, max_bytes, allowed, claimed_type, describe)
            finally:
                await response.aclose()
        raise MediaError(
            f"{describe}: media could not be fetched (too many redirects)", retryable=False
        )
    except httpx.TransportError as exc:
        if isinstance(exc.__cause__, AddressNotAllowed):
            raise _not_allowed(describe) from None
        if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
            raise _not_allowed(describe) from None
        raise MediaError(
            f"{describe}: media could not be fetched (provider unreachable)", retryable=True
        ) from None
    except httpx.InvalidURL:
        raise _not_allowed(describe) from None


async def _read(
    response: httpx.Response,
    max_bytes: int,
    allowed: set[str],
    claimed_type: str | None,
    describe: str,
) -> tuple[bytes, str | None]:
    status = response.status_code
    if status != 200:
        raise MediaError(
            f"{describe}: media could not be fetched (HTTP {status})",
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
            raise MediaError(f"{describe}: more than the {max_bytes}-byte limit", retryable=False)
        chunks.append(chunk)
    data = b"".join(chunks)
    if content_type is None:  # the server said only "bytes": believe the bytes
        content_type = sniff(data)
        _check_type(content_type, allowed, describe)
    return data, content_type
