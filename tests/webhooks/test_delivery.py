"""Delivering a job's final state with a real worker and a real receiver."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from aijobs.auth.secrets import webhook_secret
from aijobs.settings import get_settings
from aijobs.webhooks.signing import verify
from tests.support import insert_job, job_row, wait_for
from tests.webhooks.conftest import MAX_ATTEMPTS
from tests.webhooks.receiver import Receiver, Reply
from tests.webhooks.support import deliveries, insert_finished_job, send_delivery, settled

# The app sets up the broker that the tests send delivery messages on.
pytestmark = [pytest.mark.usefixtures("database", "api", "worker"), pytest.mark.slow]


async def submit(api: Any, url: str, **params: Any) -> str:
    body = {"kind": "simulate", "params": {"steps": 0, **params}, "webhook_url": url}
    response = await api.post("/jobs", json=body)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def test_a_completed_job_posts_its_outcome_once_signed_with_its_keys_secret(
    api: Any, receiver: Receiver, path: str
) -> None:
    # Given a job submitted with a webhook
    job_id = await submit(api, receiver.url(path))

    # When it completes
    row = await settled(job_id)

    # Then the receiver got one POST with the outcome, signed with the key's secret
    [request] = receiver.received(path)
    body = msgspec.json.decode(request.body)
    secret = webhook_secret(get_settings(), row["owner_id"])
    timestamp = request.headers["webhook-timestamp"]
    signature = request.headers["webhook-signature"]
    assert row["webhook_state"] == "delivered"
    assert request.headers["webhook-id"] == job_id
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("aijobs-webhooks/")
    assert body["id"] == job_id
    assert body["status"] == "completed"
    assert body["result"] == {"steps": 0}
    assert body["webhook_attempt"] == 1
    assert verify(secret, timestamp, request.body, signature)
    assert not verify(secret, timestamp, request.body.replace(b"completed", b"failed"), signature)


async def test_the_deliveries_of_a_job_are_listed_oldest_first(
    api: Any, receiver: Receiver, path: str
) -> None:
    receiver.script(path, Reply(502))
    job_id = await submit(api, receiver.url(path))
    await settled(job_id)

    response = await api.get(f"/jobs/{job_id}/webhook-deliveries")
    job = (await api.get(f"/jobs/{job_id}")).json()

    assert response.status_code == 200
    items = response.json()["items"]
    assert [(d["attempt"], d["status_code"], d["delivered"]) for d in items] == [
        (1, 502, False),
        (2, 200, True),
    ]
    assert all(d["error"] is None and d["duration_ms"] >= 0 for d in items)
    assert job["webhook_state"] == "delivered"


async def test_the_deliveries_of_an_unknown_job_are_a_404(api: Any) -> None:
    response = await api.get("/jobs/0193f9c2-0000-7000-8000-000000000000/webhook-deliveries")

    assert response.status_code == 404


async def test_a_failed_job_posts_its_failure(api: Any, receiver: Receiver, path: str) -> None:
    job_id = await submit(api, receiver.url(path), fail_rate=1, fail_kind="permanent")

    row = await settled(job_id)

    [request] = receiver.received(path)
    body = msgspec.json.decode(request.body)
    assert row["status"] == "failed"
    assert row["webhook_state"] == "delivered"
    assert body["status"] == "failed"
    assert body["error_message"] == row["error_message"]


async def test_a_job_canceled_before_it_ran_posts_its_cancellation(
    api: Any, receiver: Receiver, path: str
) -> None:
    # Given a pending job no worker has taken (its row written without a message)
    job_id = await insert_job(webhook_url=receiver.url(path))

    # When it is canceled
    response = await api.post(f"/jobs/{job_id}/cancel")
    row = await settled(job_id)

    # Then its cancellation is posted once
    [request] = receiver.received(path)
    assert response.status_code == 202
    assert row["webhook_state"] == "delivered"
    assert msgspec.json.decode(request.body)["status"] == "canceled"


async def test_a_job_canceled_while_running_posts_its_cancellation(
    api: Any, receiver: Receiver, path: str
) -> None:
    job_id = await submit(api, receiver.url(path), steps=50, step_s=0.1)
    await wait_for(lambda: job_row(job_id), lambda row: row["progress"] > 0)

    await api.post(f"/jobs/{job_id}/cancel")
    row = await settled(job_id)

    [request] = receiver.received(path)
    assert row["status"] == "canceled"
    assert msgspec.json.decode(request.body)["status"] == "canceled"


async def test_a_webhook_answered_with_errors_is_retried_until_it_is_accepted(
    api: Any, receiver: Receiver, path: str
) -> None:
    # Given a receiver that fails twice before accepting
    receiver.script(path, Reply(500), Reply(503))

    # When a job with that webhook completes
    job_id = await submit(api, receiver.url(path))
    row = await settled(job_id)

    # Then each attempt is recorded and the third one delivered it
    rows = await deliveries(job_id)
    bodies = [msgspec.json.decode(r.body) for r in receiver.received(path)]
    assert row["webhook_state"] == "delivered"
    assert [(d["attempt"], d["status_code"], d["delivered"]) for d in rows] == [
        (1, 500, False),
        (2, 503, False),
        (3, 200, True),
    ]
    assert [b["webhook_attempt"] for b in bodies] == [1, 2, 3]


async def test_a_webhook_that_keeps_failing_gives_up_after_the_last_attempt(
    api: Any, receiver: Receiver, path: str
) -> None:
    receiver.script(path, *[Reply(500)] * (MAX_ATTEMPTS + 2))

    job_id = await submit(api, receiver.url(path))
    row = await settled(job_id)
    await asyncio.sleep(0.5)

    rows = await deliveries(job_id)
    assert row["webhook_state"] == "failed"
    assert [d["status_code"] for d in rows] == [500] * MAX_ATTEMPTS
    assert len(receiver.received(path)) == MAX_ATTEMPTS


async def test_two_deliveries_of_one_webhook_at_once_post_it_once(
    receiver: Receiver, path: str
) -> None:
    # Given a finished job and a receiver that takes its time to answer
    receiver.script(path, Reply(200, delay_s=0.5))
    job_id = await insert_finished_job(receiver.url(path))

    # When two delivery messages arrive together
    send_delivery(job_id)
    send_delivery(job_id)
    await settled(job_id)
    await asyncio.sleep(1)

    # Then only one of them posted
    assert len(receiver.received(path)) == 1
    assert len(await deliveries(job_id)) == 1


async def test_a_retried_job_posts_its_new_outcome_with_a_fresh_budget(
    api: Any, receiver: Receiver, path: str
) -> None:
    # Given a failed job whose webhook used its whole budget
    receiver.script(path, *[Reply(500)] * MAX_ATTEMPTS)
    job_id = await submit(api, receiver.url(path), fail_rate=1, fail_kind="permanent")
    await settled(job_id)

    # When the job is retried and fails again
    retried = (await api.post(f"/jobs/{job_id}/retry")).json()
    row = await settled(job_id)

    # Then the second outcome is delivered at its first attempt
    rows = await deliveries(job_id)
    assert retried["webhook_state"] is None
    assert row["webhook_state"] == "delivered"
    assert [(d["attempt"], d["delivered"]) for d in rows] == [
        *[(n, False) for n in range(1, MAX_ATTEMPTS + 1)],
        (1, True),
    ]
