"""Security headers on every answer (issue 13 §9), as a plain ASGI middleware (no body
buffering, nothing on the webhook path but a few header lines).

- Content-Security-Policy: scripts, styles, fonts and images from the gateway only (the chart
  library is vendored under /static, the report data is a JSON block, not a script); no inline
  script or style, no plugin, no framing, forms post only to the gateway. The API
  documentation (/docs, /redoc) loads FastAPI's Swagger/ReDoc bundle from its CDN and starts
  it with an inline script, so those two pages get their own, wider policy.
- X-Frame-Options DENY (for browsers without frame-ancestors), X-Content-Type-Options nosniff,
  Referrer-Policy same-origin (a reporter's private /status/<code>/<token> link must not leak
  to another site), and Strict-Transport-Security when the request came over https (directly
  or through the proxy's X-Forwarded-Proto) or PUBLIC_BASE_URL is https.
- A route that sets its own Content-Security-Policy (an attachment served with
  `default-src 'none'`) keeps it.
"""

from __future__ import annotations

from typing import Any

PAGE_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
DOCS_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net",
        "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com",
        "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly",
        "font-src 'self' https://fonts.gstatic.com",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ]
)
DOCS_PATHS = ("/docs", "/redoc")
HSTS = "max-age=31536000"


class SecurityHeaders:
    def __init__(self, app: Any, *, public_https: bool = False) -> None:
        self.app = app
        self.public_https = public_https

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        policy = DOCS_POLICY if path.startswith(DOCS_PATHS) else PAGE_POLICY
        https = self.public_https or scope.get("scheme") == "https" or _forwarded_https(scope)

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = [
                    (b"content-security-policy", policy.encode()),
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                ]
                if https:
                    extra.append((b"strict-transport-security", HSTS.encode()))
                headers.extend(item for item in extra if item[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def _forwarded_https(scope: dict[str, Any]) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"x-forwarded-proto":
            return value.split(b",")[0].strip().lower() == b"https"
    return False
