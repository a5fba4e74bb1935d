"""The Graph API client the Meta channels share, on httpx, and the table of Graph errors.

Why httpx and not `pywa`: pywa is a WhatsApp-only bot framework (its own webhook server,
handlers and models); Instagram and Facebook would still need this client, and the channels
only need four calls. One small client with typed payload models serves all three, is pointed
at the local fake Graph API by `META_GRAPH_BASE_URL`, and adds no dependency.

The access token goes in the `Authorization: Bearer` header, never in the URL (URLs end up in
logs and exception texts); `repr()` never shows it. Each event loop gets its own pooled
`httpx.AsyncClient`, so the outbox job, the CLI and tests may call from their own event loops.

Failures become `GraphError`; `GRAPH_ERRORS` (Graph error code → what the admin reads, whether
trying again later may succeed) decides whether the outbox retries. Meta's closed-window errors
(WhatsApp 131047, Messenger 10/2018278) are permanent: sending again cannot open a window.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Collection
from typing import Any

import httpx
from pydantic import SecretStr, ValidationError

from channels.base import MediaError, SendResult, retry_after_header
from channels.media import MediaPolicy, fetch_media
from channels.meta.payloads import GraphErrorResponse

# Graph error code → (what it means for an admin, whether a later retry may succeed).
# Sources: Graph API error handling, WhatsApp Cloud API error codes, Messenger Send API errors.
GRAPH_ERRORS: dict[int, tuple[str, bool]] = {
    0: ("Meta could not authenticate the access token", True),
    1: ("Meta: unknown error, possibly temporary", True),
    2: ("Meta service temporarily unavailable", True),
    3: ("the app lacks the capability for this call", False),
    4: ("Meta rate limit reached (too many calls)", True),
    10: ("permission denied, or outside the allowed messaging window", False),
    17: ("Meta user rate limit reached", True),
    32: ("Meta Page rate limit reached", True),
    100: ("invalid parameter", False),
    190: ("the access token expired or was revoked: an admin must renew it", True),
    200: ("the app lacks a permission for this call", False),
    368: ("temporarily blocked by Meta for policy violations", True),
    551: ("this person is not available right now", False),
    613: ("Meta rate limit reached", True),
    1200: ("temporary Messenger send failure", True),
    80007: ("WhatsApp rate limit reached", True),
    130429: ("WhatsApp throughput limit reached", True),
    131000: ("WhatsApp: something went wrong", True),
    131005: ("WhatsApp access denied", False),
    131008: ("WhatsApp: a required parameter is missing", False),
    131009: ("WhatsApp: a parameter value is invalid", False),
    131016: ("WhatsApp service temporarily unavailable", True),
    131021: ("the recipient is the sender's own number", False),
    131026: ("the message cannot be delivered to this WhatsApp number", False),
    131031: ("the WhatsApp Business account is locked", False),
    131042: ("WhatsApp payment problem on the business account", False),
    131045: ("the phone number's certificate is not valid", False),
    131047: ("24 hours since the person last wrote: only an approved template may go", False),
    131048: ("WhatsApp spam rate limit reached", True),
    131049: ("Meta chose not to deliver this message", False),
    131051: ("WhatsApp does not support this message type", False),
    131053: ("WhatsApp could not fetch the media we sent", True),
    131056: ("too many messages to this person in a short time", True),
    131057: ("the WhatsApp Business account is in maintenance", True),
    132000: ("the template's parameter count does not match", False),
    132001: ("the template does not exist in this language", False),
    132005: ("the template text is too long once filled in", False),
    132007: ("the template violates WhatsApp policy", False),
    132012: ("a template parameter has the wrong format", False),
    132015: ("the template is paused for low quality", False),
    132016: ("the template is disabled", False),
    133004: ("WhatsApp server temporarily unavailable", True),
    133010: ("the business phone number is not registered with WhatsApp", False),
    133016: ("the phone number's registration rate limit was reached", True),
}
# Messenger error subcodes that name the cause better than the code does.
MESSENGER_SUBCODES: dict[int, str] = {
    2018001: "no matching user: the person cannot be messaged by this Page",
    2018108: "the person has not messaged the Page: use a private reply or wait for them",
    2018278: "outside the messaging window (24 hours, or 7 days with a tag)",
    1545041: "this person is not available right now",
}


class GraphError(Exception):
    """A Graph API call failed: Meta's error code, or the network."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        subcode: int | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # the answer's Retry-After, in seconds
        self.status = status
        self.code = code
        self.subcode = subcode
        if retryable is None:
            known = GRAPH_ERRORS.get(code) if code is not None else None
            retryable = (
                known[1] if known else status is not None and (status == 429 or status >= 500)
            )
        self.retryable = retryable

    def describe(self) -> str:
        """One line for the admin: `Meta 131047: <meaning> (<Meta's own words>)`."""
        meaning = MESSENGER_SUBCODES.get(self.subcode or 0)
        if meaning is None and self.code is not None and self.code in GRAPH_ERRORS:
            meaning = GRAPH_ERRORS[self.code][0]
        said = str(self.args[0]) if self.args else ""
        label = f"Meta {self.code}" if self.code is not None else "Meta"
        if self.subcode:
            label += f"/{self.subcode}"
        if meaning and said and said != meaning:
            return f"{label}: {meaning} ({said})"
        return f"{label}: {meaning or said or 'error'}"

    def as_result(self, prefix: str = "") -> SendResult:
        error = prefix + self.describe()
        if self.retryable:
            return SendResult.retry(error, self.retry_after)
        return SendResult.permanent(error)


def graph_error(response: httpx.Response) -> GraphError:
    """The error in a non-2xx Graph answer (Meta's `{"error": {...}}`, or just the status)."""
    wait = retry_after_header(response.headers.get("retry-after"))
    try:
        body = GraphErrorResponse.model_validate_json(response.content).error
    except ValidationError:
        return GraphError(
            f"HTTP {response.status_code}", status=response.status_code, retry_after=wait
        )
    detail = body.message
    if isinstance(body.error_data, dict) and body.error_data.get("details"):
        detail = f"{detail}: {body.error_data['details']}"
    return GraphError(
        detail or f"HTTP {response.status_code}",
        status=response.status_code,
        code=body.code,
        subcode=body.error_subcode,
        retry_after=wait,
    )


class BearerAuth(httpx.Auth):
    """`Authorization: Bearer <token>` (httpx drops it on a redirect to another host)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "<BearerAuth>"

    def auth_flow(self, request: httpx.Request):
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


class GraphClient:
    """Calls to `<base_url>/<version>/<path>` with one access token."""

    def __init__(
        self,
        base_url: str,
        version: str,
        token: SecretStr | None,
        *,
        timeout: float = 15.0,
        name: str = "Meta",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.version = version
        self._token = token.get_secret_value() if token is not None else ""
        self.timeout = timeout
        self.name = name
        # One pooled client per event loop (the outbox thread's, a CLI's, a test's): a client
        # per call built an SSL context and a connection each time, most of a send's CPU
        # under a flood (issue 12). Dropped with its loop.
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return f"<GraphClient {self.name} {self.base_url}/{self.version}>"  # never the token

    def _client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            client = self._clients[loop] = httpx.AsyncClient(timeout=self.timeout)
        return client

    @property
    def configured(self) -> bool:
        return bool(self._token)

    def url(self, path: str) -> str:
        return f"{self.base_url}/{self.version}/{path.lstrip('/')}"

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """One Graph call; its JSON answer, or `GraphError` (never the token, never the URL)."""
        if not self._token:
            raise GraphError(f"{self.name} has no access token configured", retryable=False)
        try:
            response = await self._client().request(
                method,
                self.url(path),
                json=json,
                params=params,
                auth=BearerAuth(self._token),
            )
        except httpx.TimeoutException:
            raise GraphError(f"{self.name} Graph API timed out", retryable=True) from None
        except httpx.TransportError as exc:
            raise GraphError(
                f"{self.name} Graph API unreachable ({type(exc).__name__})", retryable=True
            ) from None
        if not response.is_success:
            raise graph_error(response)
        try:
            data = response.json()
        except ValueError:
            raise GraphError("the Graph API answered no JSON", retryable=True) from None
        if not isinstance(data, dict):
            raise GraphError("the Graph API answered an unexpected shape", retryable=True)
        return data

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call("POST", path, json=body)

    async def get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        return await self.call("GET", path, params=params)

    async def fetch(
        self,
        url: str,
        *,
        policy: MediaPolicy,
        max_bytes: int,
        allowed_types: Collection[str],
        claimed_type: str | None,
        describe: str,
        authenticated: bool,
        timeout: float | None = None,
    ) -> tuple[bytes, str | None]:
        """Download a media file under `policy` (META_MEDIA_HOSTS). WhatsApp's media URLs want
        the bearer token, which goes only to the policy's credential hosts; CDN links get none."""
        auth = BearerAuth(self._token) if authenticated and self._token else None
        return await fetch_media(
            url,
            policy=policy,
            max_bytes=max_bytes,
            allowed_types=allowed_types,
            claimed_type=claimed_type,
            auth=auth,
            describe=describe,
            timeout=timeout or self.timeout,
        )


def read_answer(model: Any, answer: dict[str, Any]) -> Any:
    """A successful Graph answer as its model. A shape we cannot read after a send is not
    retried: the message may well have gone out, and sending it again would double it."""
    try:
        return model.model_validate(answer)
    except ValidationError:
        raise GraphError("the Graph API answered an unexpected shape", retryable=False) from None


def media_error(exc: GraphError, what: str) -> MediaError:
    return MediaError(f"{what}: {exc.describe()}", retryable=exc.retryable)
