"""Claims and completions written in groups: what goes together, and what each job gets."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import UUID

import asyncpg
import pytest

from aijobs.database import is_outage
from aijobs.jobs.repository import utcnow
from aijobs.jobs.write_groups import WriteGroup, claim_job, complete_job
from tests.support import insert_job, job_row

LEASE_S = 60.0


class Recorder:
    """A write that doubles each number and keeps the groups it was given."""

    def __init__(self, fail_on: int | None = None, error: Exception | None = None) -> None:
        self.groups: list[list[int]] = []
        self.release = asyncio.Event()
        self.fail_on = fail_on
        self.error = error or ValueError("bad item")

    async def write(self, items: list[int]) -> list[int]:
        self.groups.append(items)
        await self.release.wait()
        if self.fail_on in items:
            raise self.error
        return [item * 2 for item in items]


async def test_items_that_arrive_during_a_write_go_together_in_the_next_one() -> None:
    recorder = Recorder()
    group = WriteGroup(recorder.write)

    first = asyncio.ensure_future(group.submit(1))
    await asyncio.sleep(0)
    later = [asyncio.ensure_future(group.submit(item)) for item in (2, 3, 4)]
    await asyncio.sleep(0)
    recorder.release.set()

    assert await asyncio.gather(first, *later) == [2, 4, 6, 8]
    assert recorder.groups == [[1], [2, 3, 4]]


async def test_a_failed_group_is_written_again_item_by_item_so_a_bad_item_fails_alone() -> None:
    recorder = Recorder(fail_on=3)
    recorder.release.set()
    group = WriteGroup(recorder.write)

    results = await asyncio.gather(
        *(group.submit(item) for item in (1, 2, 3, 4)), return_exceptions=True
    )

    assert results[:2] == [2, 4]
    assert results[3] == 8
    assert isinstance(results[2], ValueError)
    assert recorder.groups == [[1, 2, 3, 4], [1], [2], [3], [4]]


async def test_an_outage_fails_every_item_of_the_group_without_writing_them_again() -> None:
    recorder = Recorder(fail_on=2, error=asyncpg.InterfaceError("connection is closed"))
    recorder.release.set()
    group = WriteGroup(recorder.write)

    results = await asyncio.gather(
        *(group.submit(item) for item in (1, 2, 3)), return_exceptions=True
    )

    assert all(isinstance(result, asyncpg.InterfaceError) for result in results)
    assert recorder.groups == [[1, 2, 3]]


@pytest.mark.usefixtures("database")
async def test_grouped_claims_take_exactly_the_claimable_jobs() -> None:
    now = utcnow()
    pending = await insert_job()
    expired = await insert_job(
        status="processing", attempts=1, lease_expires_at=now - timedelta(seconds=5)
    )
    leased = await insert_job(
        status="processing", attempts=1, lease_expires_at=now + timedelta(seconds=60)
    )
    done = await insert_job(status="completed", attempts=1, finished_at=now)

    claims = await asyncio.gather(
        *(
            claim_job(UUID(job_id), lease_s=LEASE_S, worker_id="w-1")
            for job_id in (pending, expired, leased, done)
        )
    )

    assert [claim.attempt if claim else None for claim in claims] == [1, 2, None, None]
    assert claims[0] is not None
    assert claims[0].job_id == UUID(pending)
    for job_id in (pending, expired):
        row = await job_row(job_id)
        assert (row["status"], row["worker_id"]) == ("processing", "w-1")
        assert row["lease_expires_at"] > now + timedelta(seconds=LEASE_S - 5)
    assert (await job_row(leased))["attempts"] == 1
    assert (await job_row(done))["status"] == "completed"


@pytest.mark.usefixtures("database")
async def test_grouped_completions_write_each_outcome_and_skip_a_fenced_out_attempt() -> None:
    plain, fenced, hooked = [
        await insert_job(
            status="processing",
            attempts=2,
            lease_expires_at=utcnow() + timedelta(seconds=60),
            **extra,
        )
        for extra in ({}, {}, {"webhook_url": "https://example.test/hook"})
    ]

    finished = await asyncio.gather(
        complete_job(UUID(plain), 2, result={"summary": "one"}, usage={"total_tokens": 7}),
        complete_job(UUID(fenced), 1, result={"summary": "stale"}, usage={}),
        complete_job(UUID(hooked), 2, result={"summary": "three"}, usage={}),
    )

    assert [None if f is None else f.webhook_due for f in finished] == [False, None, True]
    row = await job_row(plain)
    assert (row["status"], row["progress"], row["result"], row["usage"]) == (
        "completed",
        100,
        {"summary": "one"},
        {"total_tokens": 7},
    )
    assert row["lease_expires_at"] is None
    assert row["finished_at"] is not None
    untouched = await job_row(fenced)
    assert (untouched["status"], untouched["result"]) == ("processing", None)
    assert (await job_row(hooked))["webhook_state"] == "pending"


@pytest.mark.usefixtures("database")
async def test_a_result_that_cannot_be_stored_fails_its_own_job_and_not_the_others() -> None:
    jobs = [
        await insert_job(
            status="processing", attempts=1, lease_expires_at=utcnow() + timedelta(seconds=60)
        )
        for _ in range(3)
    ]
    results = [{"n": 1}, {"n": object()}, {"n": 3}]

    outcomes = await asyncio.gather(
        *(
            complete_job(UUID(job_id), 1, result=result, usage={})
            for job_id, result in zip(jobs, results, strict=True)
        ),
        return_exceptions=True,
    )

    # asyncpg refuses the value before sending it: an error of the job, not an outage.
    assert isinstance(outcomes[1], Exception)
    assert not is_outage(outcomes[1])
    assert [(await job_row(job_id))["status"] for job_id in jobs] == [
        "completed",
        "processing",
        "completed",
    ]
    assert (await job_row(jobs[2]))["result"] == {"n": 3}
