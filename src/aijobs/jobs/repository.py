"""Data access for jobs: the Advanced Alchemy repository plus fenced updates.

Every write a worker makes is a single conditional UPDATE. The claim matches
only a claimable row, and every later write matches only while the row is
still `processing` under the same attempt number, so a worker whose lease
was taken over cannot touch the job again.

The updates are built once and run on an autocommit connection. One
statement is atomic by itself, so a BEGIN and a COMMIT around it only added
two round trips; building each statement anew and running it through an ORM
session took about a third of a worker's CPU on short jobs. On PostgreSQL
they run on asyncpg directly (see `aijobs.direct_sql`); on SQLite, through
SQLAlchemy's connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias
from uuid import UUID

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from asyncpg.pool import PoolConnectionProxy
from sqlalchemy import BindParameter, Update, and_, bindparam, or_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from aijobs.direct_sql import DirectStatement
from aijobs.jobs.models import Job, JobStatus
from aijobs.webhooks.dispatch import pending_if_subscribed
from aijobs.webhooks.models import WebhookState

#: What `aijobs.resources.autocommit_scope` yields: an asyncpg connection on
#: PostgreSQL, a SQLAlchemy one on SQLite.
FencedConnection: TypeAlias = AsyncConnection | PoolConnectionProxy


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

_direct: dict[tuple[int, tuple[str, ...]], DirectStatement] = {}


async def _fetch_one(
    connection: FencedConnection, statement: Update, parameters: dict[str, Any]
) -> Sequence[Any] | None:
    """Run one statement and return its only row, or None when it matched no row."""
    if isinstance(connection, AsyncConnection):
        return (await connection.execute(statement, parameters)).one_or_none()

    # Compiled once per statement and set of parameter names, as SQLAlchemy caches it.
    key = (id(statement), tuple(sorted(parameters)))
    direct = _direct.get(key)
    if direct is None:
        direct = _direct[key] = DirectStatement(statement, key[1])
    row: Sequence[Any] | None = await direct.fetchrow(connection, parameters)
    return row


async def claim(
    connection: FencedConnection, job_id: UUID, *, lease_s: float, worker_id: str
) -> Claim | None:
    """Take the job if it is pending or its lease has expired; None otherwise."""
    now = utcnow()
    parameters = {
        "job_id": job_id,
        "now": now,
        "lease_until": now + timedelta(seconds=lease_s),
        "claimer": worker_id,
    }
    row = await _fetch_one(connection, _CLAIM, parameters)
    if row is None:
        return None

    return Claim(job_id, *row)


async def renew_lease(
    connection: FencedConnection, job_id: UUID, attempt: int, *, lease_s: float
) -> bool | None:
    """Extend the lease; return whether a cancel is requested, or None if fenced out."""
    now = utcnow()
    parameters = {
        "job_id": job_id,
        "attempt": attempt,
        "now": now,
        "lease_until": now + timedelta(seconds=lease_s),
    }
    row = await _fetch_one(connection, _RENEW, parameters)
    return None if row is None else bool(row[0])


async def record_progress(
    connection: FencedConnection,
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
    row = await _fetch_one(connection, _PROGRESS, parameters)
    return None if row is None else bool(row[0])


async def finish(
    connection: FencedConnection, job_id: UUID, attempt: int, *, status: JobStatus, **values: Any
) -> Finished | None:
    """Move a running attempt to `status` (final or back to pending); None if fenced out.

    `values` name the other columns the outcome sets, such as `result`.
    """
    statement = _REQUEUE if status == JobStatus.PENDING else _END
    parameters = {"job_id": job_id, "attempt": attempt, "now": utcnow(), "status": status}
    row = await _fetch_one(connection, statement, {**parameters, **values})
    if row is None:
        return None

    return Finished(webhook_due=row[0] == WebhookState.PENDING)
