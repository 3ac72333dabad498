"""The fenced writes' statements as PostgreSQL plans them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Update
from sqlalchemy.engine import make_url

from aijobs.direct_sql import DirectStatement, open_pool
from aijobs.jobs import repository
from aijobs.jobs.repository import utcnow
from tests.support import execute

pytestmark = pytest.mark.usefixtures("database")

FENCED_WRITES = {
    "renew": (repository._RENEW, {"lease_until": utcnow()}),
    "progress": (repository._PROGRESS, {"percent": 50, "message": None, "tokens": {}}),
    "complete": (repository._END, {"status": "completed", "result": {}}),
}


def _index_scans(plan: dict[str, Any]) -> set[str]:
    found = {plan["Index Name"]} if "Index Name" in plan else set()
    for child in plan.get("Plans", []):
        found |= _index_scans(child)
    return found


@pytest.mark.parametrize("name", FENCED_WRITES)
async def test_a_fenced_write_finds_its_row_by_id_when_statistics_know_no_running_job(
    database: str, name: str
) -> None:
    # Statistics taken while every job was pending make `status = 'processing'`
    # look as selective as the id, the case in which the planner went by status.
    await execute(
        "INSERT INTO job (id, kind, status, progress, params, usage, attempts, attempts_floor,"
        " cancel_requested, created_at, updated_at)"
        " SELECT gen_random_uuid(), 'simulate', 'pending', 0, '{}', '{}', 0, 0, false,"
        " clock_timestamp(), clock_timestamp() FROM generate_series(1, 2000)"
    )
    await execute("ANALYZE job")
    await execute("UPDATE job SET status = 'processing', attempts = 1")
    statement, values = FENCED_WRITES[name]
    assert isinstance(statement, Update)
    direct = DirectStatement(statement, [*values, "job_id", "attempt", "now"])
    # The worker's own pool, so that the values are encoded as the worker encodes them.
    pool = await open_pool(make_url(database), max_size=1)
    try:
        async with pool.acquire() as connection:
            job_id = await connection.fetchval("SELECT id FROM job LIMIT 1")
            parameters = {**values, "job_id": job_id, "attempt": 1, "now": utcnow()}
            await connection.execute("SET plan_cache_mode = force_custom_plan")
            # The plan comes as `json`, which the pool leaves as text; only `jsonb` is decoded.
            plan = json.loads(
                await connection.fetchval(
                    f"EXPLAIN (FORMAT JSON) {direct.sql}", *direct.arguments(parameters)
                )
            )
    finally:
        await pool.close()

    assert _index_scans(plan[0]["Plan"]) == {"pk_job"}
