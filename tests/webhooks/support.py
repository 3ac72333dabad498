"""Helpers the webhook tests share: reading deliveries, waiting on them, sending them."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import dramatiq
from sqlalchemy import text

from aijobs.jobs.repository import utcnow
from aijobs.webhooks.dispatch import webhook_message
from tests.support import engine, insert_job, job_row, wait_for

SETTLED = {"delivered", "failed"}


async def deliveries(job_id: str) -> list[dict[str, Any]]:
    """The job's delivery rows as the database holds them, oldest first."""
    async with engine().connect() as connection:
        result = await connection.execute(
            text("SELECT * FROM webhook_delivery WHERE job_id = :id ORDER BY created_at, attempt"),
            {"id": job_id},
        )
        return [dict(row) for row in result.mappings()]


async def settled(job_id: str, timeout: float = 20.0) -> dict[str, Any]:
    """The job's row once its webhook is delivered or failed."""
    return await wait_for(
        lambda: job_row(job_id), lambda row: row["webhook_state"] in SETTLED, timeout
    )


async def insert_finished_job(webhook_url: str, age_s: float = 0, **values: Any) -> str:
    """A completed job whose webhook is pending, written straight to the table."""
    finished_at = utcnow() - timedelta(seconds=age_s)
    return await insert_job(
        status="completed",
        attempts=1,
        finished_at=finished_at,
        updated_at=finished_at,
        webhook_url=webhook_url,
        webhook_state="pending",
        **values,
    )


def send_delivery(job_id: str) -> None:
    """Enqueue a delivery message for the job, as the API or a worker would."""
    dramatiq.get_broker().enqueue(webhook_message(uuid.UUID(job_id)))


async def deliver_finished_job(webhook_url: str) -> tuple[str, dict[str, Any]]:
    """A finished job with a pending webhook, delivered; its id and its settled row."""
    job_id = await insert_finished_job(webhook_url)
    send_delivery(job_id)
    return job_id, await settled(job_id)
