"""A request's session is committed below 300, rolled back above, and never left open."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from advanced_alchemy.extensions.litestar._utils import get_aa_scope_state, set_aa_scope_state
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from aijobs.database import create_engine
from aijobs.request_sessions import session_ender
from aijobs.settings import get_settings
from tests.support import engine as engine_for_checks
from tests.support import insert_job, job_row

pytestmark = pytest.mark.usefixtures("database")

SCOPE_KEY = "request-session-test"
end_request_session = session_ender(SCOPE_KEY)


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    engine = create_engine(get_settings())
    yield engine
    await engine.dispose()


def request_scope(session: AsyncSession) -> Any:
    scope: dict[str, Any] = {"type": "http"}
    set_aa_scope_state(scope, SCOPE_KEY, session)
    return scope


async def cancel_in(session: AsyncSession, job_id: str) -> None:
    """A write left uncommitted, as a handler that did not commit would leave it."""
    await session.execute(text("UPDATE job SET status = 'canceled' WHERE id = :id"), {"id": job_id})


@pytest.mark.parametrize(
    ("status", "stored"), [(202, "canceled"), (409, "pending"), (500, "pending")]
)
async def test_a_begun_transaction_ends_by_the_response_status(
    engine: AsyncEngine, status: int, stored: str
) -> None:
    job_id = await insert_job()
    session = AsyncSession(engine)
    await cancel_in(session, job_id)
    scope = request_scope(session)

    await end_request_session({"type": "http.response.start", "status": status}, scope)

    assert (await job_row(job_id))["status"] == stored
    assert not session.in_transaction()
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert get_aa_scope_state(scope, SCOPE_KEY) is None


async def test_an_unused_session_needs_no_database_at_all(engine: AsyncEngine) -> None:
    session = AsyncSession(engine)
    scope = request_scope(session)

    await end_request_session({"type": "http.response.start", "status": 202}, scope)

    assert not session.in_transaction()
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert get_aa_scope_state(scope, SCOPE_KEY) is None


async def test_a_client_gone_before_the_answer_has_its_transaction_rolled_back(
    engine: AsyncEngine,
) -> None:
    job_id = await insert_job()
    session = AsyncSession(engine)
    await cancel_in(session, job_id)
    scope = request_scope(session)

    await end_request_session({"type": "http.disconnect"}, scope)

    assert (await job_row(job_id))["status"] == "pending"
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def idle_in_transaction() -> int:
    """Sessions of the test database left open inside a transaction, by anyone."""
    async with engine_for_checks().connect() as connection:
        query = text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND state = 'idle in transaction' AND pid <> pg_backend_pid()"
        )
        return int((await connection.execute(query)).scalar_one())


async def test_requests_through_the_api_leave_no_transaction_open(client: Any) -> None:
    job_id = await insert_job()

    answers = [
        await client.get("/jobs"),
        await client.get(f"/jobs/{job_id}"),
        await client.post(f"/jobs/{job_id}/cancel"),
        await client.post(f"/jobs/{job_id}/cancel"),
        await client.get("/admin/stats"),
    ]

    assert [answer.status_code for answer in answers] == [200, 200, 202, 409, 200]
    assert await idle_in_transaction() == 0
