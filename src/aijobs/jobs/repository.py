"""Data access for jobs: the Advanced Alchemy repository plus fenced updates.

Every write a worker makes is a single conditional UPDATE. The claim matches
only a claimable row, and every later write matches only while the row is
still `processing` under the same attempt number, so a worker whose lease
was taken over cannot touch the job again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from sqlalchemy import and_, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from aijobs.jobs.models import Job, JobStatus
from aijobs.webhooks.dispatch import pending_if_subscribed
from aijobs.webhooks.models import WebhookState


def utcnow() -> datetime:
    return datetime.now(UTC)


class JobRepository(SQLAlchemyAsyncRepository[Job]):
    model_type = Job


@dataclass(frozen=True, slots=True)
class Claim:
    """What a worker learns when it wins a job."""

    job_id: UUID
    attempt: int
    attempts_floor: int
    kind: str
    params: dict[str, Any]
    input_text: str | None
    input_file_path: str | None
    cancel_requested: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Finished:
    """What a worker learns when its outcome was written."""

    webhook_due: bool


def _fenced(job_id: UUID, attempt: int) -> Any:
    return and_(Job.id == job_id, Job.attempts == attempt, Job.status == JobStatus.PROCESSING)


async def claim(
    session: AsyncSession, job_id: UUID, *, lease_s: float, worker_id: str
) -> Claim | None:
    """Take the job if it is pending or its lease has expired; None otherwise."""
    now = utcnow()
    statement = (
        update(Job)
        .where(
            Job.id == job_id,
            or_(
                Job.status == JobStatus.PENDING,
                and_(Job.status == JobStatus.PROCESSING, Job.lease_expires_at < now),
            ),
        )
        .values(
            status=JobStatus.PROCESSING,
            attempts=Job.attempts + 1,
            lease_expires_at=now + timedelta(seconds=lease_s),
            worker_id=worker_id,
            started_at=now,
            updated_at=now,
        )
        .returning(
            Job.attempts,
            Job.attempts_floor,
            Job.kind,
            Job.params,
            Job.input_text,
            Job.input_file_path,
            Job.cancel_requested,
            Job.created_at,
        )
    )
    row = (await session.execute(statement)).one_or_none()
    await session.commit()
    if row is None:
        return None

    return Claim(job_id, *row)


async def renew_lease(
    session: AsyncSession, job_id: UUID, attempt: int, *, lease_s: float
) -> bool | None:
    """Extend the lease; return whether a cancel is requested, or None if fenced out."""
    now = utcnow()
    statement = (
        update(Job)
        .where(_fenced(job_id, attempt))
        .values(lease_expires_at=now + timedelta(seconds=lease_s), updated_at=now)
        .returning(Job.cancel_requested)
    )
    cancel_requested = (await session.execute(statement)).scalar_one_or_none()
    await session.commit()
    return cancel_requested


async def record_progress(
    session: AsyncSession,
    job_id: UUID,
    attempt: int,
    *,
    progress: int,
    message: str | None,
    usage: dict[str, int],
) -> bool | None:
    """Write progress; return whether a cancel is requested, or None if fenced out."""
    statement = (
        update(Job)
        .where(_fenced(job_id, attempt))
        .values(progress=progress, progress_message=message, usage=usage, updated_at=utcnow())
        .returning(Job.cancel_requested)
    )
    cancel_requested = (await session.execute(statement)).scalar_one_or_none()
    await session.commit()
    return cancel_requested


async def finish(
    session: AsyncSession, job_id: UUID, attempt: int, *, status: JobStatus, **values: Any
) -> Finished | None:
    """Move a running attempt to `status` (final or back to pending); None if fenced out."""
    now = utcnow()
    if status != JobStatus.PENDING:
        values.setdefault("finished_at", now)
        values.setdefault("webhook_state", pending_if_subscribed())

    statement = (
        update(Job)
        .where(_fenced(job_id, attempt))
        .values(status=status, lease_expires_at=None, updated_at=now, **values)
        .returning(Job.webhook_state)
    )
    row = (await session.execute(statement)).one_or_none()
    await session.commit()
    if row is None:
        return None

    return Finished(webhook_due=row.webhook_state == WebhookState.PENDING)
