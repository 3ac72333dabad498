"""Jobs run by real `aijobs worker` processes over Redis and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest

from aijobs.jobs.dispatch import job_message
from tests.support import WorkerProcess, job_row, running_worker, wait_for

pytestmark = [pytest.mark.usefixtures("database"), pytest.mark.slow]

FINISHED = {"completed", "failed", "canceled"}


@pytest.fixture(scope="module")
def worker(database: str) -> Iterator[WorkerProcess]:
    with running_worker() as process:
        yield process


def simulate(**params: Any) -> dict[str, Any]:
    return {"kind": "simulate", "params": params}


async def submit(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/jobs", json=body)
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


async def read(client: Any, job_id: str) -> dict[str, Any]:
    return (await client.get(f"/jobs/{job_id}")).json()  # type: ignore[no-any-return]


async def finished(client: Any, job_id: str, timeout: float = 20.0) -> dict[str, Any]:
    return await wait_for(
        lambda: read(client, job_id), lambda job: job["status"] in FINISHED, timeout
    )


async def test_a_submitted_job_completes_through_a_worker_process(
    client: Any, worker: WorkerProcess
) -> None:
    job = await submit(client, simulate(steps=3, step_s=0.05))

    done = await finished(client, job["id"])

    assert done["status"] == "completed", done
    assert done["progress"] == 100
    assert done["attempts"] == 1
    assert done["result"] == {"steps": 3}
    assert done["started_at"] is not None
    assert done["finished_at"] is not None
    assert done["error_message"] is None


async def test_each_state_change_is_one_line_in_the_worker_group_s_output(
    client: Any, worker: WorkerProcess
) -> None:
    job = await submit(client, simulate(steps=1, step_s=0))
    await finished(client, job["id"])

    # Written by the worker process itself to the stderr it inherited.
    lines = await wait_for(
        lambda: _lines_about(worker, job["id"]), lambda found: len(found) == 2, timeout=5
    )
    assert "job started" in lines[0]
    assert "job completed" in lines[1]
    assert "duration_ms=" in lines[1]


async def _lines_about(worker: WorkerProcess, job_id: str) -> list[str]:
    return [line for line in worker.output().splitlines() if job_id in line]


async def test_progress_is_visible_while_the_job_runs(client: Any, worker: WorkerProcess) -> None:
    job = await submit(client, simulate(steps=4, step_s=0.4))

    running = await wait_for(
        lambda: read(client, job["id"]), lambda j: j["status"] == "processing" and j["progress"] > 0
    )

    assert 0 < running["progress"] < 100
    assert running["progress_message"].startswith("step ")
    assert (await finished(client, job["id"]))["status"] == "completed"


async def test_the_same_message_delivered_twice_runs_the_job_once(
    client: Any, worker: WorkerProcess
) -> None:
    job = await submit(client, simulate(steps=2, step_s=0.2))
    dramatiq.get_broker().enqueue(job_message(job["id"]))
    dramatiq.get_broker().enqueue(job_message(job["id"]))

    done = await finished(client, job["id"])
    time.sleep(0.5)  # let the duplicates be delivered and ignored

    assert done["status"] == "completed"
    assert (await read(client, job["id"]))["attempts"] == 1


async def test_a_message_for_a_finished_job_changes_nothing(
    client: Any, worker: WorkerProcess
) -> None:
    job = await submit(client, simulate(steps=0))
    await finished(client, job["id"])
    before = await job_row(job["id"])

    dramatiq.get_broker().enqueue(job_message(job["id"]))
    time.sleep(1.0)

    assert await job_row(job["id"]) == before


async def test_transient_failures_retry_with_growing_delays_then_fail(
    client: Any, worker: WorkerProcess
) -> None:
    # Given a job whose every attempt fails for a passing reason
    job = await submit(client, simulate(steps=0, fail_rate=1, fail_kind="transient"))

    # When the worker has spent JOB_MAX_RETRIES (3) retries on it
    delays: list[int] = []

    async def track() -> dict[str, Any]:
        current = await read(client, job["id"])
        message = current["error_message"] or ""
        if "retrying in" in message:
            delay = int(message.rsplit("retrying in ", 1)[1].split()[0])
            if not delays or delays[-1] != delay:
                delays.append(delay)
        return current

    started = time.monotonic()
    done = await wait_for(track, lambda j: j["status"] in FINISHED, timeout=30)
    elapsed = time.monotonic() - started

    # Then it failed after 1 + 3 attempts, and the waits grew from the minimum
    assert done["status"] == "failed"
    assert done["attempts"] == 4
    assert done["error_message"] == "gave up after 4 attempts: simulated transient failure"
    assert delays == sorted(delays), delays
    assert delays[0] >= 200
    assert elapsed >= (200 + 400 + 800) / 1000


async def test_a_permanent_failure_fails_at_once_with_the_reason(
    client: Any, worker: WorkerProcess
) -> None:
    job = await submit(client, simulate(steps=1, step_s=0, fail_rate=1, fail_kind="permanent"))

    done = await finished(client, job["id"])

    assert done["status"] == "failed"
    assert done["attempts"] == 1
    assert done["error_message"] == "simulated permanent failure"


async def test_canceling_a_running_job_stops_it_within_a_step(
    client: Any, worker: WorkerProcess
) -> None:
    job = await submit(client, simulate(steps=50, step_s=0.2))
    await wait_for(lambda: read(client, job["id"]), lambda j: j["progress"] > 0)

    response = await client.post(f"/jobs/{job['id']}/cancel")
    done = await finished(client, job["id"], timeout=5)

    assert response.status_code == 202
    assert response.json()["cancel_requested"] is True
    assert done["status"] == "canceled"
    assert done["progress"] < 100
    assert done["result"] is None


async def test_retrying_a_failed_job_runs_it_again_with_a_fresh_budget(
    client: Any, worker: WorkerProcess
) -> None:
    # Given a job that failed permanently once
    job = await submit(client, simulate(steps=0, fail_rate=1, fail_kind="permanent"))
    await finished(client, job["id"])

    # When it is retried
    response = await client.post(f"/jobs/{job['id']}/retry")
    done = await finished(client, job["id"])

    # Then it ran a second time, and attempts counts both starts
    assert response.status_code == 202
    assert done["status"] == "failed"
    assert done["attempts"] == 2
    assert (await client.post(f"/jobs/{job['id']}/retry")).status_code == 202
    assert (await finished(client, job["id"]))["attempts"] == 3


async def test_retrying_a_completed_job_is_409(client: Any, worker: WorkerProcess) -> None:
    job = await submit(client, simulate(steps=0))
    await finished(client, job["id"])

    response = await client.post(f"/jobs/{job['id']}/retry")

    assert response.status_code == 409


async def test_canceling_a_completed_job_is_409(client: Any, worker: WorkerProcess) -> None:
    job = await submit(client, simulate(steps=0))
    await finished(client, job["id"])

    response = await client.post(f"/jobs/{job['id']}/cancel")

    assert response.status_code == 409
    assert "already completed" in response.json()["detail"]
