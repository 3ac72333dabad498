"""Maintenance against real PostgreSQL: leases, lost messages, retention, concurrency."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from aijobs.admin.maintenance import (
    purge_finished,
    resend_lost_messages,
    run_maintenance,
    settle_expired_leases,
)
from aijobs.jobs.repository import utcnow
from aijobs.settings import get_settings
from tests.support import engine, insert_job, job_row

pytestmark = pytest.mark.usefixtures("database")


def sessions() -> async_sessionmaker[Any]:
    return async_sessionmaker(engine(), expire_on_commit=False)


async def test_an_expired_lease_goes_back_to_the_queue(client: Any) -> None:
    expired = utcnow() - timedelta(seconds=5)
    job_id = await insert_job(status="processing", attempts=1, lease_expires_at=expired)

    async with sessions()() as session:
        report = await settle_expired_leases(session, get_settings())

    row = await job_row(job_id)
    assert report.requeued == 1
    assert row["status"] == "pending"
    assert row["lease_expires_at"] is None
    assert "lease expired" in row["error_message"]


async def test_a_live_lease_is_left_alone(client: Any) -> None:
    live = utcnow() + timedelta(seconds=30)
    job_id = await insert_job(status="processing", attempts=1, lease_expires_at=live)

    async with sessions()() as session:
        report = await settle_expired_leases(session, get_settings())

    assert report.requeued == report.failed == report.canceled == 0
    assert (await job_row(job_id))["status"] == "processing"


async def test_an_expired_lease_with_no_retries_left_fails_the_job(client: Any) -> None:
    expired = utcnow() - timedelta(seconds=5)
    job_id = await insert_job(status="processing", attempts=4, lease_expires_at=expired)

    async with sessions()() as session:
        report = await settle_expired_leases(session, get_settings())

    row = await job_row(job_id)
    assert report.failed == 1
    assert row["status"] == "failed"
    assert "no retries are left" in row["error_message"]
    assert row["finished_at"] is not None


async def test_an_expired_lease_of_a_job_being_canceled_cancels_it(client: Any) -> None:
    expired = utcnow() - timedelta(seconds=5)
    job_id = await insert_job(
        status="processing", attempts=1, lease_expires_at=expired, cancel_requested=True
    )

    async with sessions()() as session:
        await settle_expired_leases(session, get_settings())

    assert (await job_row(job_id))["status"] == "canceled"


async def test_a_pending_job_whose_message_is_old_is_sent_again(client: Any) -> None:
    old = utcnow() - timedelta(minutes=5)
    stale = await insert_job(enqueued_at=old)
    fresh = await insert_job()

    async with sessions()() as session:
        resent = await resend_lost_messages(session, get_settings())

    assert resent == 1
    assert (await job_row(stale))["enqueued_at"] > old
    assert (await job_row(fresh))["status"] == "pending"


async def test_finished_jobs_past_retention_are_purged_and_others_kept(client: Any) -> None:
    long_ago = utcnow() - timedelta(days=get_settings().job_retention_days + 1)
    old = await insert_job(status="completed", finished_at=long_ago, created_at=long_ago)
    recent = await insert_job(status="failed", finished_at=utcnow())
    old_pending = await insert_job(created_at=long_ago)

    async with sessions()() as session:
        purged = await purge_finished(session, get_settings())

    assert purged == 1
    remaining = {job["id"] for job in (await client.get("/jobs")).json()["items"]}
    assert remaining == {recent, old_pending}
    assert old not in remaining


async def test_two_maintenance_passes_at_once_do_each_piece_of_work_once(client: Any) -> None:
    # Given many expired leases and lost messages
    expired = utcnow() - timedelta(seconds=5)
    old = utcnow() - timedelta(minutes=5)
    for _ in range(40):
        await insert_job(status="processing", attempts=1, lease_expires_at=expired)
        await insert_job(enqueued_at=old)

    # When two schedulers run maintenance at the same moment
    async def one_pass() -> Any:
        async with sessions()() as session:
            return await run_maintenance(session, get_settings())

    first, second = await asyncio.gather(one_pass(), one_pass())

    # Then every lease was settled once and every lost message sent once
    assert first.requeued + second.requeued == 40
    assert first.resent + second.resent == 40
