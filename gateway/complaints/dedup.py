"""Duplicates, the database half: candidate look-up through `dedup_key`, then the normalizer's
pure scoring and decision, then the consequence — a merge (the same reporter sent it again) or
a cluster (several reporters, one problem: the new complaint follows the problem's case, see
gateway/complaints/lifecycle.py and docs/clusters.md). Every automatic merge is an audited
transition an admin can undo (unmerge).

Candidates come from two indexed look-ups whose cost does not grow with the number of open
complaints: the reporter's own recent complaints (for merges: a person has few), and the
signature's LSH band keys scoped to the village (for clusters: a few small buckets).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlmodel import Session, col

from gateway.complaints import lifecycle, workflow
from gateway.store.db import row_ids
from gateway.store.models import Complaint, DedupKey, Status
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
    from gateway.parts import CaseParts

MAX_CANDIDATES = 200
__all__ = ["SAME_PROBLEM", "SAME_REPORTER_DUPLICATE", "Match", "find", "fold", "index"]


def thresholds(gateway: CaseParts) -> DedupThresholds:
    s = gateway.settings
    return DedupThresholds(
        same_reporter_text=s.dedup_same_reporter_text,
        same_problem_text=s.dedup_same_problem_text,
        same_reporter_window=timedelta(days=s.dedup_same_reporter_days),
        same_problem_window=timedelta(days=s.dedup_same_problem_days),
    )


def keys_for(complaint: Complaint) -> list[str]:
    """Village-scoped band keys: only complaints in the same village can form a cluster."""
    if not complaint.kelurahan or not complaint.dedup_signature:
        return []
    place = f"{complaint.kecamatan or '-'}/{complaint.kelurahan}".lower()
    return [f"{place}:{band}" for band in band_keys(complaint.dedup_signature)]


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


def find(gateway: CaseParts, session: Session, complaint: Complaint) -> Match | None:
    """The best duplicate among open complaints, or None."""
    limits = thresholds(gateway)
    ids: set[int] = set()
    keys = keys_for(complaint)
    if keys:
        since = complaint.received_at - limits.same_problem_window
        ids |= set(
            session.scalars(
                select(col(DedupKey.complaint_id))
                .where(col(DedupKey.key).in_(keys))
                .where(col(DedupKey.created_at) >= since)
                .where(col(DedupKey.complaint_id) != complaint.id)
                .distinct()
                .limit(MAX_CANDIDATES)
            ).all()
        )
    if complaint.reporter_id is not None:
        since = complaint.received_at - limits.same_reporter_window
        ids |= set(
            row_ids(
                session.scalars(
                    select(col(Complaint.id))
                    .where(col(Complaint.reporter_id) == complaint.reporter_id)
                    .where(col(Complaint.received_at) >= since)
                    .where(col(Complaint.id) != complaint.id)
                    .order_by(col(Complaint.received_at).desc())
                    .limit(MAX_CANDIDATES)
                )
            )
        )
    if not ids:
        return None
    others = session.scalars(
        select(Complaint)
        .where(col(Complaint.id).in_(ids))
        .where(col(Complaint.status).in_([s.value for s in workflow.OPEN_STATES]))
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


def fold(gateway: CaseParts, session: Session, complaint: Complaint, now: datetime) -> Match | None:
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
    # Another reporter, the same problem: the complaint follows that problem's case.
    lifecycle.join(gateway, session, complaint, other, note=note, now=now)
    return match
