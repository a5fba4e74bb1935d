"""The admin inbox's list: filters, full-text search, sort, pagination and counts per filter.

One function builds the conditions for a filter; the page and every count use it, so a count
always matches what clicking it shows. Counts stop at a cap ("5000+"): an admin needs to know
"a lot", not the exact size of the archive, and counting to a cap costs the same whatever the
table's size (one small index-range query per status and deadline state, sent as one
statement).

Full-text search uses the engine's own index (FTS5 on SQLite, a tsvector with a GIN index on
PostgreSQL, both made in the `admin_0001` migration); every word is a prefix and all must match.
A case (a cluster: one problem, several reporters, one life; docs/clusters.md) is one row: the
complaints that follow its primary are left out of the lists and counts unless the admin
searches or asks for duplicates, and the primary's row says how many reporters the case has.

A search (and the "has duplicates" filter) first takes the newest `cap` matching ids into a
materialised CTE, shared by the page and the counts, which are then one grouped pass over that
set; a search matching more than the cap shows the newest matches and says "cap+". A tracking
code is looked up directly. Measured in bench/inbox_bench.py (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    ColumnClause,
    ColumnElement,
    Select,
    and_,
    case,
    false,
    func,
    literal_column,
    or_,
    select,
    table,
    type_coerce,
)
from sqlmodel import Session, col

from gateway.admin import assignment
from gateway.complaints import lifecycle, workflow
from gateway.complaints.tracking import normalize_code
from gateway.reports.figures import CHANNELS  # one list: the inbox filter and the reports
from gateway.store.models import Agency, Category, Complaint, ComplaintAssignment, Status

S = Status

# Which deadline runs in which state (a pending complaint's clock is paused).
VERIFY_CLOCK = (S.RECEIVED.value, S.VERIFIED.value)
ANSWER_CLOCK = (S.DISPOSED.value, S.IN_PROGRESS.value)
CLOCK_STATES = (*VERIFY_CLOCK, *ANSWER_CLOCK)
# What a liaison officer sees: complaints disposed to their agency, from then on.
LIAISON_STATES = (S.DISPOSED.value, S.IN_PROGRESS.value, S.ANSWERED.value, S.CLOSED.value)
OPEN = "open"
OPEN_STATES = (
    S.RECEIVED.value,
    S.VERIFIED.value,
    S.PENDING.value,
    S.DISPOSED.value,
    S.IN_PROGRESS.value,
    S.ANSWERED.value,
)

DeadlineState = Literal["overdue", "due_soon", "ok"]
DEADLINE_STATES: tuple[DeadlineState, ...] = ("overdue", "due_soon", "ok")
SORTS = ("newest", "oldest", "deadline")
ASSIGNED = ("me", "none")  # "milik saya", "belum ada yang menangani"
MAX_SEARCH_TERMS = 8


@dataclass(frozen=True)
class Scope:
    """Whose inbox: everything (koordinator) or one agency's disposed complaints (liaison);
    `user_id` is who asks ("milik saya")."""

    agency_id: int | None = None
    user_id: int | None = None

    @property
    def limited(self) -> bool:
        return self.agency_id is not None


EVERYTHING = Scope()


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class InboxFilter:
    """What the admin asked to see. Unknown or malformed values are ignored, never an error."""

    status: str = ""  # a Status value, "open", or "" for all
    channel: str = ""
    category: str = ""
    agency_id: int | None = None
    kecamatan: str = ""
    deadline: str = ""  # overdue | due_soon | ok
    has_duplicates: bool = False
    redisposition: bool = False  # a liaison asked for re-disposition
    not_report: bool = False  # the normalizer suggests "bukan laporan" (spam, promotion, chat)
    assigned: str = ""  # me | none
    received_from: date | None = None
    received_to: date | None = None
    q: str = ""
    sort: str = "newest"
    page: int = 1

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> InboxFilter:
        status = params.get("status", "")
        if status not in (OPEN, *(s.value for s in Status)):
            status = ""
        category = params.get("category", "")
        if category not in {c.value for c in Category}:
            category = ""
        deadline = params.get("deadline", "")
        sort = params.get("sort", "newest")
        return cls(
            status=status,
            channel=params.get("channel", "") if params.get("channel") in CHANNELS else "",
            category=category,
            agency_id=_int(params.get("agency")),
            kecamatan=params.get("kecamatan", "").strip()[:100],
            deadline=deadline if deadline in DEADLINE_STATES else "",
            has_duplicates=params.get("duplicates") == "1",
            redisposition=params.get("redisposition") == "1",
            not_report=params.get("not_report") == "1",
            assigned=params.get("assigned", "") if params.get("assigned") in ASSIGNED else "",
            received_from=_date(params.get("from")),
            received_to=_date(params.get("to")),
            q=params.get("q", "").strip()[:200],
            sort=sort if sort in SORTS else "newest",
            page=max(1, _int(params.get("page")) or 1),
        )

    def query(self) -> dict[str, str]:
        """The filter as query parameters (only what is set), for links and forms."""
        values = {
            "status": self.status,
            "channel": self.channel,
            "category": self.category,
            "agency": str(self.agency_id) if self.agency_id else "",
            "kecamatan": self.kecamatan,
            "deadline": self.deadline,
            "duplicates": "1" if self.has_duplicates else "",
            "redisposition": "1" if self.redisposition else "",
            "not_report": "1" if self.not_report else "",
            "assigned": self.assigned,
            "from": self.received_from.isoformat() if self.received_from else "",
            "to": self.received_to.isoformat() if self.received_to else "",
            "q": self.q,
            "sort": "" if self.sort == "newest" else self.sort,
            "page": "" if self.page == 1 else str(self.page),
        }
        return {key: value for key, value in values.items() if value}

    def link(self, **changes: Any) -> str:
        """The inbox URL for this filter with some values changed (page goes back to 1)."""
        changes.setdefault("page", 1)
        return "/admin?" + urlencode(replace(self, **changes).query())

    @property
    def is_filtered(self) -> bool:
        return bool(set(self.query()) - {"sort", "page"})


# --- conditions --------------------------------------------------------------------------------


def scope_condition(scope: Scope) -> ColumnElement[bool] | None:
    if scope.agency_id is None:
        return None
    return and_(
        col(Complaint.agency_id) == scope.agency_id, col(Complaint.status).in_(LIAISON_STATES)
    )


def current_due() -> ColumnElement[Any]:
    """The deadline running in the complaint's current state (none while pending or done)."""
    return case(
        (col(Complaint.status).in_(VERIFY_CLOCK), Complaint.verify_due_at),
        (col(Complaint.status).in_(ANSWER_CLOCK), Complaint.answer_due_at),
        else_=None,
    )


def deadline_condition(
    state: str, now: datetime, soon: timedelta, *, cases_only: bool = False
) -> ColumnElement[bool]:
    # Written as one range per clock (not on current_due()) so each half can use the status index.
    # `cases_only` repeats the one-row-per-case condition inside each half: each half is then
    # answered by its partial index alone (SQLite reads no table row for an OR it unions).
    def within(column: Any, low: datetime | None, high: datetime | None) -> ColumnElement[bool]:
        parts = [column.is_not(None)]
        if low is not None:
            parts.append(column >= low)
        if high is not None:
            parts.append(column < high)
        return and_(*parts)

    low, high = {
        "overdue": (None, now),
        "due_soon": (now, now + soon),
        "ok": (now + soon, None),
    }[state]
    case_rows = [lifecycle.not_follower()] if cases_only else []
    return or_(
        and_(
            col(Complaint.status).in_(VERIFY_CLOCK),
            within(Complaint.verify_due_at, low, high),
            *case_rows,
        ),
        and_(
            col(Complaint.status).in_(ANSWER_CLOCK),
            within(Complaint.answer_due_at, low, high),
            *case_rows,
        ),
    )


def search_terms(q: str) -> list[str]:
    return re.findall(r"\w+", q.lower())[:MAX_SEARCH_TERMS]


@dataclass(frozen=True)
class IdSets:
    """Sets of complaint ids a filter needs, computed once per request as materialised CTEs
    and shared by the page and every count (the full-text index is asked once, not 16 times).
    """

    search: Any = None  # CTE (id): the newest `limit` complaints matching the search words
    no_match: bool = False  # the search has no words at all
    code: str | None = None  # the search is a tracking code: looked up directly
    duplicates: Any = None  # CTE (id): the newest `limit` complaints in a cluster

    @property
    def bounded(self) -> bool:
        """The filter reduces the list to at most `limit` ids known in advance."""
        return self.search is not None or self.duplicates is not None


def id_sets(f: InboxFilter, dialect: str, limit: int) -> IdSets:
    search = None
    code = None
    no_match = False
    if f.q:
        code = normalize_code(f.q) if len(f.q) <= 20 else None
        terms = [] if code else search_terms(f.q)
        if not code and not terms:
            no_match = True
        elif terms:
            search = _search_cte(terms, dialect, limit)
    duplicates = None
    if f.has_duplicates:
        heads: Select[Any] = select(col(Complaint.cluster_id).label("id")).where(
            col(Complaint.cluster_id).is_not(None)
        )
        members = select(col(Complaint.id)).where(col(Complaint.cluster_id).is_not(None))
        both = heads.union(members).subquery()
        newest = select(both.c.id).order_by(both.c.id.desc()).limit(limit)
        duplicates = newest.cte("clustered").prefix_with("MATERIALIZED")
    return IdSets(search=search, no_match=no_match, code=code, duplicates=duplicates)


def _search_cte(terms: list[str], dialect: str, limit: int) -> Any:
    """Every word as a prefix, in the title or the clean text; the newest `limit` matches
    (a search matching more than that shows the newest and says "limit+")."""
    if dialect == "postgresql":
        tsquery = " & ".join(f"{term}:*" for term in terms)
        # "id + 0": order without the primary key's index, so PostgreSQL takes the matches from
        # the GIN index instead of walking every complaint backwards (ruinous for a rare word).
        matching = (
            select(col(Complaint.id))
            .where(
                literal_column("complaint.search_vector").op("@@")(
                    func.to_tsquery("simple", tsquery)
                )
            )
            .order_by((col(Complaint.id) + 0).desc())
            .limit(limit)
        )
    else:
        # Quoted FTS5 strings: whatever the admin typed cannot become FTS5 query syntax.
        match = " ".join(f'"{term}"*' for term in terms)
        rowid: ColumnClause[int] = literal_column("rowid")
        matching = (
            select(rowid.label("id"))
            .select_from(table("complaint_fts"))
            .where(literal_column("complaint_fts").op("MATCH")(match))
            .order_by(rowid.desc())
            .limit(limit)
        )
    return matching.cte("search_matches").prefix_with("MATERIALIZED")


@dataclass(frozen=True)
class Clock:
    now: datetime
    soon: timedelta
    tz: ZoneInfo

    def day_start(self, day: date) -> datetime:
        return datetime.combine(day, time.min, self.tz)


def conditions(
    f: InboxFilter,
    scope: Scope,
    clock: Clock,
    sets: IdSets,
    *,
    with_status: bool = True,
    with_deadline: bool = True,
    deadline: str | None = None,
) -> list[ColumnElement[bool]]:
    """The WHERE clause of a filter. The status and deadline facets can be left out, or the
    deadline replaced (`deadline`), for the counts that show what each of their values would
    give. A case is one row: its followers are left out unless the admin searches or asks for
    duplicates."""
    where: list[ColumnElement[bool]] = []
    state = deadline or (f.deadline if with_deadline else "")
    cases_only = not (f.q or f.has_duplicates)
    scoped = scope_condition(scope)
    if scoped is not None:
        where.append(scoped)
    if with_status and f.status:
        if f.status == OPEN:
            where.append(col(Complaint.status).in_(OPEN_STATES))
        else:
            where.append(Complaint.status == f.status)  # type: ignore[arg-type]
    if f.channel:
        where.append(Complaint.origin_channel == f.channel)  # type: ignore[arg-type]
    if f.category:
        where.append(Complaint.category == f.category)  # type: ignore[arg-type]
    if f.agency_id is not None:
        where.append(Complaint.agency_id == f.agency_id)  # type: ignore[arg-type]
    if f.kecamatan:
        where.append(func.lower(Complaint.kecamatan) == f.kecamatan.lower())
    if state:
        where.append(deadline_condition(state, clock.now, clock.soon, cases_only=cases_only))
    elif cases_only:
        where.append(lifecycle.not_follower())
    if sets.duplicates is not None:
        where.append(col(Complaint.id).in_(select(sets.duplicates.c.id)))
    if f.redisposition:
        where.append(col(Complaint.redisposition_requested_at).is_not(None))
    if f.not_report:
        # The suggestion is a JSON object ({} for a report): a kind means one was made.
        where.append(type_coerce(col(Complaint.not_report), JSON)["kind"].as_string().is_not(None))
    if f.assigned == "me":
        mine = select(col(ComplaintAssignment.complaint_id)).where(
            col(ComplaintAssignment.user_id) == (scope.user_id or -1)
        )
        where.append(col(Complaint.id).in_(mine))
    elif f.assigned == "none":
        held = select(col(ComplaintAssignment.complaint_id))
        where.append(col(Complaint.id).not_in(held))
    if f.received_from:
        where.append(Complaint.received_at >= clock.day_start(f.received_from))  # type: ignore[arg-type]
    if f.received_to:
        end = clock.day_start(f.received_to + timedelta(days=1))
        where.append(Complaint.received_at < end)  # type: ignore[arg-type]
    if sets.no_match:
        where.append(false())
    if sets.code is not None:
        where.append(Complaint.tracking_code == sets.code)  # type: ignore[arg-type]
    if sets.search is not None:
        where.append(col(Complaint.id).in_(select(sets.search.c.id)))
    return where


# --- the page and the counts ---------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    value: int
    capped: bool  # there are at least `value`, maybe more


@dataclass(frozen=True)
class InboxRow:
    id: int
    tracking_code: str
    origin_channel: str
    source: str | None
    title: str
    kecamatan: str | None
    kelurahan: str | None
    location_text: str | None
    category: str | None
    agency_name: str | None
    status: str
    received_at: datetime
    due_at: datetime | None
    deadline_state: str | None
    clustered: bool
    redisposition_requested: bool
    escalated: bool = False  # overdue answer: forwarded to Ombudsman RI
    reporters: int = 1  # a case's primary: its own reporter and those of its followers
    # The normalizer's "bukan laporan" suggestion ({} for a report) and whether the row may be
    # archived from the inbox right now ("Arsipkan", through actions.archive / lifecycle.step).
    not_report: dict[str, Any] = field(default_factory=dict)
    archivable: bool = False
    version: int = 1
    assignee: str | None = None  # who is on it ("saya tangani")
    source_url: str | None = None  # where it was captured (a TikTok comment, a manual entry)

    @property
    def place(self) -> str:
        parts = [p for p in (self.kelurahan, self.kecamatan) if p]
        return ", ".join(parts) if parts else (self.location_text or "")


@dataclass
class InboxPage:
    filter: InboxFilter
    rows: list[InboxRow]
    has_next: bool
    status_counts: dict[str, Count] = field(default_factory=dict)
    deadline_counts: dict[str, Count] = field(default_factory=dict)
    total: Count = Count(0, False)


def deadline_state(due: datetime | None, clock: Clock) -> str | None:
    if due is None:
        return None
    if due < clock.now:
        return "overdue"
    if due < clock.now + clock.soon:
        return "due_soon"
    return "ok"


_ROW_COLUMNS = (
    col(Complaint.id),
    col(Complaint.tracking_code),
    col(Complaint.origin_channel),
    col(Complaint.source),
    col(Complaint.title),
    col(Complaint.kecamatan),
    col(Complaint.kelurahan),
    col(Complaint.location_text),
    col(Complaint.category),
    col(Complaint.agency_id),
    col(Complaint.status),
    col(Complaint.received_at),
    col(Complaint.verify_due_at),
    col(Complaint.answer_due_at),
    col(Complaint.cluster_id),
    col(Complaint.redisposition_requested_at),
    col(Complaint.escalated),
    col(Complaint.not_report),
    col(Complaint.version),
    col(Complaint.source_url),
)


def _capped_count(where: list[ColumnElement[bool]], cap: int) -> Any:
    inner = select(col(Complaint.id)).where(*where).limit(cap + 1).subquery()
    return select(func.count()).select_from(inner).scalar_subquery()


def _count(value: int | None, cap: int) -> Count:
    value = value or 0
    return Count(min(value, cap), value > cap)


def list_page(
    session: Session,
    f: InboxFilter,
    scope: Scope,
    clock: Clock,
    *,
    page_size: int,
    count_cap: int,
) -> InboxPage:
    """One inbox page: its rows, whether there is a next page, and the counts per filter."""
    sets = id_sets(f, session.get_bind().dialect.name, count_cap)
    where = conditions(f, scope, clock, sets)
    max_page = max(1, count_cap // page_size)
    f = replace(f, page=min(f.page, max_page))
    order: list[Any]
    if f.sort == "oldest":
        order = [col(Complaint.received_at).asc(), col(Complaint.id).asc()]
    elif f.sort == "deadline":
        order = [current_due().asc().nulls_last(), col(Complaint.id).asc()]
    else:
        order = [col(Complaint.received_at).desc(), col(Complaint.id).desc()]
    query = (
        select(*_ROW_COLUMNS)
        .where(*where)
        .order_by(*order)
        .offset((f.page - 1) * page_size)
        .limit(page_size + 1)
    )
    found = session.execute(query).all()
    agencies = _agency_names(session, {r.agency_id for r in found if r.agency_id})
    followers = _followers(session, [r.id for r in found[:page_size]])
    holders = assignment.holders(session, [r.id for r in found[:page_size]])
    rows = []
    for r in found[:page_size]:
        due = (
            r.verify_due_at
            if r.status in VERIFY_CLOCK
            else r.answer_due_at
            if r.status in ANSWER_CLOCK
            else None
        )
        rows.append(
            InboxRow(
                id=r.id,
                tracking_code=r.tracking_code,
                origin_channel=r.origin_channel,
                source=r.source,
                title=r.title,
                kecamatan=r.kecamatan,
                kelurahan=r.kelurahan,
                location_text=r.location_text,
                category=r.category,
                agency_name=agencies.get(r.agency_id) if r.agency_id else None,
                status=r.status,
                received_at=r.received_at,
                due_at=due,
                deadline_state=deadline_state(due, clock),
                clustered=r.cluster_id is not None or r.id in followers,
                redisposition_requested=r.redisposition_requested_at is not None,
                escalated=bool(r.escalated),
                reporters=1 + followers.get(r.id, 0),
                not_report=r.not_report or {},
                archivable=bool(r.not_report)
                and r.id not in followers
                and workflow.can_transition(Status(r.status), S.ARCHIVED),
                version=r.version,
                assignee=holders.get(r.id),
                source_url=r.source_url if (r.source_url or "").startswith("https://") else None,
            )
        )
    result = InboxPage(filter=f, rows=rows, has_next=len(found) > page_size)
    _fill_counts(session, result, scope, clock, sets, count_cap)
    return result


def _fill_counts(
    session: Session, page: InboxPage, scope: Scope, clock: Clock, sets: IdSets, cap: int
) -> None:
    if sets.bounded:
        _fill_counts_grouped(session, page, scope, clock, sets, cap)
        return
    f = page.filter
    statuses = LIAISON_STATES if scope.limited else tuple(s.value for s in Status)
    base = conditions(f, scope, clock, sets, with_status=False)
    columns = {"all": _capped_count(base, cap)}
    columns[OPEN] = _capped_count([*base, col(Complaint.status).in_(OPEN_STATES)], cap)
    # With a deadline filter only the states whose clock runs can match: no need to ask.
    counted_statuses = [s for s in statuses if not f.deadline or s in CLOCK_STATES]
    for status in counted_statuses:
        columns[status] = _capped_count([*base, Complaint.status == status], cap)  # type: ignore[list-item]
    for state in DEADLINE_STATES:
        columns[f"deadline:{state}"] = _capped_count(
            conditions(f, scope, clock, sets, deadline=state), cap
        )
    values = session.execute(
        select(*(column.label(f"c{i}") for i, column in enumerate(columns.values())))
    ).one()
    counted = {name: _count(value, cap) for name, value in zip(columns, values, strict=True)}
    for status in statuses:
        counted.setdefault(status, Count(0, False))
    page.status_counts = {
        name: counted[name] for name in ("all", OPEN, *statuses) if name in counted
    }
    page.deadline_counts = {state: counted[f"deadline:{state}"] for state in DEADLINE_STATES}
    page.total = counted[f.status or "all"] if not f.deadline else page.deadline_counts[f.deadline]


def _fill_counts_grouped(
    session: Session, page: InboxPage, scope: Scope, clock: Clock, sets: IdSets, cap: int
) -> None:
    """Counts over a set of at most `cap` ids (a search, the clustered complaints): one pass
    grouped by status, each deadline state summed alongside, instead of one query each."""
    f = page.filter
    statuses = LIAISON_STATES if scope.limited else tuple(s.value for s in Status)
    where = conditions(f, scope, clock, sets, with_status=False, with_deadline=False)
    states = {
        state: func.sum(case((deadline_condition(state, clock.now, clock.soon), 1), else_=0))
        for state in DEADLINE_STATES
    }
    query = (
        select(
            col(Complaint.status), func.count().label("n"), *(v.label(k) for k, v in states.items())
        )
        .where(*where)
        .group_by(Complaint.status)
    )
    rows = {row.status: row for row in session.execute(query)}

    def per_status(status: str) -> int:
        row = rows.get(status)
        if row is None:
            return 0
        return int(getattr(row, f.deadline) or 0) if f.deadline else int(row.n)

    def chosen(status: str) -> bool:
        return not f.status or status == f.status or (f.status == OPEN and status in OPEN_STATES)

    # A bounded set is never larger than the cap; it is "capped" when the set itself was cut.
    full = sum(int(row.n) for row in rows.values()) >= cap
    page.status_counts = {
        "all": Count(sum(per_status(s) for s in statuses), full),
        OPEN: Count(sum(per_status(s) for s in statuses if s in OPEN_STATES), full),
        **{s: Count(per_status(s), full) for s in statuses},
    }
    page.deadline_counts = {
        state: Count(
            sum(int(getattr(row, state) or 0) for status, row in rows.items() if chosen(status)),
            full,
        )
        for state in DEADLINE_STATES
    }
    page.total = (
        page.status_counts[f.status or "all"]
        if not f.deadline
        else (page.deadline_counts[f.deadline])
    )


def _agency_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(col(Agency.id), col(Agency.name)).where(col(Agency.id).in_(ids)))
    return {row.id: row.name for row in rows}


def _followers(session: Session, ids: list[int]) -> dict[int, int]:
    """How many complaints point at each of these (they head a cluster): followers of its case
    and complaints merged into it by way of the cluster."""
    if not ids:
        return {}
    rows = session.execute(
        select(col(Complaint.cluster_id), func.count())
        .where(col(Complaint.cluster_id).in_(ids))
        .where(col(Complaint.status) != S.MERGED.value)
        .group_by(col(Complaint.cluster_id))
    )
    heads = {int(head): int(n) for head, n in rows if head is not None}
    merged_only = session.scalars(
        select(col(Complaint.cluster_id))
        .where(col(Complaint.cluster_id).in_(set(ids) - set(heads)))
        .distinct()
    )
    heads.update({int(head): 0 for head in merged_only if head is not None})
    return heads


def tracking_codes(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """The tracking codes of these complaints, by id (for lists of rows that point at them)."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = session.execute(
        select(col(Complaint.id), col(Complaint.tracking_code)).where(col(Complaint.id).in_(wanted))
    ).all()
    return {int(i): str(code) for i, code in rows}
