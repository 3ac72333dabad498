"""Every way a job ends starts its webhook, and a lost webhook message is sent again."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from pathlib import Path

import dramatiq
import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from aijobs.admin.maintenance import resend_pending_webhooks, settle_expired_leases
from aijobs.jobs.dispatch import job_message
from aijobs.jobs.repository import utcnow
from aijobs.settings import get_settings
from tests.support import engine, execute, insert_job, running_server
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import insert_finished_job, settled

# The app sets up the broker that maintenance sends on.
pytestmark = [pytest.mark.usefixtures("database", "api"), pytest.mark.slow]


async def resend() -> int:
    """One pass of the maintenance step, forced now."""
    async with async_sessionmaker(engine())() as session:
        return await resend_pending_webhooks(session, get_settings())


@pytest.mark.usefixtures("worker")
async def test_maintenance_resends_a_pending_webhook_whose_message_was_lost(
    receiver: Receiver, path: str
) -> None:
    # Given a job that finished two minutes ago and whose webhook message never arrived
    job_id = await insert_finished_job(receiver.url(path), age_s=120)

    # When maintenance runs twice, as two schedulers might
    first, second = await resend(), await resend()
    row = await settled(job_id)

    # Then the webhook was sent again once, and delivered
    assert (first, second) == (1, 0)
    assert row["webhook_state"] == "delivered"
    assert len(receiver.received(path)) == 1


async def test_maintenance_leaves_a_webhook_alone_while_it_is_recent_or_backing_off(
    receiver: Receiver, path: str
) -> None:
    # Given one webhook that just became pending, and one whose last attempt was just now
    await insert_finished_job(receiver.url(path), age_s=1)
    backing_off = await insert_finished_job(receiver.url(path), age_s=120)
    await execute(
        "INSERT INTO webhook_delivery (id, job_id, attempt, status_code, duration_ms,"
        " delivered, created_at, updated_at) VALUES (:id, :job_id, 1, 500, 3, false, :now, :now)",
        id=str(uuid.uuid4()),
        job_id=backing_off,
        now=utcnow(),
    )

    # When maintenance runs, then neither is sent again
    assert await resend() == 0


@pytest.mark.usefixtures("worker")
async def test_a_job_failed_by_maintenance_after_its_worker_died_posts_its_failure(
    receiver: Receiver, path: str
) -> None:
    # Given a job whose worker died on its last allowed attempt
    expired = utcnow() - timedelta(seconds=5)
    job_id = await insert_job(
        status="processing", attempts=4, lease_expires_at=expired, webhook_url=receiver.url(path)
    )

    # When maintenance settles the expired lease
    async with async_sessionmaker(engine())() as session:
        report = await settle_expired_leases(session, get_settings())
    row = await settled(job_id)

    # Then the failure is posted
    assert report.failed == 1
    assert row["status"] == "failed"
    assert row["webhook_state"] == "delivered"
    assert len(receiver.received(path)) == 1


@pytest.mark.usefixtures("worker")
async def test_a_job_whose_message_expired_in_the_queue_posts_its_failure(
    receiver: Receiver, path: str
) -> None:
    # Given a pending job whose only message waited longer than JOB_MAX_AGE_S (5 s)
    job_id = await insert_job(params='{"steps": 0}', webhook_url=receiver.url(path))
    message = job_message(uuid.UUID(job_id))
    dramatiq.get_broker().enqueue(message.copy(message_timestamp=int((time.time() - 10) * 1000)))

    # When the worker drops it, then the job fails and its failure is posted
    row = await settled(job_id)

    assert row["status"] == "failed"
    assert row["webhook_state"] == "delivered"
    assert len(receiver.received(path)) == 1


def test_embedded_mode_delivers_webhooks_on_sqlite(
    tmp_path: Path, receiver: Receiver, path: str
) -> None:
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'aijobs.db'}",
        "DATA_DIR": str(tmp_path / "data"),
    }
    body = {"kind": "simulate", "params": {"steps": 0}, "webhook_url": receiver.url(path)}
    with running_server("dev", env) as server, httpx.Client(base_url=server.url) as client:
        job_id = client.post("/jobs", json=body).json()["id"]
        deadline = time.monotonic() + 20
        while client.get(f"/jobs/{job_id}").json()["webhook_state"] != "delivered":
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.1)

    assert len(receiver.received(path)) == 1
