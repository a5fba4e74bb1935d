"""outbox: an index on each recipient's line

A dispatcher claims a row only when no earlier row to the same recipient is due or in another
dispatcher's hands (gateway/outbox/queue.py, issue 12); this index answers that look-up from
the row's (channel, recipient) and id.

Revision ID: outbox_0001
Revises: instances_0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "outbox_0001"
down_revision: str | None = "instances_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_outbox_recipient_line", "outbox_item", ["channel", "recipient", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_recipient_line", table_name="outbox_item")
