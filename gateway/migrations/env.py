"""Alembic environment: migrations run against the engine `gateway.migrate` hands over."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import gateway.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from gateway.db import make_engine

target_metadata = SQLModel.metadata
config = context.config


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite needs batch mode to alter tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `lapor-gateway migrate`")
run_migrations()
