"""Run one delivery of a job message: claim, heartbeat, handler, outcome.

The row decides everything: a delivery that cannot claim the row does
nothing, and every outcome is a fenced write that a taken-over attempt
cannot make. Dramatiq only carries the wake-up call and the delayed retry.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any
from uuid import UUID

import msgspec
import structlog
from dramatiq import Retry

from aijobs.jobs import repository
from aijobs.jobs.context import RunningJob
from aijobs.jobs.errors import JobCanceled, LeaseLost, PermanentJobError
from aijobs.jobs.models import JobStatus
from aijobs.jobs.outcomes import backoff_ms, describe, is_transient
from aijobs.jobs.registry import JobInput, JobKind, get_kind
from aijobs.jobs.repository import Claim, utcnow
from aijobs.jobs.write_groups import claim_job, complete_job
from aijobs.metrics.jobs import record_attempt_end, record_job_started
from aijobs.resources import autocommit_scope, worker_id
from aijobs.settings import Settings, get_settings
from aijobs.webhooks.dispatch import send_webhooks

logger = structlog.get_logger(__name__)

#: Heartbeats per lease period; three leave room for two missed beats.
BEATS_PER_LEASE = 3


class TimeLimitHit(Exception):
    """The handler ran past JOB_TIME_LIMIT_S."""


async def run_job(job_id: UUID) -> None:
    """Process one message for `job_id`; raise Retry to have Dramatiq deliver it again."""
    settings = get_settings()
    try:
        claim = await claim_job(job_id, lease_s=settings.job_lease_s, worker_id=worker_id())
    except Exception as exc:
        if not is_transient(exc):
            raise

        logger.warning("job claim failed; retrying", job_id=str(job_id), error=describe(exc))
        raise Retry(delay=backoff_ms(settings, 0)) from exc

    if claim is None:
        logger.debug("job not claimable; message ignored", job_id=str(job_id))
        return

    logger.info(
        "job started", job_id=str(job_id), status=JobStatus.PROCESSING, attempt=claim.attempt
    )
    record_job_started(claim.kind)
    await _run_claimed(settings, claim)


async def _run_claimed(settings: Settings, claim: Claim) -> None:
    started = time.monotonic()
    ctx = RunningJob(claim.job_id, claim.attempt, cancel_requested=claim.cancel_requested)
    try:
        result = await _execute(settings, claim, ctx)
    except JobCanceled:
        await _settle(settings, claim, started, JobStatus.CANCELED, progress_message="canceled")
    except LeaseLost:
        logger.warning(
            "job lease lost; attempt abandoned", job_id=str(claim.job_id), attempt=claim.attempt
        )
    except TimeLimitHit:
        reason = f"time limit of {settings.job_time_limit_s:g} s exceeded"
        await _settle(settings, claim, started, JobStatus.FAILED, error_message=reason)
    except PermanentJobError as exc:
        await _settle(settings, claim, started, JobStatus.FAILED, error_message=exc.reason)
    except Exception as exc:
        if is_transient(exc):
            await _retry_or_fail(settings, claim, started, exc)
            return

        logger.exception("job handler crashed", job_id=str(claim.job_id), attempt=claim.attempt)
        reason = f"internal error: {describe(exc)}"
        await _settle(settings, claim, started, JobStatus.FAILED, error_message=reason)
    else:
        await _settle(settings, claim, started, JobStatus.COMPLETED, result=result, usage=ctx.usage)


async def _execute(settings: Settings, claim: Claim, ctx: RunningJob) -> dict[str, Any]:
    """Run the kind's handler under the time limit, with the lease heartbeat beside it.

    The handler runs in this task, not in one of its own, and the heartbeat waits
    on a timer: for short jobs, two tasks made, scheduled and cancelled per job
    were a visible share of the event loop that all of a process's jobs share.
    """
    if claim.cancel_requested:
        raise JobCanceled()

    kind = get_kind(claim.kind)
    if kind is None:
        raise PermanentJobError(f"unknown job kind {claim.kind!r}")

    job_input = _job_input(kind, claim)
    heartbeat = _Heartbeat(settings, ctx)
    try:
        async with asyncio.timeout(settings.job_time_limit_s) as deadline:
            return await kind.handler(ctx, job_input)
    except asyncio.CancelledError:
        if ctx.lease_lost:
            # The heartbeat's own cancel: undo it so that later timeouts in this task work.
            heartbeat.task.uncancel()
            raise LeaseLost() from None
        raise
    except TimeoutError:
        if deadline.expired():
            raise TimeLimitHit() from None
        raise
    finally:
        heartbeat.stop()


def _job_input(kind: JobKind, claim: Claim) -> JobInput:
    try:
        params = msgspec.convert(claim.params, kind.params_type)
    except msgspec.ValidationError as exc:
        raise PermanentJobError(f"params: {exc}") from exc

    return JobInput(claim.input_text, claim.input_file_path, params)


class _Heartbeat:
    """Renew the lease every third of it; cancel the job's task if the lease was taken over.

    A timer, not a sleeping task, waits between beats: most jobs end before the first.
    """

    def __init__(self, settings: Settings, ctx: RunningJob) -> None:
        self.settings = settings
        self.ctx = ctx
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a job runs inside an asyncio task")

        self.task = task
        self.interval = settings.job_lease_s / BEATS_PER_LEASE
        self.loop = asyncio.get_running_loop()
        self.timer: asyncio.TimerHandle | None = self.loop.call_later(self.interval, self._beat)
        self.renewal: asyncio.Task[None] | None = None

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.renewal is not None:
            self.renewal.cancel()

    def _beat(self) -> None:
        self.renewal = self.loop.create_task(self._renew())

    async def _renew(self) -> None:
        ctx = self.ctx
        try:
            async with autocommit_scope() as connection:
                cancel = await repository.renew_lease(
                    connection, ctx.job_id, ctx.attempt, lease_s=self.settings.job_lease_s
                )
        except Exception as exc:
            # A missed beat is survivable; the lease is sized for two of them.
            logger.warning("lease renewal failed", job_id=str(ctx.job_id), error=describe(exc))
            cancel = False

        if cancel is None:
            ctx.lease_lost = True
            self.timer = None
            self.task.cancel()
            return

        if cancel:
            ctx.cancel_requested = True
        self.timer = self.loop.call_later(self.interval, self._beat)


async def _retry_or_fail(
    settings: Settings, claim: Claim, started: float, exc: BaseException
) -> None:
    """Give the job back for a delayed retry, or fail it when the budget is spent."""
    used = claim.attempt - claim.attempts_floor
    reason = describe(exc)
    if used > settings.job_max_retries:
        message = f"gave up after {used} attempts: {reason}"
        await _settle(settings, claim, started, JobStatus.FAILED, error_message=message)
        return

    delay = backoff_ms(settings, used - 1, exc)
    await _settle(
        settings,
        claim,
        started,
        JobStatus.PENDING,
        error_message=f"attempt {claim.attempt} failed: {reason}; retrying in {delay} ms",
        # Maintenance resends pending jobs by message age; the retry is not late yet.
        enqueued_at=utcnow() + timedelta(milliseconds=delay),
        worker_id=None,
    )
    raise Retry(delay=delay) from exc


async def _settle(
    settings: Settings, claim: Claim, started: float, status: JobStatus, **values: Any
) -> None:
    """Write the attempt's outcome; if the database is away, come back after the lease.

    A completion sets `result` and `usage`, and no other values.
    """
    try:
        finished = await _write_outcome(claim, status, values)
    except Exception as exc:
        if not is_transient(exc):
            raise

        # The row still holds our lease; retrying after it expires lets the
        # next delivery (or maintenance) claim the job again.
        delay = max(backoff_ms(settings, 0), int(settings.job_lease_s * 1000))
        logger.warning(
            "job outcome not saved; retrying",
            job_id=str(claim.job_id),
            attempt=claim.attempt,
            error=describe(exc),
        )
        raise Retry(delay=delay) from exc

    duration_ms = int((time.monotonic() - started) * 1000)
    if finished is None:
        logger.warning(
            "job outcome discarded; attempt was fenced out",
            job_id=str(claim.job_id),
            attempt=claim.attempt,
            status=status,
        )
        return

    record_attempt_end(claim.kind, status, duration_ms / 1000)
    logger.info(
        f"job {status}" if status != JobStatus.PENDING else "job retry scheduled",
        job_id=str(claim.job_id),
        status=status,
        attempt=claim.attempt,
        duration_ms=duration_ms,
        error=values.get("error_message"),
    )
    if finished.webhook_due:
        await send_webhooks([claim.job_id])


async def _write_outcome(
    claim: Claim, status: JobStatus, values: dict[str, Any]
) -> repository.Finished | None:
    if status == JobStatus.COMPLETED:
        return await complete_job(claim.job_id, claim.attempt, **values)

    async with autocommit_scope() as connection:
        return await repository.finish(
            connection, claim.job_id, claim.attempt, status=status, **values
        )
