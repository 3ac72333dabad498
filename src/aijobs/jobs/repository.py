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

The claim and the completion also come in a form for many jobs at once, which
`aijobs.jobs.write_groups` uses to write a worker process's concurrent jobs
in one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias
from uuid import UUID

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from asyncpg.pool import PoolConnectionProxy
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Update,
    any_,
    bindparam,
    case,
    false,
    func,
    or_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
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
#: Many job ids in one parameter, for the statements that take a group of jobs.
_JOB_IDS = bindparam("job_ids", type_=ARRAY(PG_UUID(as_uuid=True)))


def _running_attempt(attempt: ColumnElement[Any]) -> ColumnElement[bool]:
    """The row is `processing` under `attempt`: the fence of every write after the claim.

    Written as a CASE so that no index on `status` can serve it: as a plain
    `status = 'processing'`, PostgreSQL sometimes found the status index as
    cheap as the primary key (a fresh table, or stale statistics that know of
    no running job) and walked every running row, dead versions included,
    to update one.
    """
    return case((Job.status == JobStatus.PROCESSING, Job.attempts == attempt), else_=false())


_FENCED = (Job.id == bindparam("job_id")) & _running_attempt(bindparam("attempt"))


def _claim_of(which: ColumnElement[bool]) -> Update:
    return (
        update(Job)
        .where(
            which,
            or_(
                Job.status == JobStatus.PENDING,
                (Job.status == JobStatus.PROCESSING) & (Job.lease_expires_at < _NOW),
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
    )


_CLAIMED = (
    Job.attempts,
    Job.attempts_floor,
    Job.kind,
    Job.params,
    Job.input_text,
    Job.input_file_path,
    Job.cancel_requested,
    Job.created_at,
)
_CLAIM = _claim_of(Job.id == bindparam("job_id")).returning(*_CLAIMED)
# PostgreSQL only. The rows are locked in the index's order of ids, so two
# overlapping groups wait for each other instead of deadlocking.
_CLAIM_MANY = _claim_of(Job.id == any_(_JOB_IDS)).returning(Job.id, *_CLAIMED)

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

# PostgreSQL only: many completions, each with its own attempt, result and usage.
_DONE = (
    func.unnest(
        _JOB_IDS,
        bindparam("attempt_numbers", type_=ARRAY(Integer)),
        bindparam("results", type_=ARRAY(JSONB)),
        bindparam("usages", type_=ARRAY(JSONB)),
    )
    .table_valued("job_id", "attempt", "result", "usage")
    .render_derived(name="done")
)
_COMPLETE_MANY = (
    update(Job)
    .where(Job.id == _DONE.c.job_id, _running_attempt(_DONE.c.attempt))
    .values(
        status=JobStatus.COMPLETED,
        progress=100,
        error_message=None,
        result=_DONE.c.result,
        usage=_DONE.c.usage,
        lease_expires_at=None,
        finished_at=_NOW,
        updated_at=_NOW,
        webhook_state=pending_if_subscribed(),
    )
    .returning(Job.id, Job.webhook_state)
)

_direct: dict[tuple[int, tuple[str, ...]], DirectStatement] = {}


def _compiled(statement: Update, parameters: dict[str, Any]) -> DirectStatement:
    # Compiled once per statement and set of parameter names, as SQLAlchemy caches it.
    key = (id(statement), tuple(sorted(parameters)))
    direct = _direct.get(key)
    if direct is None:
        direct = _direct[key] = DirectStatement(statement, key[1])
    return direct


async def _fetch_one(
    connection: FencedConnection, statement: Update, parameters: dict[str, Any]
) -> Sequence[Any] | None:
    """Run one statement and return its only row, or None when it matched no row."""
    if isinstance(connection, AsyncConnection):
        return (await connection.execute(statement, parameters)).one_or_none()

    row: Sequence[Any] | None = await _compiled(statement, parameters).fetchrow(
        connection, parameters
    )
    return row


async def _fetch_all(
    connection: PoolConnectionProxy, statement: Update, parameters: dict[str, Any]
) -> list[Sequence[Any]]:
    rows: list[Sequence[Any]] = await _compiled(statement, parameters).fetch(connection, parameters)
    return rows


def _claim_parameters(lease_s: float, worker_id: str) -> dict[str, Any]:
    now = utcnow()
    return {"now": now, "lease_until": now + timedelta(seconds=lease_s), "claimer": worker_id}


async def claim(
    connection: FencedConnection, job_id: UUID, *, lease_s: float, worker_id: str
) -> Claim | None:
    """Take the job if it is pending or its lease has expired; None otherwise."""
    parameters = {"job_id": job_id, **_claim_parameters(lease_s, worker_id)}
    row = await _fetch_one(connection, _CLAIM, parameters)
    if row is None:
        return None

    return Claim(job_id, *row)


async def claim_many(
    connection: FencedConnection, job_ids: Sequence[UUID], *, lease_s: float, worker_id: str
) -> dict[UUID, Claim]:
    """`claim` for several jobs in one statement (one by one on SQLite): the jobs won, by id."""
    if isinstance(connection, AsyncConnection):
        claims = [
            await claim(connection, job_id, lease_s=lease_s, worker_id=worker_id)
            for job_id in job_ids
        ]
        return {won.job_id: won for won in claims if won is not None}

    parameters = {"job_ids": list(job_ids), **_claim_parameters(lease_s, worker_id)}
    rows = await _fetch_all(connection, _CLAIM_MANY, parameters)
    return {row[0]: Claim(*row) for row in rows}


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


@dataclass(frozen=True, slots=True)
class Completion:
    """A successful attempt's outcome, as `complete_many` writes it."""

    job_id: UUID
    attempt: int
    result: dict[str, Any]
    usage: dict[str, int]


async def complete_many(
    connection: FencedConnection, completions: Sequence[Completion]
) -> dict[UUID, Finished]:
    """Mark attempts completed in one statement (one by one on SQLite); those written, by id.

    An attempt that was fenced out is missing from the answer.
    """
    if isinstance(connection, AsyncConnection):
        written: dict[UUID, Finished] = {}
        for done in completions:
            finished = await finish(
                connection,
                done.job_id,
                done.attempt,
                status=JobStatus.COMPLETED,
                progress=100,
                error_message=None,
                result=done.result,
                usage=done.usage,
            )
            if finished is not None:
                written[done.job_id] = finished
        return written

    parameters = {
        "job_ids": [done.job_id for done in completions],
        "attempt_numbers": [done.attempt for done in completions],
        "results": [done.result for done in completions],
        "usages": [done.usage for done in completions],
        "now": utcnow(),
    }
    rows = await _fetch_all(connection, _COMPLETE_MANY, parameters)
    return {row[0]: Finished(webhook_due=row[1] == WebhookState.PENDING) for row in rows}
