"""Where complaints are (issue 18): the pins of the admin map, a complaint's own pin with its
case's pins, and the public map of a month's resolved complaints.

A complaint without coordinates is placed at its kecamatan's centroid from the gazetteer and
marked approximate. The maps draw with the vendored Leaflet over `MAP_TILE_URL` when set; with
no tile URL (the demo, the tests) they show the pins on a plain background with the gazetteer's
kecamatan labels, so nothing is fetched from the internet.

The public map is built from the same selection as `/publikasi` (resolved in the month, never
`rahasia`) and shows only the published title, class, agency and kecamatan, with the location
rounded to `PUBLIC_MAP_DECIMALS` (2 decimals ≈ 1 km): no code, no person, no house.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlmodel import Session, col

from gateway import parts
from gateway.admin.inbox import (
    ANSWER_CLOCK,
    OPEN_STATES,
    VERIFY_CLOCK,
    Clock,
    Scope,
    scope_condition,
)
from gateway.admin.inbox import deadline_state as clock_state
from gateway.complaints import disclosure, lifecycle
from gateway.reports import publication
from gateway.reports.figures import Period
from gateway.store.models import Agency, Category, Complaint, Reporter


class MapParts(parts.Enriching, parts.Timed, Protocol):
    """What the maps need: the gazetteer (kecamatan centroids), the settings, the calendar."""


MAX_PINS = 2000


@dataclass(frozen=True)
class Pin:
    lat: float
    lon: float
    approximate: bool  # at the kecamatan's centroid, not a pin the reporter sent
    title: str
    state: str = "none"  # overdue | due_soon | ok | none (no clock running)
    code: str = ""
    status: str = ""
    category: str = ""
    agency: str = ""
    kecamatan: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def centroids(gateway: MapParts) -> dict[str, tuple[float, float]]:
    """kecamatan name (lower case) → centroid, from the gazetteer."""
    return {
        k.name.lower(): k.centroid
        for k in gateway.enricher.gazetteer.kecamatan
        if k.centroid is not None
    }


def kecamatan_labels(gateway: MapParts) -> list[dict[str, Any]]:
    return [
        {"name": k.name, "lat": k.centroid[0], "lon": k.centroid[1]}
        for k in gateway.enricher.gazetteer.kecamatan
        if k.centroid is not None
    ]


def place(
    complaint: Complaint, known: dict[str, tuple[float, float]]
) -> tuple[float, float, bool] | None:
    if complaint.latitude is not None and complaint.longitude is not None:
        return complaint.latitude, complaint.longitude, False
    centre = known.get((complaint.kecamatan or "").lower())
    return (centre[0], centre[1], True) if centre else None


def complaint_pin(gateway: MapParts, complaint: Complaint) -> dict[str, Any] | None:
    where = place(complaint, centroids(gateway))
    if where is None:
        return None
    return {"lat": where[0], "lon": where[1], "approximate": where[2]}


def _due(complaint: Complaint) -> Any:
    if complaint.status in VERIFY_CLOCK:
        return complaint.verify_due_at
    if complaint.status in ANSWER_CLOCK:
        return complaint.answer_due_at
    return None


def admin_pins(
    gateway: MapParts,
    session: Session,
    scope: Scope,
    clock: Clock,
    *,
    agency_id: int | None = None,
    category: str = "",
    cluster_of: Complaint | None = None,
) -> list[Pin]:
    """Open complaints (one per case) this user may see, coloured by their running deadline;
    `cluster_of`: the complaints of that complaint's case and cluster instead."""
    query = select(Complaint)
    if cluster_of is not None:
        root = cluster_of.cluster_id or cluster_of.id
        query = query.where((col(Complaint.cluster_id) == root) | (col(Complaint.id) == root))
    else:
        query = query.where(
            col(Complaint.status).in_(OPEN_STATES),
            lifecycle.not_follower(),
        )
    condition = scope_condition(scope)
    if condition is not None:
        query = query.where(condition)
    if agency_id is not None:
        query = query.where(col(Complaint.agency_id) == agency_id)
    if category in {c.value for c in Category}:
        query = query.where(col(Complaint.category) == category)
    rows = session.scalars(query.order_by(col(Complaint.received_at).desc()).limit(MAX_PINS)).all()
    agencies = {a.id: a.name for a in session.scalars(select(Agency))}
    known = centroids(gateway)
    pins = []
    for c in rows:
        where = place(c, known)
        if where is None:
            continue
        pins.append(
            Pin(
                lat=where[0],
                lon=where[1],
                approximate=where[2],
                title=c.title or "",
                state=clock_state(_due(c), clock) or "none",
                code=c.tracking_code,
                status=c.status,
                category=c.category or "",
                agency=agencies.get(c.agency_id, "") if c.agency_id else "",
                kecamatan=c.kecamatan or "",
            )
        )
    return pins


def public_pins(gateway: MapParts, session: Session, month: Period) -> list[Pin]:
    """The month's resolved complaints as `/publikasi` publishes them, located roughly."""
    calendar = gateway.calendar
    start = calendar.start_of_day(month.first)
    end = calendar.start_of_day(month.last + timedelta(days=1))
    rows = session.execute(
        select(Complaint, col(Agency.name), Reporter)
        .join(Agency, col(Agency.id) == col(Complaint.agency_id))
        .outerjoin(Reporter, col(Reporter.id) == col(Complaint.reporter_id))
        .where(
            col(Complaint.status).in_(publication.RESOLVED),
            col(Complaint.rahasia).is_(False),
            col(Complaint.answered_at) >= start,
            col(Complaint.answered_at) < end,
        )
        .order_by(col(Complaint.answered_at))
        .limit(MAX_PINS)
    ).all()
    known = centroids(gateway)
    digits = gateway.settings.public_map_decimals
    pins = []
    for complaint, agency, reporter in rows:
        where = place(complaint, known)
        if where is None:
            continue
        pins.append(
            Pin(
                lat=round(where[0], digits),
                lon=round(where[1], digits),
                approximate=True,
                # The title as /publikasi shows it (masked); never the code or a person.
                title=disclosure.title(complaint, reporter) if complaint.title else "",
                category=complaint.category or "",
                agency=agency,
                kecamatan=complaint.kecamatan or "",
            )
        )
    return pins
