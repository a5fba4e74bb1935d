"""The Ombudsman package (issue 18): the escalated complaints of a period — an answer overdue
became an escalation (`gateway/sla/sweeps.py`) — in the form a regency sends to the Ombudsman RI
representative office: each complaint with its class, agency, the published (masked) text, the
deadlines it missed and its timeline, as a printable page and as XLSX, and (when the gateway can
send mail) by e-mail with the XLSX attached.

What goes out is what the SP4N core and the agency read: the masked text and title, never the
reporter's identity or contact, never internal notes; the timeline names what happened and
when, by role (admin, agency, system), not by person.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy import select
from sqlmodel import Session, col

from channels.base import FileAttachment
from config.messages import t
from config.settings import Settings
from gateway import parts
from gateway.admin.complaint_view import event_label
from gateway.clock import as_utc
from gateway.complaints import disclosure
from gateway.outbox.delivery import SEND_DOCUMENT
from gateway.outbox.payloads import ChannelPayload
from gateway.outbox.queue import OutboxMessage
from gateway.reports.figures import Period
from gateway.store.models import Agency, Complaint, ComplaintEvent, Reporter, Role, User

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class OmbudsmanParts(parts.Timed, Protocol):
    """The calendar (local month bounds) and the settings (time zone)."""


@dataclass
class Step:
    at: datetime
    label: str
    by: str  # a role word: admin, agency, system, reporter, core


@dataclass
class Escalated:
    code: str
    title: str
    text: str
    category: str | None
    agency: str
    kecamatan: str | None
    received_at: datetime
    disposed_at: datetime | None
    answer_due_at: datetime | None
    escalated_at: datetime | None
    answered_at: datetime | None
    status: str
    steps: list[Step] = field(default_factory=list)

    def days_late(self, now: datetime) -> int:
        if self.answer_due_at is None:
            return 0
        end = self.answered_at or now
        return max(0, (as_utc(end) - as_utc(self.answer_due_at)).days)


def _role(actor: str, liaison_ids: set[str]) -> str:
    if actor.startswith("user:"):
        return "agency" if actor in liaison_ids else "admin"
    return actor.split(":", 1)[0] or "system"


def package(gateway: OmbudsmanParts, session: Session, month: Period, lang: str) -> list[Escalated]:
    calendar = gateway.calendar
    start = calendar.start_of_day(month.first)
    end = calendar.start_of_day(month.last + timedelta(days=1))
    rows = session.execute(
        select(Complaint, col(Agency.name), Reporter)
        .outerjoin(Agency, col(Agency.id) == col(Complaint.agency_id))
        .outerjoin(Reporter, col(Reporter.id) == col(Complaint.reporter_id))
        .where(
            col(Complaint.escalated).is_(True),
            col(Complaint.escalated_at) >= start,
            col(Complaint.escalated_at) < end,
        )
        .order_by(col(Complaint.escalated_at), col(Complaint.id))
    ).all()
    liaison_ids = {
        f"user:{uid}"
        for uid in session.scalars(select(col(User.id)).where(col(User.role) == Role.LIAISON.value))
    }
    found = []
    for complaint, agency, reporter in rows:
        events = session.scalars(
            select(ComplaintEvent)
            .where(col(ComplaintEvent.complaint_id) == complaint.id)
            .where(col(ComplaintEvent.action) != "note_added")
            .order_by(col(ComplaintEvent.created_at), col(ComplaintEvent.id))
        ).all()
        found.append(
            Escalated(
                code=complaint.tracking_code,
                title=disclosure.title(complaint, reporter) if complaint.title else "",
                text=disclosure.description(complaint, reporter),
                category=complaint.category,
                agency=agency or "",
                kecamatan=complaint.kecamatan,
                received_at=complaint.received_at,
                disposed_at=complaint.disposed_at,
                answer_due_at=complaint.answer_due_at,
                escalated_at=complaint.escalated_at,
                answered_at=complaint.answered_at,
                status=complaint.status,
                steps=[
                    Step(e.created_at, event_label(lang, e.action), _role(e.actor, liaison_ids))
                    for e in events
                ],
            )
        )
    return found


def to_xlsx(
    items: list[Escalated], month: Period, lang: str, timezone: str, now: datetime
) -> bytes:
    zone = ZoneInfo(timezone)

    def local(value: datetime | None) -> str:
        return as_utc(value).astimezone(zone).strftime("%d-%m-%Y %H:%M") if value else ""

    book = Workbook()
    sheet = book.active
    sheet.title = t(lang, "workplace.ombudsman.sheet_complaints")[:31]
    sheet.append([t(lang, "workplace.ombudsman.title", month=month.label)])
    sheet["A1"].font = Font(bold=True, size=13)
    headers = [
        t(lang, f"workplace.ombudsman.col.{name}")
        for name in (
            "code",
            "title",
            "category",
            "agency",
            "kecamatan",
            "received",
            "disposed",
            "answer_due",
            "escalated",
            "answered",
            "days_late",
            "status",
            "text",
        )
    ]
    sheet.append(headers)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for item in items:
        sheet.append(
            [
                item.code,
                item.title,
                t(lang, f"category.{item.category}") if item.category else "",
                item.agency,
                item.kecamatan or "",
                local(item.received_at),
                local(item.disposed_at),
                local(item.answer_due_at),
                local(item.escalated_at),
                local(item.answered_at),
                item.days_late(now),
                t(lang, f"status.{item.status}"),
                item.text,
            ]
        )
    for row in sheet.iter_rows(min_row=3):
        row[-1].alignment = Alignment(wrap_text=True, vertical="top")
    steps = book.create_sheet(t(lang, "workplace.ombudsman.sheet_timeline")[:31])
    steps.append(
        [
            t(lang, "workplace.ombudsman.col.code"),
            t(lang, "workplace.ombudsman.col.when"),
            t(lang, "workplace.ombudsman.col.step"),
            t(lang, "workplace.ombudsman.col.by"),
        ]
    )
    for cell in steps[1]:
        cell.font = Font(bold=True)
    for item in items:
        for step in item.steps:
            steps.append(
                [
                    item.code,
                    local(step.at),
                    step.label,
                    t(lang, f"workplace.ombudsman.by.{step.by}"),
                ]
            )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- by e-mail ------------------------------------------------------------------------------


def can_email(settings: Settings) -> bool:
    """The package can be mailed when the gateway can send mail (SMTP_HOST, EMAIL_ADDRESS)."""
    return bool(settings.smtp_host and settings.email_address)


def email_message(
    items: list[Escalated],
    month: Period,
    *,
    address: str,
    send_id: str,
    lang: str,
    timezone: str,
    now: datetime,
) -> OutboxMessage:
    """The package for `month` as an e-mail to `address` (the Ombudsman RI representative
    office, or whoever the koordinator typed), the XLSX attached. What is attached is the same
    masked package as the page and the download; `send_id` (the form's) makes a double click
    one mail."""
    body = to_xlsx(items, month, lang, timezone, now)
    text = t(lang, "mail.ombudsman.text", month=month.label, count=len(items))
    return OutboxMessage(
        kind=SEND_DOCUMENT,
        key=f"ombudsman:{month.label}:{address}:{send_id}",
        channel="email",
        recipient=address,
        payload=ChannelPayload(
            text,
            kind="notification",
            language=lang,
            template_variables={"subject": t(lang, "mail.ombudsman.subject", month=month.label)},
            files=(FileAttachment(f"ombudsman-{month.label}.xlsx", XLSX, body),),
        ),
    )
