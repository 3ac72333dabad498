"""The fenced writes' statements as PostgreSQL plans them."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import pytest
from sqlalchemy import Update
from sqlalchemy.engine import make_url

from aijobs.direct_sql import DirectStatement, connect_options
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
    connection = await asyncpg.connect(**connect_options(make_url(database)))
    try:
        job_id = await connection.fetchval("SELECT id FROM job LIMIT 1")
        parameters = {**values, "job_id": job_id, "attempt": 1, "now": utcnow()}
        for codec in ("json", "jsonb"):
            await connection.set_type_codec(
                codec, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
            )
        await connection.execute("SET plan_cache_mode = force_custom_plan")
        plan = await connection.fetchval(
            f"EXPLAIN (FORMAT JSON) {direct.sql}", *direct.arguments(parameters)
        )
    finally:
        await connection.close()

    assert _index_scans(plan[0]["Plan"]) == {"pk_job"}
