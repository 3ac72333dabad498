"""Telling a database outage from a bad statement, and ending stuck transactions."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from aijobs.database import create_engine, is_outage
from aijobs.settings import Settings
from tests.conftest import database_url
from tests.pg_starting import starting_postgres


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.ConnectionFailureError("connection failure"),
        asyncpg.IdleInTransactionSessionTimeoutError("idle-in-transaction timeout"),
    ],
)
def test_server_side_outages_are_outages_raw_or_wrapped(error: Exception) -> None:
    wrapped = DBAPIError("SELECT 1", {}, error)

    assert is_outage(error)
    assert is_outage(wrapped)


@pytest.mark.parametrize(
    "error",
    [
        IntegrityError("INSERT", {}, asyncpg.UniqueViolationError("duplicate key")),
        DBAPIError("SELECT", {}, asyncpg.UndefinedTableError("relation does not exist")),
        ValueError("not a database error"),
    ],
)
def test_bad_statements_and_bugs_are_not_outages(error: Exception) -> None:
    assert not is_outage(error)


async def test_a_session_idle_in_a_transaction_past_the_lease_is_ended_by_the_server(
    database: str,
) -> None:
    engine = create_engine(Settings(database_url=database, job_lease_s=1))
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            # A process frozen between two statements of one transaction.
            await asyncio.sleep(2)

            with pytest.raises(DBAPIError) as raised:
                await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()

    assert is_outage(raised.value)


async def test_a_server_that_is_starting_up_is_an_outage() -> None:
    with starting_postgres() as port:
        url = database_url("any").replace(":5432", f":{port}")
        engine = create_engine(Settings(database_url=url))
        try:
            with pytest.raises(asyncpg.CannotConnectNowError) as raised:
                async with engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        finally:
            await engine.dispose()

    assert is_outage(raised.value)
