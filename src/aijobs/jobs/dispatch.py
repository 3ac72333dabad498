"""Sending wake-up messages for jobs without blocking the event loop."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import anyio.to_thread
import dramatiq
import structlog
from dramatiq import Message

#: The queue job messages travel on.
JOB_QUEUE = "jobs"
#: The actor that runs a job.
RUN_JOB_ACTOR = "run_job"

logger = structlog.get_logger(__name__)


def job_message(job_id: UUID) -> Message[None]:
    return Message(
        queue_name=JOB_QUEUE, actor_name=RUN_JOB_ACTOR, args=(str(job_id),), kwargs={}, options={}
    )


def send_now(job_ids: Iterable[UUID]) -> None:
    """Enqueue one message per job; blocking, so call it from a thread."""
    broker = dramatiq.get_broker()
    for job_id in job_ids:
        broker.enqueue(job_message(job_id))


async def send_jobs(job_ids: list[UUID]) -> bool:
    """Enqueue messages for committed jobs; False when the broker refused.

    A failure here loses nothing: the rows are committed as `pending`, and
    maintenance sends their messages again once they are older than
    JOB_RESEND_AFTER_S.
    """
    try:
        await anyio.to_thread.run_sync(send_now, job_ids)
    except Exception as exc:
        logger.warning(
            "job message not sent; maintenance will resend it",
            jobs=len(job_ids),
            error=type(exc).__name__,
        )
        return False

    return True
