"""Reporters: one person, many channel identities, linked by phone number or e-mail."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from gateway.clock import utcnow
from gateway.store.models import Complaint, Conversation, Reporter, ReporterIdentity

log = logging.getLogger(__name__)


# A known identity and its reporter in one query, built once (every chat message asks it).
_IDENTITY = (
    select(ReporterIdentity, Reporter)
    .join(Reporter, col(Reporter.id) == col(ReporterIdentity.reporter_id))
    .where(col(ReporterIdentity.channel) == bindparam("channel"))
    .where(col(ReporterIdentity.address) == bindparam("address"))
)


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
    opens_window: bool = True,
) -> tuple[Reporter, ReporterIdentity]:
    """The reporter behind (channel, address), created or linked on first contact.
    `opens_window`: the message opened the provider's messaging window to this address (a
    public comment does not: Meta allows only a private reply to it)."""
    found = session.execute(_IDENTITY, {"channel": channel, "address": address}).first()
    if found is not None:
        identity, reporter = found
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
    if opens_window:
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


def link_private_thread(session: Session, channel: str, commenter: str, resolved: str) -> None:
    """The private reply to `commenter`'s comment reached the messaging id `resolved`: their
    direct messages will come from it. It joins the commenter's reporter, and the conversation
    (and open complaints) the comment started move to it, so the person continues where the
    comment left off. Instagram's ids are the same; Facebook's may differ."""
    if not commenter or not resolved or commenter == resolved:
        return
    source = session.scalar(
        select(ReporterIdentity)
        .where(col(ReporterIdentity.channel) == channel)
        .where(col(ReporterIdentity.address) == commenter)
    )
    if source is None:
        return
    target = session.scalar(
        select(ReporterIdentity)
        .where(col(ReporterIdentity.channel) == channel)
        .where(col(ReporterIdentity.address) == resolved)
    )
    if target is None:
        session.add(
            ReporterIdentity(
                reporter_id=source.reporter_id,
                channel=channel,
                address=resolved,
                display_name=source.display_name,
                created_at=utcnow(),
            )
        )
    elif target.reporter_id != source.reporter_id:
        # They wrote to us before, as another reporter record: their existing conversation
        # stays theirs; merging two reporters is an admin's decision, not the bot's.
        log.info("private reply reached a known sender", extra={"channel": channel})
        return
    existing = session.scalar(
        select(col(Conversation.id))
        .where(col(Conversation.channel) == channel)
        .where(col(Conversation.address) == resolved)
    )
    conversation = session.scalar(
        select(Conversation)
        .where(col(Conversation.channel) == channel)
        .where(col(Conversation.address) == commenter)
    )
    if conversation is not None and existing is None:
        conversation.address = resolved
        session.add(conversation)
    for complaint in session.scalars(
        select(Complaint)
        .where(col(Complaint.reply_channel) == channel)
        .where(col(Complaint.reply_address) == commenter)
    ).all():
        complaint.reply_address = resolved
        session.add(complaint)
