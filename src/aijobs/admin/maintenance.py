"""Maintenance: give back expired leases, resend lost messages and webhooks, purge old jobs.

Every step is a conditional UPDATE or DELETE, so several schedulers running
at once do each piece of work once: a row changed by one no longer matches
the condition the other re-checks under the row lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import and_, delete, exists, literal_column, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aijobs.jobs.dispatch import send_jobs
from aijobs.jobs.models import FINISHED, Job, JobStatus
from aijobs.jobs.repository import utcnow
from aijobs.settings import Settings
from aijobs.webhooks.dispatch import due, pending_if_subscribed, send_webhooks
from aijobs.webhooks.models import WebhookDelivery, WebhookState

logger = structlog.get_logger(__name__)

#: Most rows one maintenance pass touches per step, so a pass stays short.
BATCH = 1000


@dataclass(slots=True)
class MaintenanceReport:
    requeued: int = 0
    canceled: int = 0
    failed: int = 0
    resent: int = 0
    webhooks_resent: int = 0
    purged: int = 0


def _batch(*conditions: Any) -> Any:
    """Ids of at most BATCH rows matching `conditions`, skipping rows others hold."""
    return (
        select(Job.id)
        .where(*conditions)
        .order_by(Job.created_at)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )


async def _update(
    session: AsyncSession, conditions: list[Any], **values: Any
) -> dict[UUID, str | None]:
    """Apply `values` to a batch of matching rows; each changed job's id and webhook_state."""
    now = utcnow()
    statement = (
        update(Job)
        .where(Job.id.in_(_batch(*conditions)), *conditions)
        .values(updated_at=now, **values)
        .returning(Job.id, Job.webhook_state)
        .execution_options(synchronize_session=False)
    )
    changed = {job_id: state for job_id, state in await session.execute(statement)}
    await session.commit()
    return changed


async def settle_expired_leases(session: AsyncSession, settings: Settings) -> MaintenanceReport:
    """Cancel, fail or requeue every `processing` job whose worker stopped renewing."""
    now = utcnow()
    report = MaintenanceReport()
    expired = [Job.status == JobStatus.PROCESSING, Job.lease_expires_at < now]
    settled = {"lease_expires_at": None, "worker_id": None}
    finished = {**settled, "finished_at": now, "webhook_state": pending_if_subscribed()}

    canceled = await _update(
        session,
        [*expired, Job.cancel_requested.is_(True)],
        status=JobStatus.CANCELED,
        progress_message="canceled",
        **finished,
    )
    spent = Job.attempts - Job.attempts_floor > settings.job_max_retries
    failed = await _update(
        session,
        [*expired, spent],
        status=JobStatus.FAILED,
        error_message="worker lost mid-job (lease expired) and no retries are left",
        **finished,
    )
    requeued = await _update(
        session,
        expired,
        status=JobStatus.PENDING,
        enqueued_at=now,
        error_message="worker lost mid-job (lease expired); requeued",
        **settled,
    )
    if requeued:
        await send_jobs(list(requeued))
    await send_webhooks(due([*canceled.items(), *failed.items()]))

    report.canceled, report.failed, report.requeued = len(canceled), len(failed), len(requeued)
    for status, ids in (
        (JobStatus.CANCELED, canceled),
        (JobStatus.FAILED, failed),
        (JobStatus.PENDING, requeued),
    ):
        for job_id in ids:
            logger.info("job settled after lease expiry", job_id=str(job_id), status=status)

    return report


async def resend_lost_messages(
    session: AsyncSession, settings: Settings, *, stale_after_s: float | None = None
) -> int:
    """Send again the message of every `pending` job that waited too long for one."""
    now = utcnow()
    if stale_after_s is None:
        stale_after_s = settings.job_resend_after_s
    stale = now - timedelta(seconds=stale_after_s)
    conditions = [
        Job.status == JobStatus.PENDING,
        or_(Job.enqueued_at.is_(None), Job.enqueued_at < stale),
    ]
    ids = list(await _update(session, conditions, enqueued_at=now))
    if ids:
        await send_jobs(ids)
        logger.info("job messages resent", jobs=len(ids))

    return len(ids)


async def resend_pending_webhooks(
    session: AsyncSession, settings: Settings, *, stale_after_s: float | None = None
) -> int:
    """Send again the delivery message of every pending webhook that went quiet.

    Quiet means finished (or last resent) longer ago than JOB_RESEND_AFTER_S,
    with no attempt within that plus WEBHOOK_MAX_BACKOFF_MS, so a retry still
    waiting out its backoff is left alone. Touching `updated_at` is what keeps
    a second scheduler from sending the same message again.
    """
    now = utcnow()
    if stale_after_s is None:
        stale_after_s = settings.job_resend_after_s
    stale = now - timedelta(seconds=stale_after_s)
    quiet_since = stale - timedelta(milliseconds=settings.webhook_max_backoff_ms)
    recent_attempt = exists().where(
        WebhookDelivery.job_id == Job.id, WebhookDelivery.created_at > quiet_since
    )
    conditions = [
        # A literal, so that PostgreSQL matches the partial index ix_job_webhook_pending.
        Job.webhook_state == literal_column(f"'{WebhookState.PENDING}'"),
        Job.finished_at < stale,
        Job.updated_at < stale,
        ~recent_attempt,
    ]
    ids = list(await _update(session, conditions))
    if ids:
        await send_webhooks(ids)
        logger.info("webhook messages resent", jobs=len(ids))

    return len(ids)


async def purge_finished(session: AsyncSession, settings: Settings) -> int:
    """Delete finished jobs older than JOB_RETENTION_DAYS."""
    cutoff = utcnow() - timedelta(days=settings.job_retention_days)
    conditions = [Job.status.in_(FINISHED), Job.finished_at < cutoff]
    statement = delete(Job).where(Job.id.in_(_batch(*conditions)), and_(*conditions))
    result = await session.execute(statement.execution_options(synchronize_session=False))
    await session.commit()
    purged = int(getattr(result, "rowcount", 0) or 0)
    if purged:
        logger.info("finished jobs purged", jobs=purged)

    return purged


async def run_maintenance(session: AsyncSession, settings: Settings) -> MaintenanceReport:
    """One full pass; each step commits on its own so one failure spoils nothing else."""
    report = await settle_expired_leases(session, settings)
    report.resent = await resend_lost_messages(session, settings)
    report.webhooks_resent = await resend_pending_webhooks(session, settings)
    report.purged = await purge_finished(session, settings)
    return report
