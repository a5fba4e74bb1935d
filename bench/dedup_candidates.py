"""A/B of the duplicate look-up's candidate query, on a database kept by the dedup-lookup bench
(`BENCH_DEDUP_KEEP=<dir> python -m bench dedup-lookup`): before (DISTINCT, the first 200 ids
found) and now (`gateway.complaints.dedup`: the 40 sharing the most keys), interleaved probe by
probe so both meet the same load. Prints CPU per look-up (this process, plus the PostgreSQL
backend's), candidates judged, and whether both found the same best match.

    BENCH_DEDUP_KEEP=/tmp/keep python -m bench.dedup_candidates postgresql 1000000
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session, col

from bench import dedup_lookup as lookup
from config.settings import load_settings
from gateway.complaints import dedup
from gateway.context import Gateway
from gateway.store.db import Database, row_ids
from gateway.store.models import Complaint, DedupKey
from normalizer.dedup import DedupThresholds


def before(
    session: Session, complaint: Complaint, limits: DedupThresholds, keys: list[str]
) -> set[int]:
    """The candidate query before the ranking: the first 200 distinct ids found."""
    window = limits.same_problem_window
    query = (
        select(col(DedupKey.complaint_id))
        .where(col(DedupKey.key).in_(keys))
        .where(col(DedupKey.created_at) >= complaint.received_at - window)
        .where(col(DedupKey.created_at) <= complaint.received_at + window)
        .distinct()
        .limit(dedup.MAX_CANDIDATES)
    )
    ids = set(session.scalars(query).all())
    since = complaint.received_at - limits.same_reporter_window
    own = (
        select(col(Complaint.id))
        .where(col(Complaint.reporter_id) == complaint.reporter_id)
        .where(col(Complaint.received_at) >= since)
        .order_by(col(Complaint.received_at).desc())
        .limit(dedup.MAX_CANDIDATES)
    )
    return ids | set(row_ids(session.scalars(own)))


def main(engine: str, n: int) -> None:
    keep = Path(os.environ["BENCH_DEDUP_KEEP"])
    if engine == "sqlite":
        db = Database(f"sqlite:///{keep / f'dedup-{n}.db'}")
    else:
        db, _, _ = lookup._pg_schema(f"bench_keep_{n}")
    settings = load_settings(
        _env_file=None,
        database_url=db.url,
        data_dir=Path(tempfile.mkdtemp()),
        scheduler_enabled=False,
        secret_key="bench-only-not-a-secret",  # noqa: S106
    )
    gateway = Gateway.create(settings, db=db)
    now = dedup._candidate_ids
    probe = lookup.probes(lookup.templates(3000), 300)
    cpu: dict[str, list[float]] = {"before": [], "now": []}
    server = {"before": 0.0, "now": 0.0}
    judged: dict[str, list[int]] = {"before": [], "now": []}
    differ: Counter[tuple[str | None, str | None]] = Counter()
    with db.read_session() as session:
        pid = lookup._backend_pid(session) if db.is_postgres else None
        for complaint in probe[:20]:
            dedup.find(gateway, session, complaint)
        for complaint in probe:
            best = {}
            for name, query in (("before", before), ("now", now)):
                dedup._candidate_ids = query  # type: ignore[assignment]
                server_before = lookup._process_cpu_s(pid) or 0.0
                started = time.process_time_ns()
                match = dedup.find(gateway, session, complaint)
                cpu[name].append((time.process_time_ns() - started) / 1e6)
                server[name] += (lookup._process_cpu_s(pid) or 0.0) - server_before
                best[name] = (match.decision, match.other.id) if match else None
                keys = dedup.keys_for(complaint)
                judged[name].append(len(query(session, complaint, dedup.thresholds(gateway), keys)))
            if best["before"] != best["now"]:
                differ[(best["before"] or (None,))[0], (best["now"] or (None,))[0]] += 1
    dedup._candidate_ids = now
    for name in ("before", "now"):
        cuts = statistics.quantiles(cpu[name], n=100, method="inclusive")
        print(
            f"{engine} {n:,} {name}: CPU p50 {cuts[49]:.2f} ms, p95 {cuts[94]:.2f} ms; server "
            f"CPU mean {server[name] * 1000 / len(probe):.2f} ms; candidates judged mean "
            f"{statistics.fmean(judged[name]):.1f}, max {max(judged[name])}"
        )
    print(
        f"best match differs for {sum(differ.values())} of {len(probe)} probes "
        f"(decision before -> now: {dict(differ)}); load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
