"""triage: duplicates found by text wherever they come from; place parts and "bukan laporan"

Two JSON columns on `complaint`: `place_parts` (streets, dusun, RT/RW, landmarks) and
`not_report` (the normalizer's not-a-report suggestion). The `dedup_key` rows of open
complaints are rebuilt in the new key format (`normalizer.dedup.candidate_keys`: text keys `x:`
and `t<band>:` for every complaint, village-scoped `v:` keys where the village is known), so
complaints filed before the upgrade are still found; the old village-only keys are dropped.

Revision ID: triage_0001
Revises: citizen_0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.store.db

revision: str = "triage_0001"
down_revision: str | None = "citizen_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The open states of gateway/complaints/workflow.OPEN_STATES, frozen as of this revision.
OPEN_STATES = ("received", "verified", "disposed", "in_progress", "answered", "pending")


def upgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        for name in ("place_parts", "not_report"):
            batch_op.add_column(
                sa.Column(
                    name, gateway.store.db.JSONType, nullable=False, server_default="{}"
                )
            )
    _rebuild_keys()


def _rebuild_keys() -> None:
    # The key format is the normalizer's (pure code, no database): recomputed from the stored
    # signatures. Closed complaints are never candidates, so only open ones are re-keyed.
    from normalizer.dedup import candidate_keys
    from normalizer.location import PlaceMatch

    connection = op.get_bind()
    connection.execute(sa.text("DELETE FROM dedup_key"))
    rows = connection.execute(
        sa.text(
            "SELECT id, dedup_signature, kecamatan, kelurahan, received_at FROM complaint "
            "WHERE status IN :states AND dedup_signature <> ''"
        ).bindparams(sa.bindparam("states", expanding=True)),
        {"states": list(OPEN_STATES)},
    ).all()
    insert = sa.text(
        "INSERT INTO dedup_key (complaint_id, key, created_at) VALUES (:id, :key, :at)"
    )
    batch: list[dict[str, object]] = []
    for complaint_id, signature, kecamatan, village, received in rows:
        place = None
        if village:
            place = PlaceMatch(kecamatan, village, None, 1.0, "text")
        for key in candidate_keys(signature, place):
            batch.append({"id": complaint_id, "key": key, "at": received})
        if len(batch) >= 5000:
            connection.execute(insert, batch)
            batch = []
    if batch:
        connection.execute(insert, batch)


def downgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_column("not_report")
        batch_op.drop_column("place_parts")
