"""Signed, expiring links to stored attachments, for those who fetch without logging in: the
SP4N core (a report's photos) and providers (a photo in a WhatsApp answer). Admins see
attachments through their own authorised route instead."""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SALT = "attachment-link"
MAX_AGE_SECONDS = 14 * 24 * 3600


class MediaLinks:
    def __init__(self, secret: str, base_url: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=SALT)
        self.base_url = base_url.rstrip("/")

    def url(self, attachment_id: int) -> str:
        return f"{self.base_url}/media/{self._serializer.dumps(attachment_id)}"

    def attachment_id(self, token: str) -> int | None:
        """The attachment a token names, or None when forged or expired."""
        try:
            value = self._serializer.loads(token, max_age=MAX_AGE_SECONDS)
        except (BadSignature, SignatureExpired):
            return None
        return value if isinstance(value, int) else None
