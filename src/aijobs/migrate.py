"""Apply Alembic migrations from code, for `aijobs migrate` and `aijobs dev`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from aijobs.settings import Settings

#: The project root, where alembic.ini and migrations/ live.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def alembic_config(settings: Settings) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings), revision)


def downgrade(settings: Settings, revision: str) -> None:
    command.downgrade(alembic_config(settings), revision)
