"""Saved replies (issue 18): texts koordinators keep for the replies they write again and again,
for one class and/or one agency (or any), in Indonesian and English, with variables filled in
for the complaint at hand when offered in a reply, question or answer box.

Variables: {kode} (tracking code), {instansi} (the agency's name), {tenggat} (the answer
deadline, local date), {judul} (the title), {kecamatan}, {status}. An unknown `{name}` is left
as typed, so a slip shows in the box instead of failing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session, col

from config.messages import t
from gateway.clock import utcnow
from gateway.complaints.actions import ActionInvalid
from gateway.store.models import Agency, Category, Complaint, SavedReply

MAX_TITLE = 120
MAX_BODY = 4000
VARIABLES = ("kode", "instansi", "tenggat", "judul", "kecamatan", "status")


class _Keep(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(text: str, values: Mapping[str, str]) -> str:
    """The text with its variables replaced; braces that are no variable stay as they are."""
    try:
        return text.format_map(_Keep(values))
    except (ValueError, IndexError, AttributeError, KeyError):
        # A lone brace or "{0}" in a koordinator's text: show it unfilled rather than fail.
        return text


def values_for(session: Session, complaint: Complaint, lang: str, deadline: str) -> dict[str, str]:
    agency = session.get(Agency, complaint.agency_id) if complaint.agency_id else None
    return {
        "kode": complaint.tracking_code,
        "instansi": agency.name if agency else t(lang, "workplace.replies.no_agency"),
        "tenggat": deadline,
        "judul": complaint.title or "",
        "kecamatan": complaint.kecamatan or "",
        "status": t(lang, f"status.{complaint.status}"),
    }


@dataclass(frozen=True)
class Offered:
    id: int
    title: str
    text: str  # filled in, in the complaint's language


def offered(
    session: Session,
    complaint: Complaint,
    values: Mapping[str, str],
    *,
    agency_id: int | None = None,
) -> list[Offered]:
    """The active saved replies that fit the complaint's class and agency (a liaison officer:
    `agency_id`, theirs), filled in. English when the reporter writes English and the reply
    has an English text."""
    agency = agency_id if agency_id is not None else complaint.agency_id
    query = select(SavedReply).where(col(SavedReply.active).is_(True))
    query = query.where(
        or_(col(SavedReply.category).is_(None), col(SavedReply.category) == complaint.category)
    )
    query = query.where(
        or_(col(SavedReply.agency_id).is_(None), col(SavedReply.agency_id) == agency)
    )
    rows = session.scalars(query.order_by(col(SavedReply.title), col(SavedReply.id))).all()
    english = complaint.language == "en"
    return [
        Offered(
            r.id,  # type: ignore[arg-type]
            r.title,
            fill(r.body_en if english and r.body_en.strip() else r.body_id, values),
        )
        for r in rows
    ]


def all_replies(session: Session) -> list[SavedReply]:
    return list(
        session.scalars(
            select(SavedReply).order_by(col(SavedReply.active).desc(), col(SavedReply.title))
        ).all()
    )


def save(
    session: Session,
    *,
    actor: str,
    reply_id: int | None,
    title: str,
    body_id: str,
    body_en: str,
    category: str,
    agency_id: str,
    active: bool = True,
    now: datetime | None = None,
) -> SavedReply:
    """Create (reply_id None) or change a saved reply; wrong input raises ActionInvalid."""
    title = (title or "").strip()
    body_id = (body_id or "").strip()
    body_en = (body_en or "").strip()
    if not title:
        raise ActionInvalid("reply_title_required")
    if len(title) > MAX_TITLE:
        raise ActionInvalid("too_long", max=MAX_TITLE)
    if len(body_id) < 2:
        raise ActionInvalid("reply_body_required")
    if max(len(body_id), len(body_en)) > MAX_BODY:
        raise ActionInvalid("too_long", max=MAX_BODY)
    if category and category not in {c.value for c in Category}:
        raise ActionInvalid("category_required")
    agency: int | None = None
    if agency_id:
        try:
            agency = int(agency_id)
        except ValueError:
            raise ActionInvalid("agency_unknown") from None
        if session.get(Agency, agency) is None:
            raise ActionInvalid("agency_unknown")
    now = now or utcnow()
    if reply_id is None:
        reply = SavedReply(
            title=title, body_id=body_id, created_by=actor, created_at=now, body_en=""
        )
    else:
        found = session.get(SavedReply, reply_id)
        if found is None:
            raise ActionInvalid("reply_unknown")
        reply = found
    reply.title = title
    reply.body_id = body_id
    reply.body_en = body_en
    reply.category = category or None
    reply.agency_id = agency
    reply.active = active
    reply.updated_by = actor
    reply.updated_at = now
    session.add(reply)
    session.flush()
    return reply
