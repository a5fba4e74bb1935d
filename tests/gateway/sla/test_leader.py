"""The sweeps' leader: one instance holds a PostgreSQL advisory lock on its own connection;
when it dies, another takes over. The leader's jobs live in a persistent job store."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from gateway.context import Gateway
from gateway.jobs import scheduler as scheduling
from gateway.jobs.leader import Leadership
from gateway.jobs.scheduler import DIGEST_JOB, SWEEP_JOB, SWEEP_STORE, Scheduler
from gateway.store.db import Database


def test_one_leader_among_instances_sharing_postgresql(db: Database) -> None:
    if db.is_sqlite:
        assert Leadership(db).try_lead() and Leadership(db).try_lead()  # one instance anyway
        return
    first, second = Leadership(db), Leadership(db)
    try:
        assert first.try_lead()
        assert not second.try_lead()
        assert first.try_lead()  # keeps it
        first.release()
        assert second.try_lead()
        assert not first.try_lead()
    finally:
        first.close()
        second.close()


def test_a_dead_leader_lets_another_instance_lead(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("one instance on SQLite")
    first, second = Leadership(db), Leadership(db)
    try:
        assert first.try_lead()
        assert first._connection is not None
        pid = first._connection.execute(text("SELECT pg_backend_pid()")).scalar()
        with db.engine.begin() as conn:  # the leader's connection dies (crash, network)
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert second.try_lead()
        assert not first.try_lead()  # it notices, and cannot take it back
    finally:
        first.close()
        second.close()


def _jobs_after_election(gateway: Gateway) -> dict[str, object]:
    async def scenario() -> dict[str, object]:
        instance = Scheduler(gateway)
        instance.scheduler.start()
        try:
            await instance.elect()
            assert instance.leading and scheduling._leader is instance
            return {
                job_id: instance.scheduler.get_job(job_id, jobstore=SWEEP_STORE).next_run_time  # type: ignore[union-attr]
                for job_id in (SWEEP_JOB, DIGEST_JOB)
            }
        finally:
            instance.shutdown()

    return asyncio.run(scenario())


def test_the_leaders_jobs_survive_a_restart(gateway: Gateway, db: Database) -> None:
    first = _jobs_after_election(gateway)
    assert first[SWEEP_JOB] is not None and first[DIGEST_JOB] is not None
    with db.engine.connect() as conn:
        stored = conn.execute(text("SELECT id FROM apscheduler_jobs ORDER BY id")).scalars().all()
    assert stored == [DIGEST_JOB, SWEEP_JOB]
    # A new process: the stored next run times are kept, not recomputed from "now".
    again = _jobs_after_election(Gateway.create(gateway.settings, db=db))
    assert again == first
    assert scheduling._leader is None
