"""The figures the regency is judged by: daily issue identification, monthly recap, per-agency
semester recap (liaison responsiveness), annual report — per agency and per channel.

A report covers the complaints **received** in its period (local dates; folded duplicates,
`merged`, are not counted again), looked at **as of** a moment (the report's creation, or the end
of the period for `--as-of end`): what had happened to them by then. The definitions
(docs/reports.md) in one place:

- received: complaints received in the period;
- disposed: of those, disposed to an agency (their first disposition) by the as-of moment;
- followed up: disposed and then acknowledged by the agency ("sedang diproses", `in_progress`)
  or answered — the Ministry's "ditindaklanjuti"; % of the disposed;
- answered: an answer was given (by a liaison officer or through the SP4N core);
- due: disposed complaints whose answer is in or whose answer deadline has passed;
  answered within the deadline: answered no later than the deadline (the stored answer
  deadline, pauses and holidays included); % of the due;
- overdue: due but not answered within the deadline (late, or still unanswered past it);
- escalated: flagged for the Ombudsman;
- working days to follow-up / acknowledge / answer: `WorkingCalendar.working_days_between`
(workdays/calendar.py) from the first
  disposition to the first acknowledgement-or-answer / acknowledgement / answer (0 = the same
  day); average and median over the complaints that got there.

Every percentage and average over nothing is 0, so an empty period shows zeros.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy import func, select
from sqlmodel import Session, col

from gateway.store.models import Agency, Complaint, ComplaintEvent, Status
from workdays.calendar import WorkingCalendar

ReportKind = Literal["daily", "monthly", "semester", "annual"]
KINDS: tuple[ReportKind, ...] = ("daily", "monthly", "semester", "annual")
# The channels a complaint can come from, in the order reports and the inbox filter list them.
CHANNELS = (
    "webform",
    "twilio_sms",
    "twilio_whatsapp",
    "telegram",
    "whatsapp_cloud",
    "instagram",
    "facebook",
    "email",
    "tiktok",
    "x",
    "youtube",
    "manual",
    "import",
    "lapor",
)
CATEGORIES = ("aspirasi", "permintaan_informasi", "pengaduan", "pengaduan_berkadar_pengawasan")
NO_AGENCY = "-"
S = Status


# --- periods -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    kind: ReportKind
    first: date
    last: date

    @property
    def label(self) -> str:
        if self.kind == "daily":
            return self.first.isoformat()
        if self.kind == "monthly":
            return self.first.strftime("%Y-%m")
        if self.kind == "semester":
            return f"{self.first.year}-S{1 if self.first.month == 1 else 2}"
        return str(self.first.year)

    @classmethod
    def parse(cls, kind: str, value: str) -> Period:
        """`2026-10-05` (daily), `2026-10` (monthly), `2026-S2` / `2026-2` (semester), `2026`."""
        text = value.strip().upper()
        try:
            if kind == "daily":
                day = date.fromisoformat(text)
                return cls("daily", day, day)
            if kind == "monthly":
                year, month = (int(part) for part in text.split("-"))
                return cls.month(year, month)
            if kind == "semester":
                year_text, half = text.replace("H", "S").split("-")
                number = int(half.removeprefix("S"))
                if number not in (1, 2):
                    raise ValueError(text)
                year = int(year_text)
                first = date(year, 1 if number == 1 else 7, 1)
                return cls(
                    "semester", first, date(year, 6, 30) if number == 1 else date(year, 12, 31)
                )
            if kind == "annual":
                year = int(text)
                return cls("annual", date(year, 1, 1), date(year, 12, 31))
        except ValueError:
            pass
        examples = {
            "daily": "2026-10-05",
            "monthly": "2026-10",
            "semester": "2026-S2",
            "annual": "2026",
        }
        if kind not in examples:
            raise ValueError(f"unknown report {kind!r}; one of {', '.join(KINDS)}")
        raise ValueError(f"{value!r} is not a {kind} period (e.g. {examples[kind]})")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        first = date(year, month, 1)
        following = date(year + month // 12, month % 12 + 1, 1)
        return cls("monthly", first, following - timedelta(days=1))

    @classmethod
    def containing(cls, kind: ReportKind, day: date) -> Period:
        """The period of `kind` that contains `day` (the default: the current one)."""
        if kind == "daily":
            return cls("daily", day, day)
        if kind == "monthly":
            return cls.month(day.year, day.month)
        if kind == "semester":
            return cls.parse("semester", f"{day.year}-S{1 if day.month <= 6 else 2}")
        return cls.parse("annual", str(day.year))

    def buckets(self) -> list[tuple[str, date, date]]:
        """The trend's steps: days of a month, months of a semester or a year, hours not."""
        if self.kind in ("daily", "monthly"):
            days = (self.last - self.first).days + 1
            steps = [self.first + timedelta(days=i) for i in range(days)]
            return [(d.isoformat(), d, d) for d in steps]
        months = []
        cursor = self.first
        while cursor <= self.last:
            month = Period.month(cursor.year, cursor.month)
            months.append((month.label, month.first, month.last))
            cursor = month.last + timedelta(days=1)
        return months


# --- one complaint's facts ----------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What the figures need of one complaint (timestamps aware UTC; first_* from the audit)."""

    id: int
    code: str
    title: str
    channel: str
    agency_id: int | None
    category: str | None
    kecamatan: str | None
    status: str
    received_at: datetime
    disposed_at: datetime | None
    acknowledged_at: datetime | None
    answered_at: datetime | None
    answer_due_at: datetime | None
    escalated: bool

    @property
    def followed_up_at(self) -> datetime | None:
        stamps = [s for s in (self.acknowledged_at, self.answered_at) if s is not None]
        return min(stamps) if stamps else None


def _rounded(value: float) -> float:
    return round(value, 1)


@dataclass
class Figures:
    received: int = 0
    disposed: int = 0
    followed_up: int = 0
    acknowledged: int = 0
    answered: int = 0
    due: int = 0
    answered_on_time: int = 0
    overdue: int = 0
    escalated: int = 0
    closed: int = 0
    followup_days: list[int] = field(default_factory=list)
    acknowledge_days: list[int] = field(default_factory=list)
    answer_days: list[int] = field(default_factory=list)

    def add(self, facts: Facts, calendar: WorkingCalendar, as_of: datetime) -> None:
        self.received += 1
        self.escalated += facts.escalated
        self.closed += facts.status == S.CLOSED
        if facts.disposed_at is None:
            return
        self.disposed += 1
        start = facts.disposed_at
        if facts.followed_up_at is not None:
            self.followed_up += 1
            self.followup_days.append(calendar.working_days_between(start, facts.followed_up_at))
        if facts.acknowledged_at is not None:
            self.acknowledged += 1
            self.acknowledge_days.append(
                calendar.working_days_between(start, facts.acknowledged_at)
            )
        due = facts.answer_due_at
        if facts.answered_at is not None:
            self.answered += 1
            self.answer_days.append(calendar.working_days_between(start, facts.answered_at))
            self.due += 1
            if due is None or facts.answered_at <= due:
                self.answered_on_time += 1
            else:
                self.overdue += 1
        elif due is not None and as_of > due:
            self.due += 1
            self.overdue += 1

    @property
    def followed_up_pct(self) -> float:
        return _rounded(100 * self.followed_up / self.disposed) if self.disposed else 0.0

    @property
    def on_time_pct(self) -> float:
        return _rounded(100 * self.answered_on_time / self.due) if self.due else 0.0

    @staticmethod
    def _mean(values: list[int]) -> float:
        return _rounded(statistics.fmean(values)) if values else 0.0

    @staticmethod
    def _median(values: list[int]) -> float:
        return _rounded(float(statistics.median(values))) if values else 0.0

    @property
    def avg_followup_days(self) -> float:
        return self._mean(self.followup_days)

    @property
    def median_followup_days(self) -> float:
        return self._median(self.followup_days)

    @property
    def avg_acknowledge_days(self) -> float:
        return self._mean(self.acknowledge_days)

    @property
    def median_acknowledge_days(self) -> float:
        return self._median(self.acknowledge_days)

    @property
    def avg_answer_days(self) -> float:
        return self._mean(self.answer_days)

    @property
    def median_answer_days(self) -> float:
        return self._median(self.answer_days)


# The columns every export and page shows, in order: (name, how to read it off Figures).
COLUMNS: tuple[tuple[str, Callable[[Figures], float | int]], ...] = (
    ("received", lambda f: f.received),
    ("disposed", lambda f: f.disposed),
    ("followed_up", lambda f: f.followed_up),
    ("followed_up_pct", lambda f: f.followed_up_pct),
    ("answered", lambda f: f.answered),
    ("due", lambda f: f.due),
    ("answered_on_time", lambda f: f.answered_on_time),
    ("on_time_pct", lambda f: f.on_time_pct),
    ("overdue", lambda f: f.overdue),
    ("escalated", lambda f: f.escalated),
    ("avg_followup_days", lambda f: f.avg_followup_days),
    ("median_followup_days", lambda f: f.median_followup_days),
    ("avg_acknowledge_days", lambda f: f.avg_acknowledge_days),
    ("median_acknowledge_days", lambda f: f.median_acknowledge_days),
    ("avg_answer_days", lambda f: f.avg_answer_days),
    ("median_answer_days", lambda f: f.median_answer_days),
)


@dataclass
class Row:
    key: str  # agency code, channel, category, kecamatan, bucket label
    label: str
    figures: Figures

    def values(self) -> list[float | int]:
        return [read(self.figures) for _, read in COLUMNS]


@dataclass
class Report:
    period: Period
    as_of: datetime
    agency: str | None  # the one agency the report is limited to (liaison officers)
    total: Figures
    by_agency: list[Row]
    by_channel: list[Row]
    by_category: list[Row]
    by_kecamatan: list[Row]
    trend: list[Row]
    issues: list[Facts]  # the daily report's list of the day's complaints
    agency_names: dict[int, str] = field(default_factory=dict)

    def sections(self) -> list[tuple[str, list[Row]]]:
        total = [Row("total", "total", self.total)]
        return [
            ("total", total),
            ("agency", self.by_agency),
            ("channel", self.by_channel),
            ("category", self.by_category),
            ("kecamatan", self.by_kecamatan),
            ("trend", self.trend),
        ]


# --- reading the database -------------------------------------------------------------------------


def load_facts(
    session: Session,
    period: Period,
    calendar: WorkingCalendar,
    as_of: datetime,
    agency_id: int | None = None,
) -> list[Facts]:
    """The complaints received in the period, with their first disposition, acknowledgement and
    answer up to `as_of` (two queries whatever the size)."""
    start = calendar.start_of_day(period.first)
    end = calendar.start_of_day(period.last + timedelta(days=1))
    scope = (
        select(col(Complaint.id))
        .where(col(Complaint.received_at) >= start)
        .where(col(Complaint.received_at) < end)
        .where(col(Complaint.received_at) <= as_of)
        .where(col(Complaint.status) != S.MERGED.value)
    )
    if agency_id is not None:
        scope = scope.where(col(Complaint.agency_id) == agency_id)
    firsts: dict[tuple[int, str], datetime] = {}
    for complaint_id, to_status, first in session.execute(
        select(
            col(ComplaintEvent.complaint_id),
            col(ComplaintEvent.to_status),
            func.min(col(ComplaintEvent.created_at)),
        )
        .where(col(ComplaintEvent.complaint_id).in_(scope.scalar_subquery()))
        .where(
            col(ComplaintEvent.to_status).in_(
                (S.DISPOSED.value, S.IN_PROGRESS.value, S.ANSWERED.value)
            )
        )
        .where(col(ComplaintEvent.created_at) <= as_of)
        .group_by(col(ComplaintEvent.complaint_id), col(ComplaintEvent.to_status))
    ):
        firsts[(complaint_id, to_status)] = _aware(first)
    rows = session.execute(
        select(
            col(Complaint.id),
            col(Complaint.tracking_code),
            col(Complaint.title),
            col(Complaint.origin_channel),
            col(Complaint.agency_id),
            col(Complaint.category),
            col(Complaint.kecamatan),
            col(Complaint.status),
            col(Complaint.received_at),
            col(Complaint.answer_due_at),
            col(Complaint.escalated),
            col(Complaint.escalated_at),
        )
        .where(col(Complaint.id).in_(scope.scalar_subquery()))
        .order_by(col(Complaint.received_at), col(Complaint.id))
    ).all()
    facts = []
    for row in rows:
        escalated = bool(row.escalated) and (row.escalated_at is None or row.escalated_at <= as_of)
        facts.append(
            Facts(
                id=row.id,
                code=row.tracking_code,
                title=row.title,
                channel=row.origin_channel,
                agency_id=row.agency_id,
                category=row.category,
                kecamatan=row.kecamatan,
                status=row.status,
                received_at=row.received_at,
                disposed_at=firsts.get((row.id, S.DISPOSED.value)),
                acknowledged_at=firsts.get((row.id, S.IN_PROGRESS.value)),
                answered_at=firsts.get((row.id, S.ANSWERED.value)),
                answer_due_at=row.answer_due_at,
                escalated=escalated,
            )
        )
    return facts


def _aware(value: datetime) -> datetime:
    from gateway.clock import as_utc

    return as_utc(value)


# --- building a report ----------------------------------------------------------------------------


def _figures(facts: Iterable[Facts], calendar: WorkingCalendar, as_of: datetime) -> Figures:
    figures = Figures()
    for item in facts:
        figures.add(item, calendar, as_of)
    return figures


def _grouped(
    facts: list[Facts],
    key: Callable[[Facts], str],
    labels: dict[str, str],
    calendar: WorkingCalendar,
    as_of: datetime,
    *,
    keep_empty: Iterable[str] = (),
) -> list[Row]:
    groups: dict[str, list[Facts]] = {name: [] for name in keep_empty}
    for item in facts:
        groups.setdefault(key(item), []).append(item)
    rows = [
        Row(name, labels.get(name, name), _figures(members, calendar, as_of))
        for name, members in groups.items()
    ]
    return sorted(rows, key=lambda r: (-r.figures.received, r.label.lower()))


def build(
    session: Session,
    period: Period,
    calendar: WorkingCalendar,
    as_of: datetime,
    *,
    agency_id: int | None = None,
) -> Report:
    """The report of `period` as of `as_of`, for every agency or for one (`agency_id`)."""
    facts = load_facts(session, period, calendar, as_of, agency_id)
    agencies = session.execute(
        select(col(Agency.id), col(Agency.code), col(Agency.name), col(Agency.active))
    ).all()
    codes = {row.id: row.code for row in agencies}
    agency_labels = {row.code: row.name for row in agencies}
    agency_labels[NO_AGENCY] = NO_AGENCY
    listed = [row.code for row in agencies if row.active and (agency_id in (None, row.id))]

    def agency_of(item: Facts) -> str:
        return codes.get(item.agency_id, NO_AGENCY) if item.agency_id else NO_AGENCY

    buckets = period.buckets()

    def bucket_of(item: Facts) -> str:
        day = calendar.local_date(item.received_at)
        for label, first, last in buckets:
            if first <= day <= last:
                return label
        return buckets[-1][0]

    trend = _grouped(facts, bucket_of, {}, calendar, as_of, keep_empty=[b[0] for b in buckets])
    trend.sort(key=lambda r: r.key)
    return Report(
        period=period,
        as_of=as_of,
        agency=codes.get(agency_id) if agency_id else None,
        total=_figures(facts, calendar, as_of),
        by_agency=_grouped(facts, agency_of, agency_labels, calendar, as_of, keep_empty=listed),
        by_channel=_grouped(facts, lambda f: f.channel, {}, calendar, as_of, keep_empty=CHANNELS),
        by_category=_grouped(
            facts, lambda f: f.category or NO_AGENCY, {}, calendar, as_of, keep_empty=CATEGORIES
        ),
        by_kecamatan=_grouped(facts, lambda f: f.kecamatan or NO_AGENCY, {}, calendar, as_of),
        trend=trend,
        issues=facts if period.kind == "daily" else [],
        agency_names={row.id: row.name for row in agencies},
    )


def as_of_for(period: Period, calendar: WorkingCalendar, now: datetime, at_end: bool) -> datetime:
    """Now, or (for a period already over) the end of its last day when asked."""
    end = calendar.end_of_day(period.last)
    return min(now, end) if at_end else now
