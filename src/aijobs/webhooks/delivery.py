"""One delivery of a job's webhook: claim an attempt, POST it, record what came back.

The attempt is claimed in a short transaction that holds the job row: it
counts this round's attempts (WEBHOOK_MAX_ATTEMPTS is a budget kept in rows,
not in Dramatiq's retry count) and writes the new attempt's row before
anything is sent. The POST runs outside any transaction; a second one
records its answer. A row with neither a status code nor an error is an
attempt in flight: another delivery of the same job that arrives meanwhile
does nothing, and one left behind by a dead worker counts as failed once it
is older than a delivery can take.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar
from uuid import UUID

import structlog
from dramatiq import Retry
from dramatiq.common import compute_backoff
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from aijobs import __version__
from aijobs.auth.secrets import webhook_secret
from aijobs.jobs.outcomes import describe, is_transient
from aijobs.jobs.repository import utcnow
from aijobs.resources import session_scope
from aijobs.settings import Settings, get_settings
from aijobs.webhooks import repository
from aijobs.webhooks.models import WebhookDelivery, WebhookState
from aijobs.webhooks.policy import allowed_networks
from aijobs.webhooks.signing import signed_headers, webhook_body
from aijobs.webhooks.transport import Answer, post

logger = structlog.get_logger(__name__)
T = TypeVar("T")

#: Beyond WEBHOOK_TIMEOUT_S, how long an attempt may stay unrecorded before it
#: counts as interrupted, in seconds; covers the two database round trips.
IN_FLIGHT_GRACE_S = 30
INTERRUPTED = "interrupted: the worker stopped before the answer was recorded"
HEADERS = {"Content-Type": "application/json", "User-Agent": f"aijobs-webhooks/{__version__}"}


@dataclass(frozen=True, slots=True)
class Attempt:
    """A claimed attempt: what to send, and the row that records it."""

    job_id: UUID
    delivery_id: UUID
    number: int
    url: str
    headers: dict[str, str]
    body: bytes


def backoff_ms(settings: Settings, attempt: int) -> int:
    """Exponential backoff with jitter after attempt number `attempt` (1 for the first)."""
    _, delay = compute_backoff(
        attempt - 1,
        factor=settings.webhook_min_backoff_ms,
        max_backoff=settings.webhook_max_backoff_ms,
    )
    return int(delay)


async def deliver(job_id: UUID) -> None:
    """Make the job's next webhook attempt if one is due; raise Retry to schedule the next."""
    settings = get_settings()
    claimed = await _in_session(
        job_id, backoff_ms(settings, 1), lambda session: _claim(session, settings, job_id)
    )
    if claimed is None:
        return

    started = time.monotonic()
    answer = await post(
        claimed.url,
        claimed.headers,
        claimed.body,
        networks=allowed_networks(settings),
        timeout_s=settings.webhook_timeout_s,
    )
    duration_ms = int((time.monotonic() - started) * 1000)

    # Retried after the attempt counts as interrupted, so it is not mistaken for one in flight.
    unrecorded_ms = int((settings.webhook_timeout_s + IN_FLIGHT_GRACE_S) * 1000)
    state = await _in_session(
        job_id,
        unrecorded_ms,
        lambda session: _record(session, settings, claimed, answer, duration_ms),
    )
    _log(claimed, answer, duration_ms, state)
    if state == WebhookState.PENDING:
        raise Retry(delay=backoff_ms(settings, claimed.number))


async def _in_session(
    job_id: UUID, retry_ms: int, work: Callable[[AsyncSession], Awaitable[T]]
) -> T:
    """Run `work` in a session; when the database is away, ask Dramatiq to come back."""
    try:
        async with session_scope() as session:
            return await work(session)
    except Exception as exc:
        if not is_transient(exc):
            raise

        logger.warning(
            "webhook delivery interrupted; retrying", job_id=str(job_id), error=describe(exc)
        )
        raise Retry(delay=retry_ms) from exc


async def _claim(session: AsyncSession, settings: Settings, job_id: UUID) -> Attempt | None:
    """Write the row of the next attempt, if one is due and none is in flight."""
    job = await repository.lock_pending(session, job_id)
    if job is None or job.webhook_url is None or job.finished_at is None:
        await session.commit()
        logger.debug("webhook not pending; message ignored", job_id=str(job_id))
        return None

    now = utcnow()
    in_flight_since = now - timedelta(seconds=settings.webhook_timeout_s + IN_FLIGHT_GRACE_S)
    # A retried job starts a new round at its new finish; earlier rows are history.
    made = await repository.deliveries(session, job.id, since=job.finished_at)
    for unrecorded in (d for d in made if d.status_code is None and d.error is None):
        if unrecorded.created_at > in_flight_since:
            await session.commit()
            logger.debug("webhook attempt in flight; message ignored", job_id=str(job_id))
            return None
        unrecorded.error = INTERRUPTED

    if len(made) >= settings.webhook_max_attempts:
        await repository.settle(session, job.id, WebhookState.FAILED)
        await session.commit()
        logger.warning("webhook failed; attempts spent", job_id=str(job_id), attempts=len(made))
        return None

    number = len(made) + 1
    body = webhook_body(job, number)
    # Dated no earlier than the finish, or a worker whose clock runs behind
    # would leave the attempt out of the round and exceed the budget.
    delivery = WebhookDelivery(
        job_id=job.id,
        attempt=number,
        duration_ms=0,
        delivered=False,
        created_at=max(now, job.finished_at),
    )
    session.add(delivery)
    await session.commit()
    secret = webhook_secret(settings, job.owner_id)
    headers = {**HEADERS, **signed_headers(secret, str(job.id), body)}
    return Attempt(job.id, delivery.id, number, job.webhook_url, headers, body)


async def _record(
    session: AsyncSession, settings: Settings, attempt: Attempt, answer: Answer, duration_ms: int
) -> WebhookState:
    """Save the attempt's answer; the webhook's state after it."""
    statement = (
        update(WebhookDelivery)
        .where(WebhookDelivery.id == attempt.delivery_id)
        .values(
            status_code=answer.status_code,
            error=None if answer.error is None else answer.error[:500],
            duration_ms=duration_ms,
            delivered=answer.delivered,
            updated_at=utcnow(),
        )
    )
    await session.execute(statement)

    state = WebhookState.PENDING
    if answer.delivered:
        state = WebhookState.DELIVERED
    elif attempt.number >= settings.webhook_max_attempts:
        state = WebhookState.FAILED
    if state != WebhookState.PENDING:
        await repository.settle(session, attempt.job_id, state)
    await session.commit()
    return state


def _log(attempt: Attempt, answer: Answer, duration_ms: int, state: WebhookState) -> None:
    facts = {
        "job_id": str(attempt.job_id),
        "webhook_attempt": attempt.number,
        "status_code": answer.status_code,
        "error": answer.error,
        "duration_ms": duration_ms,
        "webhook_state": state,
    }
    if state == WebhookState.DELIVERED:
        logger.info("webhook delivered", **facts)
    elif state == WebhookState.PENDING:
        logger.info("webhook attempt failed; retrying", **facts)
    else:
        logger.warning("webhook failed; attempts spent", **facts)
