"""Limits a worker enforces: the time limit of an attempt and the age of a message."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest

from aijobs.jobs.dispatch import job_message
from tests.support import WorkerProcess, insert_job, job_row, running_worker, wait_for

pytestmark = [pytest.mark.usefixtures("database"), pytest.mark.slow]

FINISHED = {"completed", "failed", "canceled"}


@pytest.fixture(scope="module")
def strict_worker(database: str) -> Iterator[WorkerProcess]:
    with running_worker({"JOB_TIME_LIMIT_S": "1", "JOB_MAX_AGE_S": "5"}) as worker:
        yield worker


async def read(client: Any, job_id: str) -> dict[str, Any]:
    return (await client.get(f"/jobs/{job_id}")).json()  # type: ignore[no-any-return]


async def test_an_attempt_past_the_time_limit_fails_the_job_with_the_reason(
    client: Any, strict_worker: WorkerProcess
) -> None:
    body = {"kind": "simulate", "params": {"steps": 10, "step_s": 0.5}}
    job = (await client.post("/jobs", json=body)).json()

    done = await wait_for(lambda: read(client, job["id"]), lambda j: j["status"] in FINISHED)

    assert done["status"] == "failed"
    assert done["error_message"] == "time limit of 1 s exceeded"
    assert done["attempts"] == 1
    assert done["progress"] < 100


async def test_a_message_older_than_the_age_limit_fails_its_job(
    client: Any, strict_worker: WorkerProcess
) -> None:
    # Given a pending job whose only message was stamped ten seconds ago
    job_id = await insert_job(params='{"steps": 0}')
    message = job_message(job_id)
    message = message.copy(message_timestamp=int((time.time() - 10) * 1000))

    # When the worker receives it, past JOB_MAX_AGE_S (5 s)
    dramatiq.get_broker().enqueue(message)
    done = await wait_for(lambda: job_row(job_id), lambda row: row["status"] in FINISHED)

    # Then the delivery was skipped and the row says why, instead of staying pending
    assert done["status"] == "failed"
    assert done["attempts"] == 0
    assert "expired in the queue" in done["error_message"]
