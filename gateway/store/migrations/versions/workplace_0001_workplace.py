"""workplace: who is on a complaint, internal notes, saved replies, the audit log (issue 18)

Disposition notes used to be the text of the (public) `disposed` event: they move to the
internal notes, marked for the agency they were written for, and leave the event.

Revision ID: workplace_0001
Revises: citizen_0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import gateway.store.db

revision: str = "workplace_0001"
down_revision: str | None = "lapor_0001"  # chained after the LAPOR! intake migration at merge
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "complaint_assignment",
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("assigned_at", gateway.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaint.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("complaint_id"),
    )
    with op.batch_alter_table("complaint_assignment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_complaint_assignment_user_id"), ["user_id"], unique=False
        )
    op.create_table(
        "complaint_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("for_agency", sa.Boolean(), nullable=False),
        sa.Column("created_at", gateway.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaint.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("complaint_note", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_complaint_note_complaint_id"), ["complaint_id"], unique=False
        )
    op.create_table(
        "saved_reply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("body_id", sa.Text(), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("created_at", gateway.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("updated_at", gateway.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("area", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", gateway.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entry_area"), ["area"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entry_created_at"), ["created_at"], unique=False)
    connection = op.get_bind()
    # A disposition note was written for the agency: it becomes an internal note the agency's
    # liaison officers see, and the public event keeps no text.
    connection.execute(
        sa.text(
            "INSERT INTO complaint_note (complaint_id, author, body, for_agency, created_at) "
            "SELECT complaint_id, actor, note, :yes, created_at FROM complaint_event "
            "WHERE action = 'disposed' AND note IS NOT NULL AND note <> ''"
        ),
        {"yes": True},
    )
    connection.execute(
        sa.text("UPDATE complaint_event SET note = NULL WHERE action = 'disposed'")
    )


def downgrade() -> None:
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entry_created_at"))
        batch_op.drop_index(batch_op.f("ix_audit_entry_area"))
    op.drop_table("audit_entry")
    op.drop_table("saved_reply")
    with op.batch_alter_table("complaint_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_note_complaint_id"))
    op.drop_table("complaint_note")
    with op.batch_alter_table("complaint_assignment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_assignment_user_id"))
    op.drop_table("complaint_assignment")
