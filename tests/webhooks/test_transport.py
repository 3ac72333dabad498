"""Refusals at delivery: checked after DNS and at every redirect, before anything is sent."""

from __future__ import annotations

from typing import Any

import pytest

from tests.webhooks.conftest import MAX_ATTEMPTS
from tests.webhooks.receiver import Receiver, Reply
from tests.webhooks.support import deliver_finished_job, deliveries, settled

# The app sets up the broker that the tests send delivery messages on.
pytestmark = [pytest.mark.usefixtures("database", "api", "worker"), pytest.mark.slow]


async def test_a_host_name_that_resolves_to_a_blocked_address_is_refused(
    api: Any, trap: Receiver, path: str
) -> None:
    # Given a webhook to a name (allowed at submit) that resolves to loopback,
    # which the worker does not allow (only 127.0.0.2/32)
    url = f"https://localhost:{trap.port}{path}"
    body = {"kind": "simulate", "params": {"steps": 0}, "webhook_url": url}
    job_id = (await api.post("/jobs", json=body)).json()["id"]

    # When its deliveries run out
    row = await settled(job_id)

    # Then every attempt was refused with the address, and nothing reached it
    rows = await deliveries(job_id)
    assert row["webhook_state"] == "failed"
    assert len(rows) == MAX_ATTEMPTS
    assert all(d["status_code"] is None for d in rows)
    assert rows[0]["error"] in ("address 127.0.0.1 is not allowed", "address ::1 is not allowed")
    assert trap.received(path) == []


async def test_a_loopback_address_outside_the_allowed_networks_is_refused(
    trap: Receiver, path: str
) -> None:
    # Given a job whose URL names 127.0.0.1 (as if allowed when it was submitted)
    job_id, row = await deliver_finished_job(trap.url(path))

    rows = await deliveries(job_id)
    assert row["webhook_state"] == "failed"
    assert rows[0]["error"] == "address 127.0.0.1 is not allowed (private, loopback or reserved)"
    assert trap.received(path) == []


async def test_a_redirect_to_a_blocked_address_is_not_followed(
    receiver: Receiver, trap: Receiver, path: str
) -> None:
    # Given an allowed receiver that redirects to loopback outside the allowed networks
    redirect = Reply(307, {"Location": trap.url(path)})
    receiver.script(path, *[redirect] * MAX_ATTEMPTS)
    job_id, row = await deliver_finished_job(receiver.url(path))

    rows = await deliveries(job_id)
    assert row["webhook_state"] == "failed"
    assert rows[0]["status_code"] == 307
    assert rows[0]["error"].startswith("redirect refused: address 127.0.0.1 is not allowed")
    assert len(receiver.received(path)) == MAX_ATTEMPTS
    assert trap.received(path) == []


async def test_an_allowed_redirect_is_followed_with_the_same_signed_post(
    receiver: Receiver, path: str
) -> None:
    receiver.script(path, Reply(308, {"Location": f"{path}/moved"}))
    _, row = await deliver_finished_job(receiver.url(path))

    [first] = receiver.received(path)
    [moved] = receiver.received(f"{path}/moved")
    assert row["webhook_state"] == "delivered"
    assert moved.body == first.body
    assert moved.headers["webhook-signature"] == first.headers["webhook-signature"]


async def test_more_than_three_redirects_fail_the_attempt(receiver: Receiver, path: str) -> None:
    receiver.script(path, *[Reply(302, {"Location": path})] * 4 * MAX_ATTEMPTS)
    job_id, _ = await deliver_finished_job(receiver.url(path))

    rows = await deliveries(job_id)
    assert rows[0]["error"] == "more than 3 redirects"
    assert len(receiver.received(path)) == 4 * MAX_ATTEMPTS


async def test_a_receiver_that_is_not_listening_is_recorded_as_connection_refused(
    receiver: Receiver, path: str
) -> None:
    job_id, _ = await deliver_finished_job(f"http://127.0.0.2:1{path}")

    assert (await deliveries(job_id))[0]["error"] == "connection refused"


async def test_a_receiver_slower_than_the_timeout_is_recorded_as_timed_out(
    receiver: Receiver, path: str
) -> None:
    receiver.script(path, Reply(200, delay_s=3))
    job_id, row = await deliver_finished_job(receiver.url(path))

    rows = await deliveries(job_id)
    assert row["webhook_state"] == "delivered"
    assert [(d["error"], d["delivered"]) for d in rows] == [("timed out", False), (None, True)]
