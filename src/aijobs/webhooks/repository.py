"""Data access for webhooks: the job row's state and the delivery rows."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aijobs.jobs.models import Job
from aijobs.jobs.repository import utcnow
from aijobs.webhooks.models import WebhookDelivery, WebhookState


async def deliveries(
    session: AsyncSession, job_id: UUID, since: datetime | None = None
) -> list[WebhookDelivery]:
    """The job's delivery attempts, oldest first; only those made from `since` on, if given."""
    conditions = [WebhookDelivery.job_id == job_id]
    if since is not None:
        conditions.append(WebhookDelivery.created_at >= since)

    statement = (
        select(WebhookDelivery)
        .where(*conditions)
        .order_by(WebhookDelivery.created_at, WebhookDelivery.attempt)
    )
    return list((await session.execute(statement)).scalars())


async def lock_pending(session: AsyncSession, job_id: UUID) -> Job | None:
    """Lock the job's row until commit if its webhook is pending; None when it is not.

    An UPDATE rather than SELECT FOR UPDATE, so SQLite takes its write lock too.
    """
    statement = (
        update(Job)
        .where(Job.id == job_id, Job.webhook_state == WebhookState.PENDING)
        .values(updated_at=utcnow())
        .returning(Job)
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def settle(session: AsyncSession, job_id: UUID, state: WebhookState) -> None:
    """Move a pending webhook to `state`; a job retried meanwhile is left alone."""
    statement = (
        update(Job)
        .where(Job.id == job_id, Job.webhook_state == WebhookState.PENDING)
        .values(webhook_state=state, updated_at=utcnow())
    )
    await session.execute(statement)
