"""The rules of submitting, listing, canceling and retrying jobs."""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID

import msgspec
import structlog
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import Row, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from aijobs.auth.caller import LOCAL_CALLER, Caller
from aijobs.errors import Conflict, IdempotencyMismatch, NotFound
from aijobs.jobs.dispatch import send_jobs
from aijobs.jobs.intake import JobIntake
from aijobs.jobs.models import RETRYABLE, Job, JobStatus, job_count
from aijobs.jobs.repository import JobRepository, utcnow
from aijobs.jobs.schemas import JobCreate
from aijobs.jobs.validation import validate_job
from aijobs.webhooks.dispatch import pending_if_subscribed, send_webhooks
from aijobs.webhooks.models import WebhookState

logger = structlog.get_logger(__name__)


def request_hash(data: JobCreate) -> str:
    """A fingerprint of the request body, to tell a replay from a different request."""
    return hashlib.sha256(msgspec.json.encode(data, order="sorted")).hexdigest()


def new_row(
    caller: Caller,
    data: JobCreate,
    key: str | None = None,
    fingerprint: str | None = None,
    *,
    prefix: str = "",
) -> dict[str, Any]:
    """The columns of a new pending job; InvalidInput where the request fails a check."""
    return dict(
        owner_id=caller.key_id,
        kind=data.kind,
        status=JobStatus.PENDING,
        input_text=data.input_text,
        input_file_path=data.input_file_path,
        params=validate_job(data, prefix=prefix),
        webhook_url=data.webhook_url,
        idempotency_key=key,
        request_hash=fingerprint,
        enqueued_at=utcnow(),
    )


async def submit_new(intake: JobIntake, rows: list[dict[str, Any]]) -> list[Row[Any]]:
    """Write jobs that carry no Idempotency-Key, all or none, and send their messages.

    Nothing here needs a session of the request's own: the intake writes the
    rows of concurrent requests together on a connection of its own.
    """
    jobs = await intake.add(rows)
    for job in jobs:
        _log_submitted(job)
    return jobs


class JobService(SQLAlchemyAsyncRepositoryService[Job, JobRepository]):
    """Jobs as the API sees them; workers change rows only through fenced updates."""

    repository_type = JobRepository

    #: Whose request this service answers; the API sets it from the request's key.
    caller: Caller = LOCAL_CALLER

    async def submit(self, data: JobCreate, idempotency_key: str) -> tuple[Job, bool]:
        """Create one job under an Idempotency-Key; (job, created) where a replay gives False.

        A submit without a key needs no session: `submit_new` writes it.
        """
        key = self._scoped_key(idempotency_key)
        fingerprint = request_hash(data)
        # Checked before the key is looked up: a bad body is a 422, never a replay.
        row = new_row(self.caller, data, key, fingerprint)
        await self._lock_key(key)
        existing = await self._by_key(key)
        if existing is not None:
            return self._replay(existing, fingerprint), False

        try:
            [job] = await self._insert([row])
        except IntegrityError:
            # Another request with this key committed first (SQLite has no
            # advisory locks); answer as a replay of it.
            await self.repository.session.rollback()
            existing = await self._by_key(key)
            if existing is None:
                raise
            return self._replay(existing, fingerprint), False

        await send_jobs([job.id])
        _log_submitted(job)
        return job, True

    async def list_jobs(
        self, *, status: str | None, kind: str | None, limit: int, offset: int
    ) -> tuple[list[Job], int]:
        """A page of the caller's jobs (every job for admins), newest first, with the total."""
        conditions: list[Any] = []
        counted: list[Any] = []
        owner = self.caller.owner_scope
        if owner is not None:
            conditions.append(Job.owner_id == owner)
            counted.append(job_count.c.owner == owner.hex)
        if status is not None:
            conditions.append(Job.status == status)
            counted.append(job_count.c.status == status)
        if kind is not None:
            conditions.append(Job.kind == kind)
            counted.append(job_count.c.kind == kind)

        total_query = select(func.coalesce(func.sum(job_count.c.n), 0)).where(*counted)
        total = int((await self.repository.session.execute(total_query)).scalar_one())
        page_query = (
            select(Job)
            .where(*conditions)
            .order_by(Job.created_at.desc(), Job.id.desc())
            .limit(limit)
            .offset(offset)
        )
        items = list((await self.repository.session.execute(page_query)).scalars())
        return items, total

    async def get_job(self, job_id: UUID) -> Job:
        """The job, if the caller may see it; another key's job is as good as missing."""
        job = await self.get_one_or_none(Job.id == job_id, *self._visible())
        if job is None:
            raise NotFound(f"job {job_id} not found")

        return job

    async def cancel(self, job_id: UUID) -> Job:
        """Cancel a pending job at once; ask a running one to stop at its next step."""
        job = await self._transition(
            job_id,
            [Job.status == JobStatus.PENDING],
            status=JobStatus.CANCELED,
            cancel_requested=True,
            finished_at=utcnow(),
            progress_message="canceled",
            webhook_state=pending_if_subscribed(),
        )
        if job is None:
            job = await self._transition(
                job_id, [Job.status == JobStatus.PROCESSING], cancel_requested=True
            )
        if job is None:
            current = await self.get_job(job_id)
            raise Conflict(f"job {job_id} is already {current.status}; nothing to cancel")

        if job.webhook_state == WebhookState.PENDING:
            await send_webhooks([job.id])

        logger.info(
            "job canceled" if job.status == JobStatus.CANCELED else "job cancel requested",
            job_id=str(job.id),
            status=job.status,
            attempt=job.attempts,
        )
        return job

    async def retry(self, job_id: UUID) -> Job:
        """Put a failed or canceled job back in the queue with a fresh retry budget."""
        job = await self._transition(
            job_id,
            [Job.status.in_(RETRYABLE)],
            status=JobStatus.PENDING,
            attempts_floor=Job.attempts,
            progress=0,
            progress_message=None,
            result=None,
            error_message=None,
            cancel_requested=False,
            finished_at=None,
            started_at=None,
            enqueued_at=utcnow(),
            usage={},
            webhook_state=None,
        )
        if job is None:
            current = await self.get_job(job_id)
            raise Conflict(
                f"job {job_id} is {current.status}; only failed or canceled jobs can be retried"
            )

        await send_jobs([job.id])
        logger.info("job retried", job_id=str(job.id), status=job.status, attempt=job.attempts)
        return job

    async def _transition(self, job_id: UUID, conditions: list[Any], **values: Any) -> Job | None:
        """Apply `values` if the row still matches `conditions`; the new row or None."""
        statement = (
            update(Job)
            .where(Job.id == job_id, *self._visible(), *conditions)
            .values(updated_at=utcnow(), **values)
            .returning(Job)
            .execution_options(synchronize_session=False)
        )
        job = (await self.repository.session.execute(statement)).scalar_one_or_none()
        await self.repository.session.commit()
        return job

    async def _lock_key(self, key: str) -> None:
        """On PostgreSQL, hold the key for this transaction or answer 409 at once."""
        session = self.repository.session
        if session.bind is None or session.bind.dialect.name != "postgresql":
            return

        lock = text("SELECT pg_try_advisory_xact_lock(hashtextextended(:key, 0))")
        if not (await session.execute(lock, {"key": key})).scalar_one():
            raise Conflict("a request with this Idempotency-Key is still in progress; retry later")

    def _visible(self) -> list[Any]:
        """Conditions that keep the caller to its own jobs."""
        owner = self.caller.owner_scope
        return [] if owner is None else [Job.owner_id == owner]

    def _scoped_key(self, idempotency_key: str) -> str:
        """Idempotency keys belong to the API key that sent them."""
        owner = self.caller.key_id.hex if self.caller.key_id is not None else "-"
        return f"{owner}:{idempotency_key}"

    async def _by_key(self, key: str) -> Job | None:
        return await self.get_one_or_none(Job.idempotency_key == key)

    @staticmethod
    def _replay(existing: Job, fingerprint: str) -> Job:
        if existing.request_hash != fingerprint:
            raise IdempotencyMismatch(
                "this Idempotency-Key was already used with a different request body"
            )
        return existing

    async def _insert(self, rows: list[dict[str, Any]]) -> list[Job]:
        """Write a keyed job in this request's transaction, which holds the key's lock.

        A bulk INSERT … RETURNING skips the unit of work's flush, which cost
        half the CPU of a submit, and still fills in every column default.
        """
        session = self.repository.session
        jobs = list(await session.scalars(insert(Job).returning(Job), rows))
        await session.commit()
        return jobs


def _log_submitted(job: Job | Row[Any]) -> None:
    logger.info("job submitted", job_id=str(job.id), status=job.status, kind=job.kind, attempt=0)
