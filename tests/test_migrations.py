"""Alembic migrations upgrade and downgrade cleanly on PostgreSQL and on SQLite."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import ROOT, SESSION, database_url, drop_database, recreate_database

EXPECTED_INDEXES = {
    "ix_job_created_at",
    "ix_job_status_created_at",
    "ix_job_kind_created_at",
    "ix_job_kind_status_created_at",
    "ix_job_active_lease",
    "ix_job_finished_at",
    "ix_job_idempotency_key",
}


def migrate(url: str, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "aijobs", "migrate", *args],
        check=True,
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
    )


async def tables_and_indexes(url: str) -> tuple[set[str], set[str]]:
    engine = create_async_engine(url)
    async with engine.connect() as connection:

        def read(sync_connection):  # type: ignore[no-untyped-def]
            inspector = inspect(sync_connection)
            tables = set(inspector.get_table_names())
            indexes = set()
            if "job" in tables:
                indexes = {index["name"] for index in inspector.get_indexes("job")}
            return tables, indexes

        result = await connection.run_sync(read)
    await engine.dispose()
    return result  # type: ignore[no-any-return]


def roundtrip(url: str) -> None:
    migrate(url)
    tables, indexes = asyncio.run(tables_and_indexes(url))
    assert "job" in tables
    assert indexes >= EXPECTED_INDEXES

    migrate(url, "--downgrade", "base")
    tables, _ = asyncio.run(tables_and_indexes(url))
    assert not {"job", "job_count"} & tables

    migrate(url)
    tables, _ = asyncio.run(tables_and_indexes(url))
    assert "job" in tables


def test_migrations_upgrade_and_downgrade_on_sqlite(tmp_path: Path) -> None:
    roundtrip(f"sqlite+aiosqlite:///{tmp_path / 'aijobs.db'}")


@pytest.mark.usefixtures("services")
def test_migrations_upgrade_and_downgrade_on_postgresql() -> None:
    name = f"aijobs_test_migrations_{SESSION}"
    asyncio.run(recreate_database(name))
    try:
        roundtrip(database_url(name))
    finally:
        asyncio.run(drop_database(name))
