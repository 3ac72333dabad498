"""Sending wake-up messages for jobs without blocking the event loop.

Over Redis, a whole list goes in one pipelined round trip; the in-memory
broker of embedded mode takes them one by one on a thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import anyio.to_thread
import dramatiq
import structlog
from dramatiq import Message

from aijobs.broker_pipeline import sender_for

#: The queue job messages travel on.
JOB_QUEUE = "jobs"
#: The actor that runs a job.
RUN_JOB_ACTOR = "run_job"

logger = structlog.get_logger(__name__)


def job_message(job_id: UUID) -> Message[None]:
    return Message(
        queue_name=JOB_QUEUE, actor_name=RUN_JOB_ACTOR, args=(str(job_id),), kwargs={}, options={}
    )


def send_now(messages: Iterable[Message[None]]) -> None:
    """Enqueue `messages`; blocking, so call it from a thread."""
    broker = dramatiq.get_broker()
    for message in messages:
        broker.enqueue(message)


async def send_messages(messages: list[Message[None]], what: str) -> bool:
    """Enqueue wake-up messages for committed rows; False when the broker refused.

    A failure here loses nothing: the rows are committed, and maintenance
    sends their messages again once they are late (JOB_RESEND_AFTER_S).
    """
    # The pipeline serves the broker built from the settings; any other
    # (the in-memory one of embedded mode) sends through its own enqueue.
    sender = sender_for(dramatiq.get_broker())
    try:
        if sender is not None:
            await sender.send(messages)
        else:
            await anyio.to_thread.run_sync(send_now, messages)
    except Exception as exc:
        logger.warning(
            f"{what} message not sent; maintenance will resend it",
            messages=len(messages),
            error=type(exc).__name__,
        )
        return False

    return True


async def send_jobs(job_ids: list[UUID]) -> bool:
    """Enqueue one run_job message per committed job; False when the broker refused."""
    return await send_messages([job_message(job_id) for job_id in job_ids], "job")
