"""E-mail threads: which complaint a mail belongs to, and the headers that keep our replies in
the citizen's thread.

A mail belongs to a complaint (Zammad's order): by the tracking code in its subject, else by
`In-Reply-To`/`References` naming a mail of the complaint (the citizen's earlier mails, whose
Message-ID is their external id, or our replies, whose Message-ID is the outbox row's
`provider_message_id`). Only mail from the complaint's own reporter joins it: a stranger who
copies a code or answers a forwarded mail starts a complaint of their own, so nobody can add to
(or reopen) another person's complaint by knowing its code.

A reply names the reporter's latest mail of the complaint in `In-Reply-To` and carries the chain
in `References`, with "Re: <their subject>"; the channel puts the tracking code in front of the
subject. A reporter who never wrote a mail (the web form) gets the catalog's subject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session, col

from config.messages import t
from gateway.store.models import Complaint, InboundMessage, OutboxItem, Reporter

CHANNEL = "email"
MAX_REFERENCES = 20  # RFC 5322 lets a chain grow; mail clients keep the first and last few
_PREFIXES = re.compile(r"^(?:\s*(?:(?:re|aw|fwd?|balas|tr)\s*:|\[LPR-[0-9A-Z]{6}\]))+\s*", re.I)


def bare_subject(subject: str) -> str:
    """A subject without the "Re: Re: [code] Fwd:" a thread piles up in front of it."""
    return _PREFIXES.sub("", subject or "").strip()


def reply_subject(subject: str, fallback: str) -> str:
    """Re: and the bare subject (the channel puts the code in front); `fallback` when they
    wrote none."""
    base = bare_subject(subject)
    return f"Re: {base}" if base else fallback


@dataclass(frozen=True)
class ReplyHeaders:
    reply_to: str | None  # the Message-ID our mail answers
    references: str  # the chain, space-separated
    subject: str


def _message_ids(row: InboundMessage) -> list[str]:
    extra = row.extra or {}
    ids = [row.reply_to] if row.reply_to else []
    ids += [i for i in str(extra.get("references") or "").split() if i not in ids]
    return ids


def belongs_to(session: Session, complaint: Complaint, sender: str) -> bool:
    """Whether `sender` is the complaint's reporter (their reply address or their e-mail)."""
    address = sender.strip().lower()
    if not address:
        return False
    if (complaint.reply_address or "").lower() == address:
        return True
    reporter = session.get(Reporter, complaint.reporter_id) if complaint.reporter_id else None
    return bool(reporter and (reporter.email or "").lower() == address)


def thread_of(
    session: Session, row: InboundMessage, *, any_sender: bool = False
) -> Complaint | None:
    """The complaint an incoming mail continues, or None (a new thread). `any_sender`: automatic
    mail (a bounce comes from the mail system, not the reporter), which is only noted, never
    added to the complaint or answered."""
    code = (row.extra or {}).get("tracking_code")
    if code:
        complaint = session.scalar(select(Complaint).where(col(Complaint.tracking_code) == code))
        if complaint is not None and (any_sender or belongs_to(session, complaint, row.sender)):
            return complaint
    ids = _message_ids(row)
    if not ids:
        return None
    candidates = list(
        session.scalars(
            select(col(InboundMessage.complaint_id))
            .where(col(InboundMessage.channel) == CHANNEL)
            .where(col(InboundMessage.external_id).in_(ids))
            .where(col(InboundMessage.complaint_id).is_not(None))
            .order_by(col(InboundMessage.id).desc())
        ).all()
    )
    candidates += session.scalars(
        select(col(OutboxItem.complaint_id))
        .where(col(OutboxItem.channel) == CHANNEL)
        .where(col(OutboxItem.provider_message_id).in_(ids))
        .where(col(OutboxItem.complaint_id).is_not(None))
        .order_by(col(OutboxItem.id).desc())
    ).all()
    for complaint_id in candidates:
        complaint = session.get(Complaint, complaint_id)
        if complaint is not None and (any_sender or belongs_to(session, complaint, row.sender)):
            return complaint
    return None


def reply_headers(session: Session, complaint: Complaint, address: str) -> ReplyHeaders:
    """Where our next mail to `address` about `complaint` goes in their thread."""
    recent = session.scalars(
        select(InboundMessage)
        .where(col(InboundMessage.channel) == CHANNEL)
        .where(col(InboundMessage.complaint_id) == complaint.id)
        .where(col(InboundMessage.sender) == address)
        .order_by(col(InboundMessage.received_at).desc(), col(InboundMessage.id).desc())
        .limit(20)
    ).all()
    # The person's latest mail, not their out-of-office (it stays in the chain it answered).
    latest = next((r for r in recent if not (r.extra or {}).get("automatic")), None)
    if latest is None:
        return ReplyHeaders(None, "", t(complaint.language, "mail.subject"))
    own_id = latest.external_id if latest.external_id.startswith("<") else None
    chain = [i for i in str((latest.extra or {}).get("references") or "").split() if i]
    if latest.reply_to and latest.reply_to not in chain:
        chain.append(latest.reply_to)
    if chain and len(chain) > MAX_REFERENCES:
        chain = chain[:1] + chain[-(MAX_REFERENCES - 1) :]
    subject = reply_subject(
        str((latest.extra or {}).get("subject") or ""), t(complaint.language, "mail.subject")
    )
    return ReplyHeaders(own_id, " ".join(chain), subject)
