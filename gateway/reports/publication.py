"""What the agencies publish each month (Rembang SOP step 7: "mempublikasikan pengaduan yang
telah diselesaikan ... melalui website dan media sosial"): the complaints resolved in a month,
per agency, anonymised.

Resolved: answered in that month (local date of the answer) and not reopened since (`answered`
or `closed`). Never published: `rahasia` complaints, and anything that could name a person —
only the title and the published text, built by `gateway.complaints.disclosure` as for the agency
(the clean text — no SMS slang — with personal data masked) are shown; never the original text, the
reporter, their contacts or the tracking code.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlmodel import Session, col

from config.messages import t
from gateway.complaints import disclosure
from gateway.reports.figures import Period
from gateway.store.models import Agency, Complaint, Reporter, Status
from workdays.calendar import WorkingCalendar

RESOLVED = (Status.ANSWERED.value, Status.CLOSED.value)
MAX_TEXT = 600  # a post, not a dossier


@dataclass(frozen=True)
class Resolved:
    title: str
    text: str
    category: str | None
    kecamatan: str | None
    answered_on: date


@dataclass
class AgencyResolved:
    code: str
    name: str
    items: list[Resolved] = field(default_factory=list)


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1].rsplit(" ", 1)[0] + "…"


def _published() -> tuple[ColumnElement[bool], ...]:
    """What the page may show: resolved, not `rahasia`, with an agency (joined by the caller)."""
    return (
        col(Complaint.status).in_(RESOLVED),
        col(Complaint.rahasia).is_(False),
    )


def latest_month(session: Session, calendar: WorkingCalendar, until: date) -> Period | None:
    """The latest month, up to the one holding `until`, with something to publish."""
    end = calendar.start_of_day(Period.containing("monthly", until).last + timedelta(days=1))
    latest = session.scalar(
        select(func.max(col(Complaint.answered_at)))
        .join(Agency, col(Agency.id) == col(Complaint.agency_id))
        .where(*_published())
        .where(col(Complaint.answered_at) < end)
    )
    return Period.containing("monthly", calendar.local_date(latest)) if latest else None


def resolved(session: Session, month: Period, calendar: WorkingCalendar) -> list[AgencyResolved]:
    start = calendar.start_of_day(month.first)
    end = calendar.start_of_day(month.last + timedelta(days=1))
    rows = session.execute(
        select(col(Agency.code), col(Agency.name), Complaint, Reporter)
        .join(Agency, col(Agency.id) == col(Complaint.agency_id))
        .outerjoin(Reporter, col(Reporter.id) == col(Complaint.reporter_id))
        .where(*_published())
        .where(col(Complaint.answered_at) >= start)
        .where(col(Complaint.answered_at) < end)
        .order_by(col(Agency.name), col(Complaint.answered_at), col(Complaint.id))
    ).all()
    sections: dict[str, AgencyResolved] = {}
    for row in rows:
        section = sections.setdefault(row.code, AgencyResolved(row.code, row.name))
        complaint, reporter = row.Complaint, row.Reporter
        section.items.append(
            Resolved(
                title=disclosure.title(complaint, reporter) if complaint.title else "",
                text=_excerpt(disclosure.description(complaint, reporter)),
                category=complaint.category,
                kecamatan=complaint.kecamatan,
                answered_on=calendar.local_date(complaint.answered_at),
            )
        )
    return list(sections.values())


def month_name(lang: str, month: Period) -> str:
    return f"{t(lang, f'date.months.m{month.first.month}')} {month.first.year}"


def to_text(lang: str, month: Period, sections: list[AgencyResolved]) -> str:
    """One post per agency, plain text (fits WhatsApp, Instagram captions, Facebook)."""
    posts = []
    for section in sections:
        lines = [
            t(
                lang,
                "publication.post_title",
                agency=section.name,
                month=month_name(lang, month),
                n=len(section.items),
            )
        ]
        for item in section.items:
            place = f" ({item.kecamatan})" if item.kecamatan else ""
            lines.append(f"• {item.title or t(lang, 'publication.untitled')}{place}")
        lines.append(t(lang, "publication.post_footer"))
        posts.append("\n".join(lines))
    if not posts:
        return t(lang, "publication.none", month=month_name(lang, month)) + "\n"
    return "\n\n".join(posts) + "\n"


def to_csv(lang: str, sections: list[AgencyResolved]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            t(lang, f"publication.col.{c}")
            for c in ("agency", "answered_on", "title", "category", "kecamatan", "text")
        ]
    )
    for section in sections:
        for item in section.items:
            writer.writerow(
                [
                    section.name,
                    item.answered_on.isoformat(),
                    item.title,
                    t(lang, f"category.{item.category}") if item.category else "",
                    item.kecamatan or "",
                    item.text,
                ]
            )
    return out.getvalue()
