"""Statistics: counts kept by triggers agree with the table, whatever changed it."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aijobs.admin.broker_probe import InMemoryProbe
from aijobs.admin.maintenance import purge_finished
from aijobs.admin.stats import PERCENTILE_SAMPLE, collect_stats
from aijobs.database import create_engine
from aijobs.jobs.models import Job
from aijobs.jobs.repository import utcnow
from aijobs.migrate import upgrade
from aijobs.settings import Settings, get_settings
from tests.support import engine, execute, insert_job, new_job_row

pytestmark = pytest.mark.usefixtures("database")

STATUSES = ("pending", "processing", "completed", "failed", "canceled")


async def counted_by_hand() -> dict[str, int]:
    async with engine().connect() as connection:
        rows = await connection.execute(text("SELECT status, count(*) FROM job GROUP BY status"))
        counts = {status: 0 for status in STATUSES}
        counts.update({status: int(count) for status, count in rows})
    return counts


async def test_stats_count_every_status_after_submits_cancels_retries_and_purges(
    client: Any,
) -> None:
    # Given jobs moved through several states, by the API and by maintenance
    simulate = {"kind": "simulate", "params": {"steps": 0}}
    batch = (await client.post("/jobs/batch", json={"jobs": [simulate] * 6})).json()["items"]
    for job in batch[:3]:
        await client.post(f"/jobs/{job['id']}/cancel")
    await client.post(f"/jobs/{batch[0]['id']}/retry")
    long_ago = utcnow() - timedelta(days=get_settings().job_retention_days + 1)
    for status in ("completed", "failed", "completed"):
        await insert_job(status=status, finished_at=long_ago)
    await insert_job(status="failed", finished_at=utcnow())
    await execute("UPDATE job SET status = 'processing' WHERE id = :id", id=batch[5]["id"])
    async with async_sessionmaker(engine())() as session:
        await purge_finished(session, get_settings())

    # When the statistics are read
    stats = (await client.get("/admin/stats")).json()

    # Then they agree with a count of the rows
    expected = await counted_by_hand()
    assert {status: stats[status] for status in STATUSES} == expected
    assert stats["total"] == sum(expected.values()) == 7
    assert stats["queue_depth"] is not None
    assert stats["throughput_per_min"] >= 0


async def test_the_list_total_follows_the_filters(client: Any) -> None:
    simulate = {"kind": "simulate", "params": {"steps": 0}}
    jobs = (await client.post("/jobs/batch", json={"jobs": [simulate] * 4})).json()["items"]
    await client.post("/jobs", json={"input_text": "Something to summarise."})
    await client.post(f"/jobs/{jobs[0]['id']}/cancel")

    async def total(**params: str) -> int:
        return (await client.get("/jobs", params=params)).json()["total"]  # type: ignore[no-any-return]

    assert await total() == 5
    assert await total(kind="simulate") == 4
    assert await total(status="canceled") == 1
    assert await total(kind="simulate", status="pending") == 3
    assert await total(kind="summarize", status="canceled") == 0


async def test_concurrent_writers_keep_the_counts_exact(client: Any) -> None:
    # Given many jobs changed at once by separate transactions
    simulate = {"kind": "simulate", "params": {"steps": 0}}
    jobs = (await client.post("/jobs/batch", json={"jobs": [simulate] * 40})).json()["items"]

    async def flip(job_id: str, status: str) -> None:
        await execute("UPDATE job SET status = :status WHERE id = :id", status=status, id=job_id)

    await asyncio.gather(
        *(flip(job["id"], STATUSES[index % 5]) for index, job in enumerate(jobs)),
        client.post("/jobs/batch", json={"jobs": [simulate] * 10}),
    )

    # Then no update was lost and none deadlocked
    stats = (await client.get("/admin/stats")).json()
    assert {status: stats[status] for status in STATUSES} == await counted_by_hand()


@pytest.fixture(params=["postgresql", "sqlite"])
def stats_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AsyncEngine]:
    """An empty migrated job table on either database the product runs on."""
    if request.param == "postgresql":
        yield engine()
        return

    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'stats.db'}")
    # Alembic's env configures logging from alembic.ini; the run's own must stay.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    upgrade(settings)
    root.handlers[:] = handlers
    root.setLevel(level)
    sqlite = create_engine(settings)
    yield sqlite
    asyncio.run(sqlite.dispose())


async def add_jobs(target: AsyncEngine, rows: list[dict[str, Any]]) -> None:
    values = [{**new_job_row(**row), "id": uuid.uuid4(), "params": {}, "usage": {}} for row in rows]
    async with AsyncSession(target) as session:
        await session.execute(insert(Job), values)
        await session.commit()


async def read_stats(target: AsyncEngine) -> dict[str, Any]:
    async with AsyncSession(target) as session:
        stats = await collect_stats(session, InMemoryProbe(StubBroker()))
    return msgspec.to_builtins(stats)  # type: ignore[no-any-return]


async def test_run_time_percentiles_and_throughput_cover_the_last_five_minutes(
    stats_engine: AsyncEngine,
) -> None:
    # Given 100 jobs that ran 10, 20, … 1,000 ms and finished within the window,
    # three canceled before they started, and five that finished an hour ago
    now = utcnow()
    ran = [
        {
            "status": "completed",
            "started_at": now - timedelta(seconds=30 + index, milliseconds=ms),
            "finished_at": now - timedelta(seconds=30 + index),
        }
        for index, ms in enumerate(range(10, 1001, 10))
    ]
    canceled = [{"status": "canceled", "finished_at": now - timedelta(seconds=5)}] * 3
    old = [
        {
            "status": "failed",
            "started_at": now - timedelta(hours=1, seconds=9),
            "finished_at": now - timedelta(hours=1),
        }
    ] * 5
    await add_jobs(stats_engine, [*ran, *canceled, *old, {"status": "pending"}])

    # When the statistics are read
    stats = await read_stats(stats_engine)

    # Then the percentiles are over the jobs that ran, the rate over all 103 finished
    assert stats["run_time_ms"] == {"p50": 500.0, "p95": 950.0, "p99": 990.0}
    assert stats["throughput_per_min"] == round(103 / 5, 2)


async def test_with_no_recent_jobs_the_run_times_are_null(stats_engine: AsyncEngine) -> None:
    await add_jobs(stats_engine, [{"status": "pending"}, {"status": "processing"}])

    stats = await read_stats(stats_engine)

    assert stats["run_time_ms"] == {"p50": None, "p95": None, "p99": None}
    assert stats["throughput_per_min"] == 0


async def test_a_busy_window_is_measured_over_the_latest_thousand_jobs(
    stats_engine: AsyncEngine,
) -> None:
    # Given 1,200 jobs finished one every 50 ms up to now: 1,000 of them in the last 50 s
    now = utcnow()
    rows = [
        {
            "status": "completed",
            "started_at": now - timedelta(milliseconds=50 * index + 20),
            "finished_at": now - timedelta(milliseconds=50 * index),
        }
        for index in range(1_200)
    ]
    await add_jobs(stats_engine, rows)

    # When the statistics are read, within a few seconds
    stats = await read_stats(stats_engine)

    # Then the rate is that of the latest thousand (1,200 a minute), not 1,200 / 5 minutes
    assert PERCENTILE_SAMPLE == 1_000
    assert 1_100 < stats["throughput_per_min"] <= 1_202
    assert stats["run_time_ms"]["p99"] == 20.0
