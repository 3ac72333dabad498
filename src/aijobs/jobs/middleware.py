"""Dramatiq middleware that keeps the job row true when Dramatiq gives up."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import structlog
from dramatiq import Broker, Middleware
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.broker import MessageProxy
from sqlalchemy import or_, update

from aijobs.jobs.dispatch import RUN_JOB_ACTOR
from aijobs.jobs.models import Job, JobStatus
from aijobs.jobs.repository import utcnow
from aijobs.resources import session_scope, worker_id
from aijobs.webhooks.dispatch import due, pending_if_subscribed, send_webhooks

logger = structlog.get_logger(__name__)


class FailJobWhenMessageDies(Middleware):
    """Mark the job failed when its message is dropped: retries spent, too old, killed.

    The runner settles every outcome it sees itself; this catches what it
    cannot see, such as the TimeLimit backstop interrupting a handler that
    blocked its event loop, or AgeLimit skipping a message that waited too long.
    """

    def after_process_message(
        self,
        broker: Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if message.actor_name != RUN_JOB_ACTOR or not message.failed:
            return

        reason = type(exception).__name__ if exception else "unknown error"
        self._fail(message, f"worker gave up on the job: {reason}")

    def after_skip_message(self, broker: Broker, message: MessageProxy) -> None:
        if message.actor_name == RUN_JOB_ACTOR:
            self._fail(message, "the job's message expired in the queue (JOB_MAX_AGE_S)")

    def _fail(self, message: MessageProxy, reason: str) -> None:
        loop_thread = get_event_loop_thread()
        if loop_thread is None:
            return

        job_id = UUID(message.args[0])
        try:
            loop_thread.run_coroutine(_fail_unfinished(job_id, reason))
        except Exception as exc:
            # The row stays pending or processing; maintenance settles it later.
            logger.warning("could not mark job failed", job_id=str(job_id), error=repr(exc))


async def _fail_unfinished(job_id: UUID, reason: str) -> None:
    now = utcnow()
    statement = (
        update(Job)
        .where(
            Job.id == job_id,
            or_(
                Job.status == JobStatus.PENDING,
                (Job.status == JobStatus.PROCESSING) & (Job.worker_id == worker_id()),
            ),
        )
        .values(
            status=JobStatus.FAILED,
            error_message=reason,
            finished_at=now,
            updated_at=now,
            lease_expires_at=None,
            webhook_state=pending_if_subscribed(),
        )
        .returning(Job.attempts, Job.webhook_state)
    )
    async with session_scope() as session:
        row = (await session.execute(statement)).one_or_none()
        await session.commit()

    if row is None:
        return

    logger.info(
        "job failed",
        job_id=str(job_id),
        status=JobStatus.FAILED,
        attempt=row.attempts,
        error=reason,
    )
    await send_webhooks(due([(job_id, row.webhook_state)]))
