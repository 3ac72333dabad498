"""Statistics: counts kept by triggers agree with the table, whatever changed it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

from aijobs.admin.maintenance import purge_finished
from aijobs.jobs.repository import utcnow
from aijobs.settings import get_settings
from tests.support import engine, execute, insert_job

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
