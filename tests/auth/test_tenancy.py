"""Two tenants share one API: neither sees, changes or replays the other's jobs; admins see all."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from aijobs.auth.models import Role
from tests.auth.conftest import Key
from tests.support import execute

JOB = {"kind": "simulate", "params": {"steps": 1, "step_s": 0}}

Tenants = tuple[Key, Key, Key]


@pytest.fixture
async def tenants(make_key: Callable[..., Awaitable[Key]]) -> Tenants:
    """Alice and Bob with user keys, and an operator with an admin key."""
    return (
        await make_key(Role.USER, "alice"),
        await make_key(Role.USER, "bob"),
        await make_key(Role.ADMIN, "ops"),
    )


async def submit(client: Any, key: Key, **extra: Any) -> dict[str, Any]:
    response = await client.post("/jobs", json={**JOB, **extra}, headers=key.headers)
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_each_user_lists_only_its_own_jobs_with_its_own_total(
    auth_client: Any, tenants: Tenants
) -> None:
    alice, bob, ops = tenants
    mine = [(await submit(auth_client, alice))["id"] for _ in range(3)]
    theirs = (await submit(auth_client, bob))["id"]

    alice_page = (await auth_client.get("/jobs", headers=alice.headers)).json()
    bob_page = (await auth_client.get("/jobs?status=pending", headers=bob.headers)).json()
    ops_page = (await auth_client.get("/jobs", headers=ops.headers)).json()

    assert sorted(job["id"] for job in alice_page["items"]) == sorted(mine)
    assert alice_page["total"] == 3
    assert [job["id"] for job in bob_page["items"]] == [theirs]
    assert bob_page["total"] == 1
    assert ops_page["total"] == 4


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("POST", "/cancel"), ("POST", "/retry"), ("GET", "/webhook-deliveries")],
)
async def test_another_tenants_job_is_404_to_read_cancel_retry_or_follow(
    auth_client: Any, tenants: Tenants, method: str, suffix: str
) -> None:
    alice, bob, _ = tenants
    job = await submit(auth_client, alice)
    if suffix == "/retry":
        await execute("UPDATE job SET status = 'failed' WHERE id = :id", id=job["id"])

    response = await auth_client.request(method, f"/jobs/{job['id']}{suffix}", headers=bob.headers)

    assert response.status_code == 404
    assert response.json()["detail"] == f"job {job['id']} not found"


async def test_the_owner_cancels_and_retries_its_own_job(
    auth_client: Any, tenants: Tenants
) -> None:
    alice, _, _ = tenants
    job = await submit(auth_client, alice)

    canceled = await auth_client.post(f"/jobs/{job['id']}/cancel", headers=alice.headers)
    retried = await auth_client.post(f"/jobs/{job['id']}/retry", headers=alice.headers)

    assert canceled.json()["status"] == "canceled"
    assert retried.json()["status"] == "pending"


async def test_an_admin_reads_cancels_and_retries_any_job(
    auth_client: Any, tenants: Tenants
) -> None:
    alice, _, ops = tenants
    job = await submit(auth_client, alice)

    read = await auth_client.get(f"/jobs/{job['id']}", headers=ops.headers)
    canceled = await auth_client.post(f"/jobs/{job['id']}/cancel", headers=ops.headers)
    retried = await auth_client.post(f"/jobs/{job['id']}/retry", headers=ops.headers)

    assert read.status_code == 200
    assert canceled.json()["status"] == "canceled"
    assert retried.json()["status"] == "pending"


async def test_idempotency_keys_belong_to_the_api_key_that_sent_them(
    auth_client: Any, tenants: Tenants
) -> None:
    alice, bob, _ = tenants
    same_key = {"Idempotency-Key": "order-42"}

    first = await auth_client.post("/jobs", json=JOB, headers={**alice.headers, **same_key})
    replay = await auth_client.post("/jobs", json=JOB, headers={**alice.headers, **same_key})
    other_body = {**JOB, "params": {"steps": 2}}
    bob_first = await auth_client.post(
        "/jobs", json=other_body, headers={**bob.headers, **same_key}
    )

    assert (first.status_code, replay.status_code) == (202, 200)
    assert replay.json()["id"] == first.json()["id"]
    # Bob's request neither replays Alice's job nor clashes with her body.
    assert bob_first.status_code == 202
    assert bob_first.json()["id"] != first.json()["id"]


async def test_a_batch_belongs_to_its_submitter(auth_client: Any, tenants: Tenants) -> None:
    alice, bob, _ = tenants
    batch = await auth_client.post("/jobs/batch", json={"jobs": [JOB, JOB]}, headers=alice.headers)
    ids = [job["id"] for job in batch.json()["items"]]

    seen_by_bob = [
        (await auth_client.get(f"/jobs/{job_id}", headers=bob.headers)).status_code
        for job_id in ids
    ]
    seen_by_alice = (await auth_client.get("/jobs", headers=alice.headers)).json()["total"]

    assert seen_by_bob == [404, 404]
    assert seen_by_alice == 2
