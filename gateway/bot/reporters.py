"""Reporters: one person, many channel identities, linked by phone number or e-mail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from gateway.store.models import Reporter, ReporterIdentity


def identify(
    session: Session,
    channel: str,
    address: str,
    *,
    now: datetime,
    display_name: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    language: str | None = None,
) -> tuple[Reporter, ReporterIdentity]:
    """The reporter behind (channel, address), created or linked on first contact."""
    identity = session.scalar(
        select(ReporterIdentity)
        .where(col(ReporterIdentity.channel) == channel)
        .where(col(ReporterIdentity.address) == address)
    )
    if identity is not None:
        reporter = session.get(Reporter, identity.reporter_id)
        assert reporter is not None
    else:
        reporter = _find_by_contact(session, phone, email) or Reporter(created_at=now)
        session.add(reporter)
        session.flush()
        identity = ReporterIdentity(
            reporter_id=reporter.id,  # type: ignore[arg-type]
            channel=channel,
            address=address,
            created_at=now,
        )
    identity.last_inbound_at = now
    if display_name:
        identity.display_name = display_name[:200]
        reporter.display_name = reporter.display_name or display_name[:200]
    if phone and not reporter.phone:
        reporter.phone = phone
    if email and not reporter.email:
        reporter.email = email
    if language:
        reporter.language = language
    session.add(reporter)
    session.add(identity)
    session.flush()
    return reporter, identity


def _find_by_contact(session: Session, phone: str | None, email: str | None) -> Reporter | None:
    if phone:
        found = session.scalar(select(Reporter).where(col(Reporter.phone) == phone).limit(1))
        if found:
            return found
    if email:
        return session.scalar(select(Reporter).where(col(Reporter.email) == email).limit(1))
    return None
