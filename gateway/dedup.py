"""Duplicates, the database half: candidate look-up through `dedup_key`, then the normalizer's
pure scoring and decision, then the consequence — a merge (the same reporter sent it again) or
a cluster (several reporters, one problem). Every automatic merge is an audited transition an
admin can undo (unmerge).

Keys are the signature's LSH band keys scoped to the reporter (for merges) and to the village
(for clusters), so one look-up reads a few small buckets however many complaints are open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlmodel import Session

from gateway import workflow
from gateway.models import Complaint, DedupKey, Status
from normalizer.dedup import (
    SAME_PROBLEM,
    SAME_REPORTER_DUPLICATE,
    DedupThresholds,
    DuplicateCandidate,
    band_keys,
    decide,
    score,
)

if TYPE_CHECKING:
    from gateway.context import Gateway

MAX_CANDIDATES = 200
__all__ = ["SAME_PROBLEM", "SAME_REPORTER_DUPLICATE", "Match", "find", "fold", "index"]


def thresholds(gateway: Gateway) -> DedupThresholds:
    s = gateway.settings
    return DedupThresholds(
        same_reporter_text=s.dedup_same_reporter_text,
        same_problem_text=s.dedup_same_problem_text,
        same_reporter_window=timedelta(days=s.dedup_same_reporter_days),
        same_problem_window=timedelta(days=s.dedup_same_problem_days),
    )


def keys_for(complaint: Complaint) -> list[str]:
    bands = band_keys(complaint.dedup_signature) if complaint.dedup_signature else ()
    keys = []
    if complaint.reporter_id is not None:
        keys += [f"r:{complaint.reporter_id}:{band}" for band in bands]
    if complaint.kelurahan:
        place = f"{complaint.kecamatan or '-'}/{complaint.kelurahan}".lower()
        keys += [f"v:{place}:{band}" for band in bands]
    return keys


def candidate(complaint: Complaint) -> DuplicateCandidate:
    return DuplicateCandidate(
        signature=complaint.dedup_signature,
        kecamatan=complaint.kecamatan,
        village=complaint.kelurahan,
        reporter_id=str(complaint.reporter_id) if complaint.reporter_id is not None else None,
        created_at=complaint.received_at,
        agencies=tuple(s["code"] for s in complaint.agency_suggestions[:2] if s.get("code")),
    )


@dataclass(frozen=True)
class Match:
    decision: str
    other: Complaint
    text_score: float


def find(gateway: Gateway, session: Session, complaint: Complaint) -> Match | None:
    """The best duplicate among open complaints, or None."""
    keys = keys_for(complaint)
    if not keys:
        return None
    limits = thresholds(gateway)
    since = complaint.received_at - max(limits.same_reporter_window, limits.same_problem_window)
    ids = session.scalars(
        select(DedupKey.complaint_id)
        .where(DedupKey.key.in_(keys))  # type: ignore[attr-defined]
        .where(DedupKey.created_at >= since)
        .where(DedupKey.complaint_id != complaint.id)
        .distinct()
        .limit(MAX_CANDIDATES)
    ).all()
    if not ids:
        return None
    others = session.scalars(
        select(Complaint)
        .where(Complaint.id.in_(ids))  # type: ignore[union-attr]
        .where(Complaint.status.in_([s.value for s in workflow.OPEN_STATES]))  # type: ignore[attr-defined]
    ).all()
    mine = candidate(complaint)
    best: Match | None = None
    for other in others:
        found = score(mine, candidate(other))
        decision = decide(found, limits)
        if decision not in (SAME_REPORTER_DUPLICATE, SAME_PROBLEM):
            continue
        rank = (decision == SAME_REPORTER_DUPLICATE, found.text)
        if best is None or rank > (best.decision == SAME_REPORTER_DUPLICATE, best.text_score):
            best = Match(decision, other, found.text)
    return best


def index(session: Session, complaint: Complaint) -> None:
    for key in keys_for(complaint):
        session.add(DedupKey(complaint_id=complaint.id, key=key, created_at=complaint.received_at))  # type: ignore[arg-type]


def fold(gateway: Gateway, session: Session, complaint: Complaint, now: datetime) -> Match | None:
    """Index a new complaint and fold it into a duplicate when there is one."""
    match = find(gateway, session, complaint)
    index(session, complaint)
    if match is None:
        return None
    other = match.other
    note = f"{other.tracking_code} (kemiripan {match.text_score:.0f}%)"
    if match.decision == SAME_REPORTER_DUPLICATE and gateway.settings.dedup_auto_merge:
        target = session.get(Complaint, other.merged_into_id) if other.merged_into_id else other
        target = target or other
        workflow.transition(
            session,
            complaint,
            Status.MERGED,
            actor="system",
            action="auto_merged",
            changes={"merged_into_id": target.id},
            note=note,
            public=True,
            now=now,
        )
        workflow.record(
            session,
            target,
            actor="system",
            action="merged_in",
            note=f"{complaint.tracking_code} (kemiripan {match.text_score:.0f}%)",
            now=now,
        )
        return Match(match.decision, target, match.text_score)
    root = other.cluster_id or other.id
    workflow.record(
        session,
        complaint,
        actor="system",
        action="clustered",
        changes={"cluster_id": root},
        note=note,
        now=now,
    )
    return match
