"""cluster: a cluster is one case — complaints that follow a case mirror its primary

Before this revision a clustered complaint kept a life of its own: it waited in the verification
queue while its primary was answered, and an admin could dispose it (a second report to the
core). From now on it follows its primary (docs/clusters.md). This data migration brings the
existing clusters in line, audited on each complaint it changes:

- a follower mirrors its primary's state, timestamps, deadlines, agency, class and escalation
  (`follows_case`, as `gateway.complaints.workflow.follow` does);
- a follower that already has a report of its own in the core (`core_ref`), or whose primary was
  merged away, cannot follow it honestly: it leaves the cluster (`unclustered`) and goes on with
  its own life.

No schema change; downgrading leaves the data as it is.

Revision ID: cluster_0001
Revises: reports_0001
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import gateway.store.db

revision: str = "cluster_0001"
down_revision: str | None = "reports_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The fields a follower mirrors (gateway/complaints/workflow.py MIRRORED_FIELDS, as of this revision).
MIRRORED = (
    "status",
    "status_before_pending",
    "agency_id",
    "category",
    "escalated",
    "escalated_at",
    "verified_at",
    "disposed_at",
    "in_progress_at",
    "answered_at",
    "closed_at",
    "verify_due_at",
    "answer_due_at",
    "feedback_due_at",
)
TIMES = {name for name in MIRRORED if name.endswith("_at")}

complaint = sa.table(
    "complaint",
    sa.column("id", sa.Integer),
    sa.column("cluster_id", sa.Integer),
    sa.column("core_ref", sa.String),
    sa.column("version", sa.Integer),
    sa.column("updated_at", gateway.store.db.UTCDateTime(timezone=True)),
    *(
        sa.column(name, gateway.store.db.UTCDateTime(timezone=True) if name in TIMES else sa.String)
        for name in MIRRORED
        if name not in ("agency_id", "escalated")
    ),
    sa.column("agency_id", sa.Integer),
    sa.column("escalated", sa.Boolean),
)
event = sa.table(
    "complaint_event",
    sa.column("complaint_id", sa.Integer),
    sa.column("actor", sa.String),
    sa.column("action", sa.String),
    sa.column("from_status", sa.String),
    sa.column("to_status", sa.String),
    sa.column("before", gateway.store.db.JSONType),
    sa.column("after", gateway.store.db.JSONType),
    sa.column("note", sa.Text),
    sa.column("public", sa.Boolean),
    sa.column("created_at", gateway.store.db.UTCDateTime(timezone=True)),
)


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def upgrade() -> None:
    conn = op.get_bind()
    now = datetime.now(UTC)
    primary = complaint.alias("p")
    follower = complaint.alias("f")
    rows = conn.execute(
        sa.select(follower, *(primary.c[name].label(f"p_{name}") for name in MIRRORED))
        .select_from(follower.join(primary, follower.c.cluster_id == primary.c.id))
        .where(follower.c.id != primary.c.id)
        .where(follower.c.status != "merged")
        .order_by(follower.c.id)
    ).all()
    for row in rows:
        own = row._mapping
        if own["core_ref"] or own["p_status"] == "merged":
            _apply(
                conn,
                own,
                {"cluster_id": None},
                action="unclustered",
                note=own["core_ref"] or None,
                now=now,
            )
            continue
        changes = {name: own[f"p_{name}"] for name in MIRRORED if own[name] != own[f"p_{name}"]}
        if changes:
            _apply(conn, own, changes, action="follows_case", note=None, now=now)


def _apply(
    conn: sa.Connection,
    own: Any,
    changes: dict[str, Any],
    *,
    action: str,
    note: str | None,
    now: datetime,
) -> None:
    conn.execute(
        complaint.update()
        .where(complaint.c.id == own["id"])
        .values(**changes, version=complaint.c.version + 1, updated_at=now)
    )
    moved = "status" in changes
    conn.execute(
        event.insert().values(
            complaint_id=own["id"],
            actor="system",
            action=action,
            from_status=own["status"] if moved else None,
            to_status=changes["status"] if moved else None,
            before={name: _json(own[name]) for name in changes},
            after={name: _json(value) for name, value in changes.items()},
            note=note,
            public=moved,
            created_at=now,
        )
    )


def downgrade() -> None:
    """Nothing to undo: the data stays as the cases left it."""
