"""Data access for jobs: the Advanced Alchemy repository plus fenced updates.

Every write a worker makes is a single conditional UPDATE. The claim matches
only a claimable row, and every later write matches only while the row is
still `processing` under the same attempt number, so a worker whose lease
was taken over cannot touch the job again.

The updates are built once and run on an autocommit connection. One
statement is atomic by itself, so a BEGIN and a COMMIT around it only added
two round trips; building each statement anew and running it through an ORM
session took about a third of a worker's CPU on short jobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from sqlalchemy import BindParameter, and_, bindparam, or_, update
from sqlalchemy.ext.asyncio import AsyncConnection

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


# Bound at execution; the names differ from every column so that the values
# given for a SET clause (see `finish`) cannot be mistaken for them.
_NOW: BindParameter[datetime] = bindparam("now")
_FENCED = and_(
    Job.id == bindparam("job_id"),
    Job.attempts == bindparam("attempt"),
    Job.status == JobStatus.PROCESSING,
)

_CLAIM = (
    update(Job)
    .where(
        Job.id == bindparam("job_id"),
        or_(
            Job.status == JobStatus.PENDING,
            and_(Job.status == JobStatus.PROCESSING, Job.lease_expires_at < _NOW),
        ),
    )
    .values(
        status=JobStatus.PROCESSING,
        attempts=Job.attempts + 1,
        lease_expires_at=bindparam("lease_until"),
        worker_id=bindparam("claimer"),
        started_at=_NOW,
        updated_at=_NOW,
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

_RENEW = (
    update(Job)
    .where(_FENCED)
    .values(lease_expires_at=bindparam("lease_until"), updated_at=_NOW)
    .returning(Job.cancel_requested)
)

_PROGRESS = (
    update(Job)
    .where(_FENCED)
    .values(
        progress=bindparam("percent"),
        progress_message=bindparam("message"),
        usage=bindparam("tokens"),
        updated_at=_NOW,
    )
    .returning(Job.cancel_requested)
)

# The outcome's own columns come with the parameters: SQLAlchemy sets every
# column named there, and compiles each set of names once.
_REQUEUE = (
    update(Job)
    .where(_FENCED)
    .values(lease_expires_at=None, updated_at=_NOW)
    .returning(Job.webhook_state)
)
_END = _REQUEUE.values(finished_at=_NOW, webhook_state=pending_if_subscribed())


async def claim(
    connection: AsyncConnection, job_id: UUID, *, lease_s: float, worker_id: str
) -> Claim | None:
    """Take the job if it is pending or its lease has expired; None otherwise."""
    now = utcnow()
    parameters = {
        "job_id": job_id,
        "now": now,
        "lease_until": now + timedelta(seconds=lease_s),
        "claimer": worker_id,
    }
    row = (await connection.execute(_CLAIM, parameters)).one_or_none()
    if row is None:
        return None

    return Claim(job_id, *row)


async def renew_lease(
    connection: AsyncConnection, job_id: UUID, attempt: int, *, lease_s: float
) -> bool | None:
    """Extend the lease; return whether a cancel is requested, or None if fenced out."""
    now = utcnow()
    parameters = {
        "job_id": job_id,
        "attempt": attempt,
        "now": now,
        "lease_until": now + timedelta(seconds=lease_s),
    }
    cancel_requested = (await connection.execute(_RENEW, parameters)).scalar_one_or_none()
    return cancel_requested


async def record_progress(
    connection: AsyncConnection,
    job_id: UUID,
    attempt: int,
    *,
    progress: int,
    message: str | None,
    usage: dict[str, int],
) -> bool | None:
    """Write progress; return whether a cancel is requested, or None if fenced out."""
    parameters = {
        "job_id": job_id,
        "attempt": attempt,
        "now": utcnow(),
        "percent": progress,
        "message": message,
        "tokens": usage,
    }
    cancel_requested = (await connection.execute(_PROGRESS, parameters)).scalar_one_or_none()
    return cancel_requested


async def finish(
    connection: AsyncConnection, job_id: UUID, attempt: int, *, status: JobStatus, **values: Any
) -> Finished | None:
    """Move a running attempt to `status` (final or back to pending); None if fenced out.

    `values` name the other columns the outcome sets, such as `result`.
    """
    statement = _REQUEUE if status == JobStatus.PENDING else _END
    parameters = {"job_id": job_id, "attempt": attempt, "now": utcnow(), "status": status}
    row = (await connection.execute(statement, {**parameters, **values})).one_or_none()
    if row is None:
        return None

    return Finished(webhook_due=row.webhook_state == WebhookState.PENDING)
