"""Crash recovery with real worker processes: killed, frozen, and lost messages."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import timedelta
from typing import Any

import dramatiq
import pytest
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy.ext.asyncio import async_sessionmaker

from aijobs.admin.maintenance import resend_lost_messages, settle_expired_leases
from aijobs.jobs.repository import utcnow
from aijobs.settings import get_settings
from tests.support import (
    WorkerProcess,
    engine,
    execute,
    job_row,
    running_worker,
    running_workers,
    wait_for,
)

pytestmark = [pytest.mark.usefixtures("database"), pytest.mark.slow]

LEASE_S = float(os.environ["JOB_LEASE_S"])


async def read(client: Any, job_id: str) -> dict[str, Any]:
    return (await client.get(f"/jobs/{job_id}")).json()  # type: ignore[no-any-return]


async def maintain() -> None:
    """One maintenance pass, forced now instead of waiting for the cron."""
    async with async_sessionmaker(engine())() as session:
        await settle_expired_leases(session, get_settings())


def holder(workers: list[WorkerProcess], worker_id: str) -> tuple[WorkerProcess, int]:
    pid = int(worker_id.rsplit(":", 1)[1])
    return next(w for w in workers if pid in w.child_pids()), pid


async def test_a_job_whose_worker_is_killed_completes_exactly_once(client: Any) -> None:
    with running_workers(2) as (first, second):
        # Given a job running on one of two workers
        body = {"kind": "simulate", "params": {"steps": 10, "step_s": 0.3}}
        job = (await client.post("/jobs", json=body)).json()
        running = await wait_for(
            lambda: read(client, job["id"]), lambda j: j["progress"] > 0, timeout=20
        )
        row = await job_row(job["id"])
        _, pid = holder([first, second], row["worker_id"])

        # When that worker process is killed without warning
        os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(LEASE_S + 0.5)
        await maintain()

        # Then the other worker finishes it, in a second attempt
        done = await wait_for(
            lambda: read(client, job["id"]), lambda j: j["status"] == "completed", timeout=20
        )
        assert running["attempts"] == 1
        assert done["attempts"] == 2
        assert done["result"] == {"steps": 10}
        assert (await job_row(job["id"]))["worker_id"] != row["worker_id"]


async def test_a_frozen_worker_cannot_write_after_its_lease_was_taken_over(client: Any) -> None:
    with running_workers(2) as (first, second):
        # Given a job running on a worker that then freezes past its lease
        body = {"kind": "simulate", "params": {"steps": 8, "step_s": 0.3}}
        job = (await client.post("/jobs", json=body)).json()
        await wait_for(lambda: read(client, job["id"]), lambda j: j["progress"] > 0)
        frozen_worker_id = (await job_row(job["id"]))["worker_id"]
        _, pid = holder([first, second], frozen_worker_id)
        os.kill(pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(LEASE_S + 0.5)
            await maintain()

            # When another worker completes it and the frozen one wakes up
            await wait_for(
                lambda: read(client, job["id"]), lambda j: j["status"] == "completed", timeout=20
            )
            completed = await job_row(job["id"])
        finally:
            os.kill(pid, signal.SIGCONT)
        await asyncio.sleep(1.5)

        # Then the late writes of the frozen attempt were refused by the fence
        assert completed["attempts"] == 2
        assert completed["worker_id"] != frozen_worker_id
        assert await job_row(job["id"]) == completed


async def test_an_attempt_whose_lease_was_taken_stops_at_its_next_heartbeat(client: Any) -> None:
    with running_worker(threads=1) as worker:
        # Given a job in one long step, so that only the heartbeat can notice
        body = {"kind": "simulate", "params": {"steps": 1, "step_s": 60}}
        job = (await client.post("/jobs", json=body)).json()
        await wait_for(lambda: read(client, job["id"]), lambda j: j["status"] == "processing")

        # When another worker takes the job over, as after an expired lease
        await execute(
            "UPDATE job SET attempts = attempts + 1, worker_id = 'elsewhere' WHERE id = :id",
            id=job["id"],
        )
        taken = await job_row(job["id"])

        # Then the worker gives up the attempt within a lease, and its only thread is free
        quick = await client.post("/jobs", json={"kind": "simulate", "params": {"steps": 0}})
        done = await wait_for(
            lambda: read(client, quick.json()["id"]),
            lambda j: j["status"] == "completed",
            timeout=LEASE_S + 5,
        )
        assert done["attempts"] == 1
        assert "job lease lost" in worker.output()
        assert await job_row(job["id"]) == taken


async def test_a_job_whose_message_never_reached_redis_is_sent_again(client: Any) -> None:
    # Given a broker that cannot be reached when the job is submitted
    real = dramatiq.get_broker()
    dramatiq.set_broker(RedisBroker(url="redis://127.0.0.1:1/0"))
    try:
        response = await client.post("/jobs", json={"kind": "simulate", "params": {"steps": 0}})
    finally:
        dramatiq.set_broker(real)

    # Then the job was still accepted and committed, waiting as pending
    assert response.status_code == 202
    job_id = response.json()["id"]
    assert (await job_row(job_id))["status"] == "pending"

    # When maintenance finds it older than JOB_RESEND_AFTER_S
    with running_worker():
        aged = utcnow() - timedelta(seconds=get_settings().job_resend_after_s + 1)
        await execute("UPDATE job SET enqueued_at = :at WHERE id = :id", at=aged, id=job_id)
        async with async_sessionmaker(engine())() as session:
            resent = await resend_lost_messages(session, get_settings())

        # Then its message is sent again and the job completes
        done = await wait_for(
            lambda: read(client, job_id), lambda j: j["status"] == "completed", timeout=20
        )
    assert resent == 1
    assert done["attempts"] == 1
