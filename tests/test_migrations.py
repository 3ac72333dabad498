"""Alembic migrations upgrade and downgrade cleanly on PostgreSQL and on SQLite."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
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
    "ix_job_owner_id_created_at",
    "ix_job_owner_id_status_created_at",
    "ix_job_webhook_pending",
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
    assert {"job", "job_count", "api_key", "webhook_delivery"} <= tables
    assert indexes >= EXPECTED_INDEXES

    migrate(url, "--downgrade", "base")
    tables, _ = asyncio.run(tables_and_indexes(url))
    assert not {"job", "job_count", "api_key", "webhook_delivery"} & tables

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


async def counts(url: str) -> list[tuple[str, str, int]]:
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT kind, status, sum(n) FROM job_count GROUP BY kind, status ORDER BY 1, 2")
        )
        result = [(kind, status, int(n)) for kind, status, n in rows]
    await engine.dispose()
    return result


async def insert_jobs(url: str, statuses: list[str]) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        for status in statuses:
            await connection.execute(
                text(
                    "INSERT INTO job (id, kind, status, progress, params, usage, attempts,"
                    " attempts_floor, cancel_requested, created_at, updated_at)"
                    " VALUES (:id, 'simulate', :status, 0, '{}', '{}', 0, 0, false,"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {
                    "id": uuid.uuid4().bytes if url.startswith("sqlite") else uuid.uuid4(),
                    "status": status,
                },
            )
    await engine.dispose()


def keeps_counts_across_0003(url: str) -> None:
    migrate(url, "--revision", "0002")
    asyncio.run(insert_jobs(url, ["pending", "pending", "completed"]))
    before = asyncio.run(counts(url))

    migrate(url)
    asyncio.run(insert_jobs(url, ["completed"]))
    after_upgrade = asyncio.run(counts(url))

    migrate(url, "--downgrade", "0002")
    after_downgrade = asyncio.run(counts(url))

    assert before == [("simulate", "completed", 1), ("simulate", "pending", 2)]
    assert after_upgrade == [("simulate", "completed", 2), ("simulate", "pending", 2)]
    assert after_downgrade == after_upgrade


def test_job_counts_survive_the_owner_migration_on_sqlite(tmp_path: Path) -> None:
    keeps_counts_across_0003(f"sqlite+aiosqlite:///{tmp_path / 'aijobs.db'}")


@pytest.mark.usefixtures("services")
def test_job_counts_survive_the_owner_migration_on_postgresql() -> None:
    name = f"aijobs_test_migrations_counts_{SESSION}"
    asyncio.run(recreate_database(name))
    try:
        keeps_counts_across_0003(database_url(name))
    finally:
        asyncio.run(drop_database(name))
