"""Passwords (argon2id) and accounts."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlmodel import Session

from gateway.models import Role, User

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    pass


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
        raise AccountError("username must be 1 to 80 characters")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if role is Role.LIAISON and agency_id is None:
        raise AccountError("a liaison account belongs to one agency")
    if session.scalar(select(User.id).where(User.username == username)):
        raise AccountError(f"user {username!r} already exists")
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
