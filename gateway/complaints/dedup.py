"""Duplicates, the database half: candidate look-up through `dedup_key`, then the normalizer's
`judge()` (text first, place as evidence), then the consequence — a merge (the same reporter
sent it again) or a cluster (several reporters, one problem: the new complaint follows the
problem's case, see gateway/complaints/lifecycle.py and docs/clusters.md). Every automatic merge
is an audited transition an admin can undo (unmerge).

Candidates come from indexed look-ups whose cost does not grow with the number of open
complaints: the reporter's own recent complaints (for merges: a person has few), and the
signature's keys (`normalizer.dedup.candidate_keys`) within the time window — text keys that
find the same or nearly the same text wherever it comes from (no village needed), and, where a
village is known, loose band keys scoped to it for paraphrases. The place is evidence, never a
gate: the same village, kecamatan or a near pin raise confidence; another village, street,
dusun, RT/RW or landmark lowers it (a wrong merge hurts more than a missed one).

The complaint page asks `considered()` for the same judgements, to show why two complaints
were clustered and why two similar ones were not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from gateway.complaints import lifecycle, workflow
from gateway.store.db import row_ids
from gateway.store.models import Complaint, DedupKey, Status
from normalizer.dedup import (
    DISTINCT,
    SAME_PROBLEM,
    SAME_REPORTER_DUPLICATE,
    DedupThresholds,
    DuplicateCandidate,
    Factor,
    Judgement,
    candidate_keys,
    judge,
)
from normalizer.location import PlaceMatch, PlaceParts

if TYPE_CHECKING:
    from gateway.parts import CaseParts, Configured

MAX_CANDIDATES = 200
# Of the complaints found through keys, this many are judged: those sharing the most keys
# first. The same or nearly the same text shares most of its nine text keys (and, in one
# village, most of the sixteen village keys); an unrelated complaint of the same village and
# weeks shares one loose band key now and then, and with a million open complaints there are
# dozens of those. Judging them (loading each row, comparing) was most of a look-up's cost.
MAX_KEY_CANDIDATES = 40
# The complaint page shows near misses from this text similarity up (0..100): "why not".
NEAR_MISS_TEXT = 45.0
__all__ = [
    "SAME_PROBLEM",
    "SAME_REPORTER_DUPLICATE",
    "Match",
    "considered",
    "find",
    "fold",
    "index",
]


def thresholds(gateway: Configured) -> DedupThresholds:
    s = gateway.settings
    return DedupThresholds(
        same_reporter_text=s.dedup_same_reporter_text,
        same_problem_text=s.dedup_same_problem_text,
        same_reporter_window=timedelta(days=s.dedup_same_reporter_days),
        same_problem_window=timedelta(days=s.dedup_same_problem_days),
        near_exact_text=s.dedup_near_exact_text,
        cluster_evidence=s.dedup_cluster_evidence,
    )


def place_of(complaint: Complaint) -> PlaceMatch | None:
    """The complaint's village as the key scope (the admin's correction, else the suggestion)."""
    if not complaint.kelurahan:
        return None
    return PlaceMatch(complaint.kecamatan, complaint.kelurahan, None, 1.0, "text")


def keys_for(complaint: Complaint) -> list[str]:
    """Text keys for every complaint with a signature; village-scoped keys where it is known."""
    if not complaint.dedup_signature:
        return []
    return candidate_keys(complaint.dedup_signature, place_of(complaint))


def parts_of(complaint: Complaint) -> PlaceParts:
    stored: Mapping[str, Any] = complaint.place_parts or {}
    return PlaceParts(
        **{
            name: tuple(str(v) for v in stored.get(name) or ())
            for name in ("streets", "hamlets", "rt", "rw", "landmarks")
        }
    )


def candidate(complaint: Complaint) -> DuplicateCandidate:
    pin = None
    if complaint.latitude is not None and complaint.longitude is not None:
        pin = (complaint.latitude, complaint.longitude)
    return DuplicateCandidate(
        signature=complaint.dedup_signature,
        kecamatan=complaint.kecamatan,
        village=complaint.kelurahan,
        reporter_id=str(complaint.reporter_id) if complaint.reporter_id is not None else None,
        created_at=complaint.received_at,
        agencies=tuple(s["code"] for s in complaint.agency_suggestions[:2] if s.get("code")),
        parts=parts_of(complaint),
        coordinates=pin,
    )


@dataclass(frozen=True)
class Match:
    decision: str
    other: Complaint
    text_score: float
    judgement: Judgement | None = None


def judge_pair(
    mine: DuplicateCandidate, theirs: DuplicateCandidate, limits: DedupThresholds
) -> Judgement:
    """`normalizer.dedup.judge()` with the deployment's floor: a cluster also needs at least
    `DEDUP_SAME_PROBLEM_TEXT` of text similarity, whatever the place evidence adds."""
    found = judge(mine, theirs, limits)
    if found.decision == SAME_PROBLEM and found.text < limits.same_problem_text:
        floor = Factor("below_text_floor", 0.0, f"{limits.same_problem_text:g}")
        return replace(found, decision=DISTINCT, factors=(*found.factors, floor))
    return found


def _candidate_ids(
    session: Session, complaint: Complaint, limits: DedupThresholds, keys: list[str]
) -> set[int]:
    ids: set[int] = set()
    if keys:
        # Both ways in time: imported rows arrive in any order.
        window = limits.same_problem_window
        query = (
            select(col(DedupKey.complaint_id))
            .where(col(DedupKey.key).in_(keys))
            .where(col(DedupKey.created_at) >= complaint.received_at - window)
            .where(col(DedupKey.created_at) <= complaint.received_at + window)
            .group_by(col(DedupKey.complaint_id))
            .order_by(func.count().desc(), col(DedupKey.complaint_id).desc())
            .limit(MAX_KEY_CANDIDATES)
        )
        if complaint.id is not None:
            query = query.where(col(DedupKey.complaint_id) != complaint.id)
        ids |= set(session.scalars(query).all())
    if complaint.reporter_id is not None:
        since = complaint.received_at - limits.same_reporter_window
        own = (
            select(col(Complaint.id))
            .where(col(Complaint.reporter_id) == complaint.reporter_id)
            .where(col(Complaint.received_at) >= since)
            .order_by(col(Complaint.received_at).desc())
            .limit(MAX_CANDIDATES)
        )
        if complaint.id is not None:
            own = own.where(col(Complaint.id) != complaint.id)
        ids |= set(row_ids(session.scalars(own)))
    return ids


def considered(
    gateway: Configured,
    session: Session,
    complaint: Complaint,
    *,
    include: set[int] | None = None,
) -> list[tuple[Complaint, Judgement]]:
    """Every open candidate found for the complaint, each with its judgement (best first).
    `include` adds complaints to judge whatever the look-up finds (the page: the cluster)."""
    limits = thresholds(gateway)
    ids = _candidate_ids(session, complaint, limits, keys_for(complaint))
    ids |= include or set()
    if complaint.id is not None:
        ids.discard(complaint.id)
    if not ids:
        return []
    others = session.scalars(
        select(Complaint)
        .where(col(Complaint.id).in_(ids))
        .where(
            col(Complaint.status).in_([s.value for s in workflow.OPEN_STATES])
            | col(Complaint.id).in_(include or set())
        )
    ).all()
    mine = candidate(complaint)
    judged = [(other, judge_pair(mine, candidate(other), limits)) for other in others]
    judged.sort(key=lambda pair: (_rank(pair[1]), pair[0].id or 0), reverse=True)
    return judged


def _rank(judgement: Judgement) -> tuple[int, float]:
    order = {SAME_REPORTER_DUPLICATE: 2, SAME_PROBLEM: 1}
    return order.get(judgement.decision, 0), judgement.evidence


def find(gateway: Configured, session: Session, complaint: Complaint) -> Match | None:
    """The best duplicate among open complaints, or None."""
    judged = considered(gateway, session, complaint)
    if not judged or judged[0][1].decision == DISTINCT:  # best first: none is a duplicate
        return None
    other, judgement = judged[0]
    return Match(judgement.decision, other, judgement.text, judgement)


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
        lifecycle.step_own(
            gateway,
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
        return Match(match.decision, target, match.text_score, match.judgement)
    # Another reporter, the same problem: the complaint follows that problem's case.
    lifecycle.join(gateway, session, complaint, other, note=note, now=now)
    return match
