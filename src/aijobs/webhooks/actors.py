"""The Dramatiq actor that delivers webhooks, on a queue of its own."""

from __future__ import annotations

from uuid import UUID

import dramatiq

from aijobs.broker import should_retry
from aijobs.webhooks import delivery
from aijobs.webhooks.dispatch import DELIVER_WEBHOOK_ACTOR, WEBHOOK_QUEUE

#: Dramatiq's backstop on one delivery, in ms: the longest WEBHOOK_TIMEOUT_S
#: the settings accept (120 s), plus the in-flight grace.
TIME_LIMIT_MS = (120 + delivery.IN_FLIGHT_GRACE_S) * 1000


@dramatiq.actor(
    actor_name=DELIVER_WEBHOOK_ACTOR,
    queue_name=WEBHOOK_QUEUE,
    # The delivery rows bound the attempts (WEBHOOK_MAX_ATTEMPTS, at most 50);
    # Dramatiq's own count (MAX_MESSAGE_RETRIES, 100) only ends the retries of
    # a database outage, and would never cut the budget short.
    retry_when=should_retry,
    # No age limit: a chain of retries may wait out hours of backoff.
    max_age=None,
    time_limit=TIME_LIMIT_MS,
)
async def deliver_webhook(job_id: str) -> None:
    """Make one delivery attempt of the job's webhook."""
    await delivery.deliver(UUID(job_id))
