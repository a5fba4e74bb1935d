"""Admin sessions, CSRF tokens and the login lock-out.

The session is a signed cookie (Starlette's `SessionMiddleware`, itsdangerous under the hood)
scoped to `/admin`, HttpOnly, SameSite=Lax, Secure when the gateway is served over HTTPS. It
holds the user's id, a fingerprint of their password hash and session epoch (a password change
or a logout ends every session of the user, so a copied cookie cannot be replayed), the CSRF
token, and two clocks: an idle timeout (sliding: the cookie is re-signed at most once a minute)
and an absolute one counted from the login.

Every form an admin can post carries the session's CSRF token; a missing or forged token is
refused with 403 before anything else happens. After `admin_login_max_failures` wrong passwords
in a row an account is locked for `admin_lockout_minutes`; while locked, the password is not
even checked.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from fastapi import FastAPI, Request
from limits import RateLimitItemPerMinute
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import select, update
from sqlmodel import Session, col
from starlette.middleware.sessions import SessionMiddleware

from config.settings import Settings
from gateway.admin.accounts import hash_password, needs_rehash, verify_password
from gateway.clock import as_utc, utcnow
from gateway.store.models import Role, User

log = logging.getLogger(__name__)

SESSION_COOKIE = "lapor_admin"
CSRF_FIELD = "csrf_token"
_REFRESH_SECONDS = 60  # re-sign the cookie (sliding idle timeout) at most this often
# Compared against when the username is unknown, so both answers take as long.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def install(app: FastAPI, settings: Settings, secret: str) -> None:
    """Add the session middleware the admin pages rely on."""
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie=SESSION_COOKIE,
        max_age=settings.admin_session_idle_minutes * 60,
        path="/admin",
        same_site="lax",
        https_only=settings.secure_cookies,
    )


# --- who is logged in --------------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """The logged-in user, as the routes need them."""

    user_id: int
    username: str
    display_name: str
    role: Role
    agency_id: int | None

    @property
    def actor(self) -> str:
        """How the audit log names this user."""
        return f"user:{self.user_id}"

    @property
    def is_koordinator(self) -> bool:
        return self.role is Role.KOORDINATOR

    @property
    def is_liaison(self) -> bool:
        return self.role is Role.LIAISON

    @property
    def is_viewer(self) -> bool:
        return self.role is Role.VIEWER


class SessionState(StrEnum):
    ANONYMOUS = "anonymous"
    EXPIRED = "expired"
    ACTIVE = "active"


def session_fingerprint(secret: str, user: User) -> str:
    """Binds a session to the user's password and session epoch: a new password or a logout
    makes every earlier cookie worthless, although the cookie itself is stateless."""
    material = f"{user.password_hash}|{user.session_epoch}".encode()
    return hmac.new(secret.encode(), material, hashlib.sha256).hexdigest()[:32]


def start_session(request: Request, secret: str, user: User, now: datetime | None = None) -> None:
    """After a successful login: a fresh session (no fixation) with a fresh CSRF token."""
    stamp = int((now or utcnow()).timestamp())
    request.session.clear()
    request.session.update(
        {
            "uid": user.id,
            "fp": session_fingerprint(secret, user),
            "csrf": secrets.token_urlsafe(32),
            "login_at": stamp,
            "seen": stamp,
        }
    )


def end_session(request: Request) -> None:
    request.session.clear()


def revoke_sessions(session: Session, user_id: int) -> None:
    """Logging out: this user's session cookies, wherever they are, stop working."""
    session.execute(
        update(User)
        .where(User.id == user_id)  # type: ignore[arg-type]
        .values(session_epoch=User.session_epoch + 1)
    )


def session_principal(
    request: Request,
    db_session: Session,
    settings: Settings,
    secret: str,
    now: datetime | None = None,
    *,
    touch: bool = True,
) -> tuple[SessionState, Principal | None]:
    """The user behind the request's session, if it is still valid. `touch=False` (a page
    polling for changes by itself) does not count as activity: a tab left open still idles out."""
    data = request.session
    uid = data.get("uid")
    if not isinstance(uid, int):
        return SessionState.ANONYMOUS, None
    stamp = int((now or utcnow()).timestamp())
    idle = settings.admin_session_idle_minutes * 60
    lifetime = settings.admin_session_max_hours * 3600
    if stamp - int(data.get("seen", 0)) > idle or stamp - int(data.get("login_at", 0)) > lifetime:
        end_session(request)
        return SessionState.EXPIRED, None
    user = db_session.get(User, uid)
    if (
        user is None
        or not user.active
        or not hmac.compare_digest(str(data.get("fp", "")), session_fingerprint(secret, user))
    ):
        end_session(request)
        return SessionState.EXPIRED, None
    if touch and stamp - int(data.get("seen", 0)) >= _REFRESH_SECONDS:
        data["seen"] = stamp  # marks the session modified: the cookie is re-signed
    return SessionState.ACTIVE, Principal(
        user_id=user.id,  # type: ignore[arg-type]
        username=user.username,
        display_name=user.display_name or user.username,
        role=Role(user.role),
        agency_id=user.agency_id,
    )


# --- CSRF --------------------------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use (the login form needs one too)."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_valid(request: Request, form: Mapping[str, Any]) -> bool:
    expected = request.session.get("csrf")
    given = form.get(CSRF_FIELD)
    if not isinstance(expected, str) or not isinstance(given, str) or not expected:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


# --- flash messages ------------------------------------------------------------------------------


def flash(request: Request, kind: str, text: str) -> None:
    """A message shown once on the next page (after a redirect)."""
    messages = list(request.session.get("flash", []))
    messages.append([kind, text])
    request.session["flash"] = messages[-5:]


def take_flashes(request: Request) -> list[tuple[str, str]]:
    if "flash" not in request.session:
        return []
    return [(kind, text) for kind, text in request.session.pop("flash")]


# --- logging in ---------------------------------------------------------------------------------


def client_address(request: Request) -> str:
    """The address a login comes from (the proxy's X-Forwarded-For is applied by uvicorn's
    --forwarded-allow-ips, never read here: a client could write anything in it)."""
    return request.client.host if request.client else "unknown"


class AddressThrottle:
    """Wrong passwords per client address (issue 13): an address that guessed `max_failures`
    times, over any usernames, within `window` of its first guess may not try again until that
    window has passed. The account lock-out alone let a sprayer try five passwords on every
    account, and lock each real user out again and again.

    The counts live in a `limits` storage shared by every instance (the gateway's database, or
    the Redis of RATE_LIMIT_STORAGE): with one count per process, guesses spread over several
    instances behind the proxy were each counted by only one of them. A store that cannot be
    reached lets the guess through (the account lock-out, in the database, still counts)."""

    def __init__(self, max_failures: int, window: timedelta, storage: Storage) -> None:
        minutes = max(1, math.ceil(window.total_seconds() / 60))
        self.item = RateLimitItemPerMinute(max_failures, minutes)
        self.limiter = FixedWindowRateLimiter(storage)

    def blocked_until(self, address: str, now: datetime) -> datetime | None:
        try:
            if self.limiter.test(self.item, _THROTTLE, address):
                return None
            reset = self.limiter.get_window_stats(self.item, _THROTTLE, address).reset_time
        except Exception:
            log.warning("login throttle storage unavailable; guess allowed", exc_info=True)
            return None
        return max(datetime.fromtimestamp(reset, UTC), now)

    def failed(self, address: str, now: datetime) -> None:
        try:
            self.limiter.hit(self.item, _THROTTLE, address)
        except Exception:
            log.warning("login throttle storage unavailable; guess not counted", exc_info=True)


_THROTTLE = "login-address"


class LoginOutcome(StrEnum):
    OK = "ok"
    INVALID = "invalid"  # unknown user, inactive account or wrong password: one answer for all
    LOCKED = "locked"


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    user: User | None = None
    locked_until: datetime | None = None


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    max_failures: int,
    lockout: timedelta,
    now: datetime | None = None,
) -> LoginResult:
    """Check a login and keep the failure count; the caller commits."""
    now = now or utcnow()
    user = session.scalar(select(User).where(col(User.username) == username.strip().lower()))
    if user is None or not user.active:
        verify_password(_DUMMY_HASH, password)
        return LoginResult(LoginOutcome.INVALID)
    if user.locked_until is not None and as_utc(user.locked_until) > now:
        return LoginResult(LoginOutcome.LOCKED, locked_until=as_utc(user.locked_until))
    if not verify_password(user.password_hash, password):
        # One atomic increment: two wrong guesses at once both count.
        failures = session.execute(
            update(User)
            .where(col(User.id) == user.id)
            .values(failed_logins=col(User.failed_logins) + 1)
            .returning(col(User.failed_logins))
        ).scalar_one()
        if failures >= max_failures:
            until = now + lockout
            session.execute(
                update(User)
                .where(User.id == user.id)  # type: ignore[arg-type]
                .values(failed_logins=0, locked_until=until)
            )
            return LoginResult(LoginOutcome.LOCKED, locked_until=until)
        return LoginResult(LoginOutcome.INVALID)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.add(user)
    return LoginResult(LoginOutcome.OK, user=user)


_SAFE_NEXT = re.compile(r"^/admin(?:[/?][^\\\s]*)?$")


def safe_next(value: str | None, default: str = "/admin") -> str:
    """Where to go after logging in (or an action): only a path inside /admin (no open
    redirect); else `default`."""
    if value and _SAFE_NEXT.match(value) and "//" not in value:
        return value
    return default
