"""cluster: partial indexes for the inbox's one row per case

The inbox leaves out the complaints that follow another one's case (docs/clusters.md); its page
and counts filter on `cluster_id IS NULL OR merged_into_id IS NOT NULL`. These are the inbox
indexes again, restricted to those rows, so that both engines still count the 5,000 newest of a
status from the index alone (bench/inbox_bench.py).

Revision ID: cluster_0002
Revises: cluster_0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "cluster_0002"
down_revision: str | None = "cluster_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CASE_ROWS = "cluster_id IS NULL OR merged_into_id IS NOT NULL"  # gateway/store/models.py CASE_ROWS
CASE_INDEXES = {
    "received_at": ["received_at"],
    "status_received": ["status", "received_at"],
    "agency_received": ["agency_id", "received_at"],
    "agency_status": ["agency_id", "status"],
    "status_verify_due": ["status", "verify_due_at"],
    "status_answer_due": ["status", "answer_due_at"],
}


def upgrade() -> None:
    for name, columns in CASE_INDEXES.items():
        op.create_index(
            f"ix_case_{name}",
            "complaint",
            columns,
            unique=False,
            sqlite_where=sa.text(CASE_ROWS),
            postgresql_where=sa.text(CASE_ROWS),
        )


def downgrade() -> None:
    for name in CASE_INDEXES:
        op.drop_index(f"ix_case_{name}", table_name="complaint")
