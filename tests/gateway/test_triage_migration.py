"""`triage_0001`: complaints filed before the upgrade are found by the new look-up — the
`dedup_key` rows of open complaints are rebuilt as `candidate_keys()` (text keys for all, village
keys where known) — and the new columns read as empty, on both engines."""

from __future__ import annotations

from sqlalchemy import select, text

from gateway.complaints import dedup
from gateway.store.db import Database
from gateway.store.migrate import upgrade
from gateway.store.models import Complaint, DedupKey
from tests.gateway.test_cluster_migration import AT, _complaint, fresh  # noqa: F401

SIGNATURE = "ambrol jembatan lewat warga"


def test_open_complaints_get_the_new_keys(fresh: Database) -> None:  # noqa: F811
    upgrade(fresh.engine, "citizen_0001")
    with fresh.session() as session:
        placed = _complaint(
            session, "LPR-AAAB1", "received", dedup_signature=SIGNATURE, kelurahan="Leteh",
            kecamatan="Rembang",
        )  # fmt: skip
        nowhere = _complaint(session, "LPR-AAAB2", "verified", dedup_signature=SIGNATURE)
        closed = _complaint(session, "LPR-AAAB3", "closed", dedup_signature=SIGNATURE)
        session.execute(
            text(
                "INSERT INTO dedup_key (complaint_id, key, created_at) "
                "VALUES (:id, 'rembang/leteh:0:00000000', :at)"
            ),
            {"id": placed.id, "at": AT},
        )
        session.commit()
        ids = placed.id, nowhere.id, closed.id

    upgrade(fresh.engine)

    with fresh.read_session() as session:
        keys: dict[int, set[str]] = {}
        for row in session.execute(select(DedupKey.complaint_id, DedupKey.key)):
            keys.setdefault(row.complaint_id, set()).add(row.key)
        placed, nowhere, closed = (session.get(Complaint, i) for i in ids)
        assert keys[placed.id] == set(dedup.keys_for(placed))  # type: ignore[union-attr]
        assert any(k.startswith("v:rembang/leteh:") for k in keys[placed.id])  # type: ignore[union-attr]
        assert keys[nowhere.id] == set(dedup.keys_for(nowhere))  # type: ignore[union-attr]
        assert all(k.startswith(("x:", "t")) for k in keys[nowhere.id])  # type: ignore[union-attr]
        assert closed.id not in keys  # type: ignore[union-attr]
        assert "rembang/leteh:0:00000000" not in keys[placed.id]  # type: ignore[union-attr]
        assert (placed.place_parts, placed.not_report) == ({}, {})  # type: ignore[union-attr]
