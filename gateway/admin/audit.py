"""The global audit log (issue 18): every action on complaints (`complaint_event`), who changed
which user, agency, liaison officer or saved reply (`audit_entry`), and the holidays and working
days admins declared or removed (`calendar_day`), in one list, filtered, newest first, and as
CSV. What people wrote (notes, answers, reasons) is not repeated here: the log says who did
what to which thing and when; the complaint page holds the words.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session, col

from gateway.admin.notes import user_names
from gateway.clock import as_utc, utcnow
from gateway.store.models import AuditEntry, CalendarDay, Complaint, ComplaintEvent

AREAS = (
    "complaint",
    "user",
    "agency",
    "liaison",
    "saved_reply",
    "calendar",
    "outbox",
    "ombudsman",
)
MAX_ROWS = 5000


def record(
    session: Session,
    *,
    actor: str,
    area: str,
    change: str,
    subject: str,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """One line of the log, in the caller's transaction (saved with the change or not at all).
    `change` (created, changed, password, unlocked) is no complaint event: it has no timeline
    label."""
    session.add(
        AuditEntry(
            actor=actor,
            area=area,
            action=change,
            subject=subject[:200],
            detail=dict(detail or {}),
            created_at=utcnow(),
        )
    )


@dataclass(frozen=True)
class AuditFilter:
    area: str = ""
    actor: str = ""  # user:<id>
    subject: str = ""  # a tracking code, username, agency code, title (part of it)
    day_from: date | None = None
    day_to: date | None = None

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> AuditFilter:
        def day(value: str | None) -> date | None:
            try:
                return date.fromisoformat(value) if value else None
            except ValueError:
                return None

        area = params.get("area", "")
        actor = params.get("actor", "")
        return cls(
            area=area if area in AREAS else "",
            actor=actor if actor.startswith("user:") and actor[5:].isdigit() else "",
            subject=params.get("subject", "").strip()[:100],
            day_from=day(params.get("from")),
            day_to=day(params.get("to")),
        )


@dataclass(frozen=True)
class Line:
    at: datetime
    actor: str  # user:<id>, system, reporter, core
    actor_name: str
    area: str
    action: str
    subject: str
    detail: str = ""


def _bounds(f: AuditFilter, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    start = datetime.combine(f.day_from, time.min, tz) if f.day_from else None
    end = datetime.combine(f.day_to + timedelta(days=1), time.min, tz) if f.day_to else None
    return start, end


def lines(session: Session, f: AuditFilter, tz: ZoneInfo, limit: int = 500) -> list[Line]:
    """The log's newest `limit` lines matching the filter."""
    start, end = _bounds(f, tz)
    found: list[Line] = []
    needle = f.subject.lower()
    if f.area in ("", "complaint"):
        query = select(ComplaintEvent, col(Complaint.tracking_code)).join(
            Complaint,
            col(Complaint.id) == ComplaintEvent.complaint_id,
        )
        if f.actor:
            query = query.where(col(ComplaintEvent.actor) == f.actor)
        if start:
            query = query.where(col(ComplaintEvent.created_at) >= start)
        if end:
            query = query.where(col(ComplaintEvent.created_at) < end)
        if needle:
            query = query.where(col(Complaint.tracking_code).ilike(f"%{needle}%"))
        rows = session.execute(query.order_by(col(ComplaintEvent.id).desc()).limit(limit)).all()
        for event, code in rows:
            moved = f"{event.from_status or ''} → {event.to_status}" if event.to_status else ""
            found.append(
                Line(
                    as_utc(event.created_at),
                    event.actor,
                    "",
                    "complaint",
                    event.action,
                    code,
                    moved,
                )
            )
    if f.area != "complaint" and f.area != "calendar":
        entries = select(AuditEntry)
        if f.area:
            entries = entries.where(col(AuditEntry.area) == f.area)
        if f.actor:
            entries = entries.where(col(AuditEntry.actor) == f.actor)
        if start:
            entries = entries.where(col(AuditEntry.created_at) >= start)
        if end:
            entries = entries.where(col(AuditEntry.created_at) < end)
        if needle:
            entries = entries.where(col(AuditEntry.subject).ilike(f"%{needle}%"))
        for entry in session.scalars(entries.order_by(col(AuditEntry.id).desc()).limit(limit)):
            detail = ", ".join(f"{k}={v}" for k, v in sorted(entry.detail.items()))
            found.append(
                Line(
                    as_utc(entry.created_at),
                    entry.actor,
                    "",
                    entry.area,
                    entry.action,
                    entry.subject,
                    detail,
                )
            )
    if f.area in ("", "calendar"):
        for day in session.scalars(
            select(CalendarDay).order_by(col(CalendarDay.id).desc()).limit(limit)
        ):
            events = [(as_utc(day.created_at), day.created_by, "declared")]
            if day.removed_at is not None:
                events.append((as_utc(day.removed_at), day.removed_by or "", "removed"))
            for at, actor, action in events:
                if f.actor and actor != f.actor:
                    continue
                if (start and at < start) or (end and at >= end):
                    continue
                subject = f"{day.day.isoformat()} {day.name}"
                if needle and needle not in subject.lower():
                    continue
                found.append(Line(at, actor, "", "calendar", f"{day.kind}_{action}", subject))
    found.sort(key=lambda line: line.at, reverse=True)
    found = found[:limit]
    names = user_names(session, [line.actor for line in found])
    return [
        Line(
            line.at,
            line.actor,
            names.get(line.actor, ""),
            line.area,
            line.action,
            line.subject,
            line.detail,
        )
        for line in found
    ]


def to_csv(rows: list[Line], tz: ZoneInfo) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["waktu", "pelaku", "nama", "bagian", "tindakan", "subjek", "rincian"])
    for line in rows:
        writer.writerow(
            [
                line.at.astimezone(tz).isoformat(timespec="seconds"),
                line.actor,
                _safe(line.actor_name),
                line.area,
                line.action,
                _safe(line.subject),
                _safe(line.detail),
            ]
        )
    return buffer.getvalue()


def _safe(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (names and titles are typed by people)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
