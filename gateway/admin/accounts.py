"""Passwords (argon2id) and accounts."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlmodel import Session, col

from gateway.store.models import Role, User

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """An account change that cannot be made; `key` names the message (admin.errors.<key>)."""

    def __init__(self, message: str, key: str = "invalid") -> None:
        self.key = key
        super().__init__(message)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def create_user(
    session: Session,
    username: str,
    password: str,
    *,
    role: Role = Role.KOORDINATOR,
    display_name: str = "",
    agency_id: int | None = None,
) -> User:
    username = username.strip().lower()
    if not username or len(username) > 80:
        raise AccountError("username must be 1 to 80 characters", "username_invalid")
    _check_password(password)
    if role is Role.LIAISON and agency_id is None:
        raise AccountError("a liaison account belongs to one agency", "liaison_needs_agency")
    if session.scalar(select(col(User.id)).where(col(User.username) == username)):
        raise AccountError(f"user {username!r} already exists", "username_taken")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        role=role.value,
        agency_id=agency_id,
    )
    session.add(user)
    session.flush()
    return user


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters", "password_too_short"
        )


def set_password(user: User, password: str) -> None:
    """A new password (reset by a koordinator): other sessions of the user end, the lock lifts."""
    _check_password(password)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None


def update_user(
    user: User,
    *,
    role: Role,
    agency_id: int | None,
    display_name: str,
    active: bool,
) -> None:
    if role is Role.LIAISON and agency_id is None:
        raise AccountError("a liaison account belongs to one agency", "liaison_needs_agency")
    user.role = role.value
    # Only a liaison belongs to an agency; the other roles see across agencies.
    user.agency_id = agency_id if role is Role.LIAISON else None
    user.display_name = display_name.strip()[:120] or user.username
    user.active = active


def unlock(user: User) -> None:
    user.failed_logins = 0
    user.locked_until = None
