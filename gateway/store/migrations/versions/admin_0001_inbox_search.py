"""admin inbox: full-text search, the inbox's indexes, the re-disposition request, the
session epoch (logout revokes a user's session cookies)

Full-text search over a complaint's title and clean text is built per engine:
- SQLite: an FTS5 external-content table `complaint_fts` kept in step by triggers;
- PostgreSQL: a generated `search_vector` tsvector column with a GIN index ('simple'
  configuration: PostgreSQL ships no Indonesian stemmer, and words are matched as typed).
Neither is part of the models (they are engine-specific); `gateway.store.migrate.include_object`
tells autogenerate to leave them alone.

Revision ID: admin_0001
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.store.db

revision: str = "admin_0001"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE complaint_fts USING fts5("
    "title, clean_text, content='complaint', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER complaint_fts_insert AFTER INSERT ON complaint BEGIN "
    "INSERT INTO complaint_fts(rowid, title, clean_text) "
    "VALUES (new.id, new.title, new.clean_text); END",
    "CREATE TRIGGER complaint_fts_delete AFTER DELETE ON complaint BEGIN "
    "INSERT INTO complaint_fts(complaint_fts, rowid, title, clean_text) "
    "VALUES ('delete', old.id, old.title, old.clean_text); END",
    "CREATE TRIGGER complaint_fts_update AFTER UPDATE OF title, clean_text ON complaint BEGIN "
    "INSERT INTO complaint_fts(complaint_fts, rowid, title, clean_text) "
    "VALUES ('delete', old.id, old.title, old.clean_text); "
    "INSERT INTO complaint_fts(rowid, title, clean_text) "
    "VALUES (new.id, new.title, new.clean_text); END",
    "INSERT INTO complaint_fts(complaint_fts) VALUES ('rebuild')",
]

POSTGRES_FTS = [
    "ALTER TABLE complaint ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(clean_text, ''))) STORED",
    "CREATE INDEX ix_complaint_search_vector ON complaint USING gin (search_vector)",
]


def upgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "redisposition_requested_at",
                gateway.store.db.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
        batch_op.create_index("ix_complaint_received_at", ["received_at"], unique=False)
        batch_op.create_index(
            "ix_complaint_agency_received", ["agency_id", "received_at"], unique=False
        )
        batch_op.create_index(
            "ix_complaint_status_verify_due", ["status", "verify_due_at"], unique=False
        )
        batch_op.create_index(
            "ix_complaint_status_answer_due", ["status", "answer_due_at"], unique=False
        )
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0")
        )
    statements = SQLITE_FTS if op.get_bind().dialect.name == "sqlite" else POSTGRES_FTS
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("complaint_fts_insert", "complaint_fts_delete", "complaint_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS complaint_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_complaint_search_vector")
        op.execute("ALTER TABLE complaint DROP COLUMN IF EXISTS search_vector")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("session_epoch")
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_status_answer_due")
        batch_op.drop_index("ix_complaint_status_verify_due")
        batch_op.drop_index("ix_complaint_agency_received")
        batch_op.drop_index("ix_complaint_received_at")
        batch_op.drop_column("redisposition_requested_at")
