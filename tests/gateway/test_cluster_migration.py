"""The `cluster_0001` data migration: clusters made before "a cluster is one case" are brought in
line — followers mirror their primary (audited), a follower with its own core report leaves the
cluster — on both engines."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.engine import make_url

from gateway.store.db import Database
from gateway.store.migrate import upgrade
from gateway.store.models import Complaint, ComplaintEvent
from tests.conftest import DEFAULT_PG, _pg_reachable

AT = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database of its own (migrated step by step by the test)."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
        yield database
        database.dispose()
        return
    base = os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG
    problem = _pg_reachable(base)
    if problem:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(problem)
        pytest.skip(problem)
    schema = f"m_{uuid.uuid4().hex[:12]}"
    admin = Database(base)
    with admin.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    database = Database(url.render_as_string(hide_password=False))
    try:
        yield database
    finally:
        database.dispose()
        with admin.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _complaint(session, code: str, status: str, **fields: object) -> Complaint:  # type: ignore[no-untyped-def]
    row = Complaint(
        tracking_code=code,
        origin_channel="twilio_sms",
        status=status,
        received_at=AT,
        **fields,  # type: ignore[arg-type]
    )
    # Written as the old revision's table has it: columns added by later migrations (the
    # model has them already) are left out.
    existing = {c["name"] for c in inspect(session.connection()).get_columns("complaint")}
    table = Complaint.__table__  # type: ignore[attr-defined]
    values = {
        c.name: getattr(row, c.key) for c in table.columns if c.name in existing and c.name != "id"
    }
    row.id = session.execute(insert(table).values(values).returning(table.c.id)).scalar_one()
    return row


def test_old_clusters_become_cases(fresh: Database) -> None:
    upgrade(fresh.engine, "reports_0001")
    answered = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    with fresh.session() as session:
        primary = _complaint(
            session,
            "LPR-AAAA1",
            "answered",
            category="pengaduan",
            answered_at=answered,
            feedback_due_at=datetime(2026, 12, 4, 16, 59, tzinfo=UTC),
            core_ref="C-1",
        )
        stuck = _complaint(session, "LPR-AAAA2", "received", cluster_id=primary.id)
        doubled = _complaint(
            session, "LPR-AAAA3", "disposed", cluster_id=primary.id, core_ref="C-2"
        )
        merged = _complaint(session, "LPR-AAAA4", "merged", cluster_id=primary.id)
        session.commit()
        ids = (primary.id, stuck.id, doubled.id, merged.id)

    upgrade(fresh.engine)

    with fresh.read_session() as session:
        primary, stuck, doubled, merged = (session.get(Complaint, i) for i in ids)
        assert (stuck.status, stuck.cluster_id, stuck.category) == (
            "answered",
            primary.id,
            "pengaduan",
        )
        assert (stuck.answered_at, stuck.feedback_due_at) == (
            primary.answered_at,
            primary.feedback_due_at,
        )
        assert stuck.core_ref is None
        assert (doubled.status, doubled.cluster_id, doubled.core_ref) == ("disposed", None, "C-2")
        assert (merged.status, merged.cluster_id) == ("merged", primary.id)
        events = {
            (e.complaint_id, e.action, e.from_status, e.to_status)
            for e in session.scalars(select(ComplaintEvent)).all()
        }
    assert events == {
        (stuck.id, "follows_case", "received", "answered"),
        (doubled.id, "unclustered", None, None),
    }
