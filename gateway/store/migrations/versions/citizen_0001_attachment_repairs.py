"""citizen: repair attachments the old download paths could never fetch

Photos entered by hand (channel `manual`) were stored before intake, like the web form's, but
were recorded as provider references to download ("channel manual is not configured"): they are
marked stored, with the key they have. Telegram photos were asked for their storage key instead
of their file id ("Telegram media has no file id") and given up: they get fresh attempts.
Data only; the schema does not change.

Revision ID: citizen_0001
Revises: reports_0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "citizen_0001"
down_revision: str | None = "cluster_0002"  # chained after the cluster migrations at merge
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    manual = connection.execute(
        sa.text(
            "SELECT attachment.id, attachment.provider_ref FROM attachment "
            "JOIN inbound_message ON inbound_message.id = attachment.inbound_message_id "
            "WHERE inbound_message.channel = 'manual' AND attachment.status <> 'stored' "
            "AND attachment.storage_key IS NULL AND attachment.provider_ref IS NOT NULL"
        )
    ).all()
    for attachment_id, key in manual:
        # Content-addressed keys: "ab/<sha256>.jpg".
        digest = key.rsplit("/", 1)[-1].split(".", 1)[0]
        connection.execute(
            sa.text(
                "UPDATE attachment SET storage_key = :key, sha256 = :digest, "
                "provider_ref = NULL, status = 'stored', error = NULL WHERE id = :id"
            ),
            {"key": key, "digest": digest[:64], "id": attachment_id},
        )
    connection.execute(
        sa.text(
            "UPDATE attachment SET status = 'pending', attempts = 0, error = NULL "
            "WHERE status = 'failed' AND provider_ref IS NOT NULL "
            "AND error LIKE '%has no file id%'"
        )
    )


def downgrade() -> None:
    """Nothing to undo: the repaired rows are right under the old code too."""
