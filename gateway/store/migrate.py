"""Run the Alembic migrations programmatically (`lapor-gateway migrate`, tests, start-up)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# Engine-specific objects made by hand in migrations (full-text search: an FTS5 table and its
# shadow tables on SQLite, a generated tsvector column and its GIN index on PostgreSQL). They
# are not in the models, so autogenerate and the models-versus-migrations test skip them.
# APScheduler's persistent job store creates and owns `apscheduler_jobs` (gateway/jobs/leader.py).
HAND_MADE_TABLE_PREFIXES = ("complaint_fts", "apscheduler_jobs")
HAND_MADE_COLUMNS = frozenset({("complaint", "search_vector")})
HAND_MADE_INDEXES = frozenset({"ix_complaint_search_vector"})


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic's `include_object` hook: False for the hand-made search objects above."""
    if type_ == "table" and name and name.startswith(HAND_MADE_TABLE_PREFIXES):
        return False
    if type_ == "column":
        table = getattr(getattr(obj, "table", None), "name", None)
        if (table, name) in HAND_MADE_COLUMNS:
            return False
    return not (type_ == "index" and name in HAND_MADE_INDEXES)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def make_revision(url: str, message: str) -> None:
    """Developer helper: autogenerate a migration from the models (`python -m gateway.migrate`)."""
    command.revision(alembic_config(url), message=message, autogenerate=True)


if __name__ == "__main__":
    import sys

    make_revision(sys.argv[1], sys.argv[2])
