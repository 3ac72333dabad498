"""Statements compiled once for asyncpg: their connections, values and failures."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import bindparam, func, update
from sqlalchemy.engine import make_url

from aijobs.database import is_outage
from aijobs.direct_sql import DirectStatement, connect_options, open_pool
from aijobs.jobs.models import Job, JobStatus
from tests.support import execute, insert_job, job_row

pytestmark = pytest.mark.usefixtures("database")

#: Writes a JSON column and returns it, as the worker's outcome statement does.
_SET_RESULT = (
    update(Job)
    .where(Job.id == bindparam("job_id"), Job.status == JobStatus.PENDING)
    .values(result=bindparam("value"), updated_at=func.now())
    .returning(Job.result, Job.status)
)


def test_connect_options_keep_asyncpg_s_and_drop_the_dialect_s_own() -> None:
    url = make_url(
        "postgresql+asyncpg://app:secret@db.internal:6543/jobs"
        "?prepared_statement_cache_size=0&application_name=aijobs"
    )

    assert connect_options(url) == {
        "user": "app",
        "password": "secret",
        "host": "db.internal",
        "port": 6543,
        "database": "jobs",
        "application_name": "aijobs",
    }


async def test_json_values_and_fixed_values_reach_the_row(database: str) -> None:
    job_id = await insert_job()
    value = {"summary": "naïve café, 東京", "scores": [1, 2.5, None], "nested": {"ok": True}}
    pool = await open_pool(make_url(database), max_size=1)
    try:
        async with pool.acquire() as connection:
            row = await DirectStatement(_SET_RESULT).fetchrow(
                connection, {"job_id": job_id, "value": value}
            )
    finally:
        await pool.close()

    # The status the statement matches on travelled as a parameter of its own.
    assert row is not None
    assert (row[0], row[1]) == (value, "pending")
    assert (await job_row(job_id))["result"] == value


async def test_a_statement_that_matches_no_row_returns_none(database: str) -> None:
    pool = await open_pool(make_url(database), max_size=1)
    try:
        async with pool.acquire() as connection:
            row = await DirectStatement(_SET_RESULT).fetchrow(
                connection, {"job_id": "0193f0c0-0000-7000-8000-00000000abcd", "value": {}}
            )
    finally:
        await pool.close()

    assert row is None


async def test_a_connection_lost_during_a_statement_fails_as_an_outage(database: str) -> None:
    pool = await open_pool(make_url(database), max_size=1)
    try:
        async with pool.acquire() as connection:
            backend = await connection.fetchval("SELECT pg_backend_pid()")
            running = asyncio.ensure_future(connection.fetchval("SELECT pg_sleep(5)"))
            await asyncio.sleep(0.2)
            await execute("SELECT pg_terminate_backend(:pid)", pid=backend)

            with pytest.raises(asyncpg.PostgresError) as raised:
                await running
    finally:
        await pool.close()

    assert is_outage(raised.value)


async def test_a_pooled_connection_the_server_ended_is_replaced_at_the_next_use(
    database: str,
) -> None:
    job_id = await insert_job()
    pool = await open_pool(make_url(database), max_size=1)
    try:
        async with pool.acquire() as connection:
            backend = await connection.fetchval("SELECT pg_backend_pid()")
        await execute("SELECT pg_terminate_backend(:pid)", pid=backend)
        await asyncio.sleep(0.2)

        async with pool.acquire() as connection:
            row = await DirectStatement(_SET_RESULT).fetchrow(
                connection, {"job_id": job_id, "value": {"a": 2}}
            )
            replacement = await connection.fetchval("SELECT pg_backend_pid()")
    finally:
        await pool.close()

    assert row is not None
    assert row[0] == {"a": 2}
    assert replacement != backend


def test_a_statement_whose_defaults_run_in_python_is_refused() -> None:
    # `updated_at` has a Python-side onupdate that only SQLAlchemy's execution applies.
    statement = update(Job).where(Job.id == bindparam("job_id")).values(progress=1)

    with pytest.raises(ValueError, match="updated_at"):
        DirectStatement(statement)


def test_asyncpg_s_interface_errors_are_outages() -> None:
    assert is_outage(asyncpg.InterfaceError("connection is closed"))


async def test_a_value_asyncpg_cannot_send_is_an_error_not_an_outage(database: str) -> None:
    job_id = await insert_job()
    pool = await open_pool(make_url(database), max_size=1)
    try:
        async with pool.acquire() as connection:
            with pytest.raises(asyncpg.exceptions.DataError) as refused:
                await DirectStatement(_SET_RESULT).fetchrow(
                    connection, {"job_id": job_id, "value": {"when": object()}}
                )
    finally:
        await pool.close()

    # The client refused the value before sending it: a retry cannot help.
    assert not is_outage(refused.value)
    assert (await job_row(job_id))["result"] is None
