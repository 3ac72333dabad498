"""The benchmark's seeder grows the job table inside PostgreSQL, counters and all."""

from __future__ import annotations

import uuid

import pytest
from seed import count_jobs, fill_jobs
from sqlalchemy import text

from aijobs.settings import get_settings
from tests.support import create_api_key, engine, insert_job

pytestmark = pytest.mark.usefixtures("database")


def dsn() -> str:
    """The test database for asyncpg itself, without SQLAlchemy's driver name."""
    return get_settings().database_url.replace("+asyncpg", "")


async def counted_by_trigger() -> dict[str, int]:
    async with engine().connect() as connection:
        rows = await connection.execute(
            text("SELECT status, sum(n) FROM job_count GROUP BY status HAVING sum(n) > 0")
        )
        return {status: int(n) for status, n in rows}


async def test_the_table_grows_to_the_size_asked_with_counters_that_agree() -> None:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    await create_api_key(name, admin=True)
    await insert_job()

    added = await fill_jobs(dsn(), name, 401)
    again = await fill_jobs(dsn(), name, 401)

    assert (added, again) == (400, 0)
    assert await count_jobs(dsn()) == 401
    # Of each 200 seeded: 1 pending, 5 canceled, 8 failed, 186 completed.
    assert await counted_by_trigger() == {
        "pending": 1 + 2,
        "canceled": 10,
        "failed": 16,
        "completed": 372,
    }


async def test_seeding_without_the_owning_key_is_refused_and_adds_nothing() -> None:
    with pytest.raises(RuntimeError, match="no API key named 'nobody'"):
        await fill_jobs(dsn(), "nobody", 100)

    assert await count_jobs(dsn()) == 0
