"""Starting a webhook: mark it pending as the job ends, then send its message.

Every UPDATE that moves a job to a final state also sets `webhook_state` to
`pending` when the job has a `webhook_url`, so the row records the duty in
the same write; the message sent after the commit is only the wake-up call,
and maintenance sends it again if it is lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from dramatiq import Message
from sqlalchemy import case, literal

from aijobs.jobs.dispatch import send_messages
from aijobs.jobs.models import Job
from aijobs.webhooks.models import WebhookState

#: The queue webhook messages travel on, apart from the job backlog.
WEBHOOK_QUEUE = "webhooks"
#: The actor that delivers a job's webhook.
DELIVER_WEBHOOK_ACTOR = "deliver_webhook"


def pending_if_subscribed() -> Any:
    """`webhook_state` for a job entering a final state: pending if it has a URL, else NULL."""
    return case((Job.webhook_url.is_not(None), literal(WebhookState.PENDING.value)), else_=None)


def webhook_message(job_id: UUID) -> Message[None]:
    return Message(
        queue_name=WEBHOOK_QUEUE,
        actor_name=DELIVER_WEBHOOK_ACTOR,
        args=(str(job_id),),
        kwargs={},
        options={},
    )


def due(states: Iterable[tuple[UUID, str | None]]) -> list[UUID]:
    """The job ids among (id, webhook_state) pairs whose webhook is pending."""
    return [job_id for job_id, state in states if state == WebhookState.PENDING]


async def send_webhooks(job_ids: list[UUID]) -> bool:
    """Enqueue one delivery message per job; False when the broker refused."""
    if not job_ids:
        return True

    return await send_messages([webhook_message(job_id) for job_id in job_ids], "webhook")
