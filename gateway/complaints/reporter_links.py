"""Private links for reporters who cannot answer on a chat channel (the web form): the public
tracking code plus a secret token, `/status/{code}/{token}`. Anyone may hold a code (it is read
aloud, shared, printed on the status page); only the reporter holds the link, which opens the
answer with its proof photos and the PUAS / TIDAK PUAS form.

The token is an HMAC of the code under SECRET_KEY (nothing stored, nothing to leak from the
database); it is compared in constant time. Rotating SECRET_KEY invalidates every link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

_PURPOSE = b"reporter-private-link:v1:"
TOKEN_BYTES = 16  # 128 bits: not guessable, short enough for an SMS


class ReporterLinks:
    def __init__(self, secret: str, base_url: str) -> None:
        self._secret = secret.encode()
        self.base_url = base_url.rstrip("/")

    def token(self, code: str) -> str:
        digest = hmac.new(self._secret, _PURPOSE + code.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:TOKEN_BYTES]).decode().rstrip("=")

    def valid(self, code: str, token: str) -> bool:
        return hmac.compare_digest(self.token(code).encode(), token.encode())

    def path(self, code: str) -> str:
        return f"/status/{code}/{self.token(code)}"

    def url(self, code: str) -> str:
        return f"{self.base_url}{self.path(code)}"
