"""Run the Alembic migrations programmatically (`lapor-gateway migrate`, tests, start-up)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


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
