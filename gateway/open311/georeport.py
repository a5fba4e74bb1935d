"""The GeoReport v2 mapping (http://wiki.open311.org/GeoReport_v2/): the deployment's complaints
in the spec's field names, as JSON and as XML (the spec's required format).

- **services**: the four SP4N-LAPOR! classes (`aspirasi`, `permintaan_informasi`, `pengaduan`,
  `pengaduan_berkadar_pengawasan`), realtime, no extra attributes.
- **requests**: complaints by tracking code. The privacy rules of the public pages hold: the
  text is the published text (`disclosure.description`: clean, personal data masked, capped at
  the spec's 4,000 characters), the place is the masked location text and the village, and the
  coordinates are rounded to about 100 m; never the reporter, their contacts, photos or anything
  an admin wrote for staff. A `rahasia` complaint is never listed and shows no text or place
  when asked for by its code. Only complaints an admin has looked at are listed (verified and
  later, returned): a fresh, unverified one could still hold what the normalizer missed.
- `status`: `open` while the case is handled, `closed` once answered, closed, returned or
  archived; `status_notes` the status as the public page words it; `agency_responsible` the
  agency's name; `expected_datetime` the working-day answer deadline.
- Limits: `start_date`/`end_date` span at most 90 days (default: the last 90), at most 1000
  requests, newest first; `service_request_id` (comma separated) overrides the rest.
- Errors: `[{"code": 400, "description": "…"}]`, in XML `<errors><error>…</error></errors>`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session, col

from config.messages import t
from gateway.clock import as_utc
from gateway.complaints import disclosure, lifecycle
from gateway.store.models import Agency, Category, Complaint, Status

S = Status
MAX_DESCRIPTION = 4000
MAX_RESULTS = 1000
MAX_SPAN = timedelta(days=90)
COORDINATE_DECIMALS = 3  # ~110 m: where the problem is, not whose house it is
CLOSED_STATES = frozenset({S.ANSWERED, S.CLOSED, S.RETURNED, S.ARCHIVED, S.MERGED})
# Listed: what an admin has looked at (a fresh complaint may still hold what masking missed).
LISTED_STATES = frozenset({S.VERIFIED, S.DISPOSED, S.IN_PROGRESS, S.ANSWERED, S.CLOSED, S.RETURNED})
# Requests by code: everything but a merged complaint (its case has its own code).
SHOWN_STATES = frozenset(set(Status) - {S.MERGED})
SERVICE_GROUP = "SP4N-LAPOR!"
DEFAULT_SERVICE = Category.PENGADUAN.value
FORMATS = ("json", "xml")


class GeoReportError(Exception):
    """An error as the spec answers it: the HTTP status and the description."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


# --- rendering ---------------------------------------------------------------------------------


def split_format(leaf: str) -> tuple[str, str]:
    """`requests.json` → ("requests", "json"); the spec's resources always carry the format."""
    name, dot, fmt = leaf.rpartition(".")
    if not dot or fmt not in FORMATS or not name:
        raise GeoReportError(404, "format")
    return name, fmt


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_xml(root: str, item: str, items: Sequence[Mapping[str, Any]]) -> bytes:
    """The Spark-convention XML twin of a JSON list: `<root><item><field>…` (null: empty)."""
    top = ET.Element(root)
    for entry in items:
        element = ET.SubElement(top, item)
        _fill(element, entry)
    body = ET.tostring(top, encoding="unicode")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body).encode("utf-8")


def _fill(element: ET.Element, entry: Mapping[str, Any]) -> None:
    for key, value in entry.items():
        child = ET.SubElement(element, key)
        if isinstance(value, list):
            singular = {"attributes": "attribute", "values": "value"}.get(key, "item")
            for sub in value:
                _fill(ET.SubElement(child, singular), sub)
        elif isinstance(value, Mapping):
            _fill(child, value)
        else:
            child.text = _text(value)


def to_json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def definition_xml(definition: Mapping[str, Any]) -> bytes:
    """`<service_definition><service_code/><attributes/></service_definition>`."""
    root = ET.Element("service_definition")
    _fill(root, definition)
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, "unicode")).encode()


def errors_body(fmt: str, errors: Sequence[tuple[int, str]]) -> bytes:
    items = [{"code": code, "description": description} for code, description in errors]
    if fmt == "xml":
        return to_xml("errors", "error", items)
    return to_json(items)


# --- services ----------------------------------------------------------------------------------


def services(lang: str) -> list[dict[str, Any]]:
    return [service(c.value, lang) for c in Category]


def service(code: str, lang: str) -> dict[str, Any]:
    if code not in {c.value for c in Category}:
        raise GeoReportError(404, t(lang, "open311.errors.service_unknown", code=code[:60]))
    return {
        "service_code": code,
        "service_name": t(lang, f"category.{code}"),
        "description": t(lang, f"open311.service.{code}"),
        "metadata": False,
        "type": "realtime",
        "keywords": t(lang, f"open311.keywords.{code}"),
        "group": SERVICE_GROUP,
    }


def definition(code: str, lang: str) -> dict[str, Any]:
    service(code, lang)  # 404 for an unknown code
    return {"service_code": code, "attributes": []}


# --- requests ----------------------------------------------------------------------------------


def w3(value: datetime | None, timezone: str) -> str | None:
    """A w3 datetime with the deployment's offset (e.g. 2026-05-02T08:30:00+07:00)."""
    if value is None:
        return None
    return as_utc(value).astimezone(ZoneInfo(timezone)).isoformat(timespec="seconds")


def parse_w3(value: str, timezone: str, lang: str, name: str) -> datetime:
    """A w3 date or datetime; without an offset, the deployment's time zone."""
    raw = value.strip()
    try:
        if len(raw) == 10:
            parsed = datetime.combine(date.fromisoformat(raw), time())
        else:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise GeoReportError(400, t(lang, "open311.errors.date_invalid", name=name)) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(timezone))
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01 in a zone east of UTC
        raise GeoReportError(400, t(lang, "open311.errors.date_invalid", name=name)) from None


@dataclass(frozen=True)
class Query:
    ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None


def _listed(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def parse_query(params: Mapping[str, str], now: datetime, timezone: str, lang: str) -> Query:
    """The GET requests arguments, checked against the spec's limits (400 otherwise)."""
    ids = tuple(i.upper() for i in _listed(params.get("service_request_id")))[:MAX_RESULTS]
    if ids:
        return Query(ids=ids)  # "This overrides all other arguments."
    codes = _listed(params.get("service_code"))
    known = {c.value for c in Category}
    for code in codes:
        if code not in known:
            raise GeoReportError(400, t(lang, "open311.errors.service_unknown", code=code[:60]))
    statuses = _listed(params.get("status"))
    for status in statuses:
        if status not in ("open", "closed"):
            raise GeoReportError(400, t(lang, "open311.errors.status_invalid"))
    start_raw, end_raw = params.get("start_date") or "", params.get("end_date") or ""
    start = parse_w3(start_raw, timezone, lang, "start_date") if start_raw.strip() else None
    end = parse_w3(end_raw, timezone, lang, "end_date") if end_raw.strip() else None
    try:
        if start is None and end is None:
            end, start = now, now - MAX_SPAN
        elif start is None:
            assert end is not None
            start = end - MAX_SPAN
        elif end is None:
            end = start + MAX_SPAN
    except OverflowError:  # a date at the edge of the calendar (year 1 or 9999)
        raise GeoReportError(
            400, t(lang, "open311.errors.date_invalid", name="start_date")
        ) from None
    if end < start:
        raise GeoReportError(400, t(lang, "open311.errors.dates_reversed"))
    if end - start > MAX_SPAN:
        raise GeoReportError(400, t(lang, "open311.errors.span_too_long", days=MAX_SPAN.days))
    return Query(service_codes=codes, statuses=statuses, start=start, end=end)


def find(session: Session, query: Query) -> list[Complaint]:
    """The complaints the query names, as the list shows them (newest first, capped)."""
    stmt = select(Complaint).where(col(Complaint.rahasia).is_(False))
    if query.ids:
        stmt = stmt.where(col(Complaint.tracking_code).in_(query.ids))
        stmt = stmt.where(col(Complaint.status).in_([s.value for s in SHOWN_STATES]))
    else:
        stmt = stmt.where(col(Complaint.status).in_([s.value for s in LISTED_STATES]))
        # One request per case: the complaints that follow another one's case are its reporters.
        stmt = stmt.where(lifecycle.not_follower())
        if query.service_codes:
            stmt = stmt.where(col(Complaint.category).in_(query.service_codes))
        if query.start is not None:
            stmt = stmt.where(col(Complaint.received_at) >= query.start)
        if query.end is not None:
            stmt = stmt.where(col(Complaint.received_at) <= query.end)
        if query.statuses and len(set(query.statuses)) == 1:
            closed = [s.value for s in CLOSED_STATES]
            if query.statuses[0] == "closed":
                stmt = stmt.where(col(Complaint.status).in_(closed))
            else:
                stmt = stmt.where(col(Complaint.status).not_in(closed))
    stmt = stmt.order_by(col(Complaint.received_at).desc()).limit(MAX_RESULTS)
    return list(session.scalars(stmt).all())


def one(session: Session, code: str) -> Complaint | None:
    """A request by its code, whatever its state but merged (its case has its own code); a
    `rahasia` complaint is not there at all."""
    return session.scalar(
        select(Complaint)
        .where(col(Complaint.tracking_code) == code.strip().upper())
        .where(col(Complaint.rahasia).is_(False))
        .where(col(Complaint.status).in_([s.value for s in SHOWN_STATES]))
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, COORDINATE_DECIMALS)


def _address(complaint: Complaint, reporter: Any) -> str | None:
    parts = [
        disclosure.location_text(complaint, reporter),
        complaint.kelurahan,
        complaint.kecamatan,
    ]
    seen: list[str] = []
    for part in parts:
        if part and part.strip() and part.strip() not in seen:
            seen.append(part.strip())
    return ", ".join(seen)[:500] or None


def request(
    session: Session,
    complaint: Complaint,
    *,
    timezone: str,
    lang: str,
    agencies: Mapping[int, str] | None = None,
) -> dict[str, Any]:
    """One complaint as a GeoReport service request, in the spec's field order."""
    status = Status(complaint.status)
    case = lifecycle.case_of(session, complaint)
    reporter = disclosure.reporter_of(session, complaint)
    # Text and place only once an admin has looked at it, and never for a `rahasia` complaint.
    public = not complaint.rahasia and status in LISTED_STATES
    agency_name = None
    if case.agency_id:
        if agencies is not None:
            agency_name = agencies.get(case.agency_id)
        else:
            agency = session.get(Agency, case.agency_id)
            agency_name = agency.name if agency else None
    closed = Status(case.status) in CLOSED_STATES
    # A complaint not classified yet is, until an admin says otherwise, a complaint.
    code = case.category or DEFAULT_SERVICE
    updated = (case.closed_at if closed and case.closed_at else None) or case.updated_at
    item: dict[str, Any] = {
        "service_request_id": complaint.tracking_code,
        "status": "closed" if closed else "open",
        "status_notes": t(lang, f"status.{case.status}"),
        "service_name": t(lang, f"category.{code}"),
        "service_code": code,
        "description": disclosure.description(complaint, reporter)[:MAX_DESCRIPTION]
        if public
        else None,
        "agency_responsible": agency_name,
        "service_notice": None,
        "requested_datetime": w3(complaint.received_at, timezone),
        "updated_datetime": w3(max(as_utc(updated), as_utc(complaint.updated_at)), timezone),
        "expected_datetime": None if closed else w3(case.answer_due_at, timezone),
        "address": _address(complaint, reporter) if public else None,
    }
    if public and complaint.latitude is not None and complaint.longitude is not None:
        item["lat"] = _round(complaint.latitude)
        item["long"] = _round(complaint.longitude)
    return item


def requests(
    session: Session, complaints: Iterable[Complaint], *, timezone: str, lang: str
) -> list[dict[str, Any]]:
    agencies = {a.id: a.name for a in session.scalars(select(Agency)).all() if a.id is not None}
    return [
        request(session, c, timezone=timezone, lang=lang, agencies=agencies) for c in complaints
    ]
