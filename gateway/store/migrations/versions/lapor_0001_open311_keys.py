"""lapor: API keys for Open311 GeoReport v2 (`POST requests` files complaints with an
admin-issued key)

Revision ID: lapor_0001
Revises: citizen_0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import gateway.store.db

revision: str = "lapor_0001"
down_revision: str | None = "triage_0001"  # chained after the triage migration at merge
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "open311_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("key_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("created_at", gateway.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", gateway.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", gateway.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )


def downgrade() -> None:
    op.drop_table("open311_key")
