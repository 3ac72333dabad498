"""Counts, queue depth, throughput and run-time percentiles for the dashboard."""

from __future__ import annotations

import contextlib
import math
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import Subquery, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aijobs.admin.broker_probe import BrokerProbe
from aijobs.jobs.models import FINISHED, Job, JobStatus, job_count
from aijobs.jobs.repository import utcnow

#: Window over which throughput and run-time percentiles are measured.
WINDOW = timedelta(minutes=5)
#: Most recent finished jobs that the percentiles are computed over.
PERCENTILE_SAMPLE = 1000
#: The run-time percentiles reported, as fractions.
FRACTIONS = (0.5, 0.95, 0.99)


class RunTimes(msgspec.Struct):
    p50: float | None
    p95: float | None
    p99: float | None


class Stats(msgspec.Struct):
    pending: int
    processing: int
    completed: int
    failed: int
    canceled: int
    total: int
    queue_depth: int | None
    workers: int | None
    throughput_per_min: float
    run_time_ms: RunTimes


def _percentile(sorted_values: list[float], fraction: float) -> float | None:
    """The smallest value with at least `fraction` of the values at or below it.

    The same value PostgreSQL's percentile_disc gives, so both databases agree.
    """
    if not sorted_values:
        return None

    index = max(0, math.ceil(fraction * len(sorted_values)) - 1)
    return round(sorted_values[index], 1)


async def _counts(session: AsyncSession) -> dict[str, int]:
    query = select(job_count.c.status, func.sum(job_count.c.n)).group_by(job_count.c.status)
    rows = await session.execute(query)
    counts = {status.value: 0 for status in JobStatus}
    for status, count in rows.all():
        counts[status] = int(count)

    return counts


def _recent_finished(since: datetime) -> Subquery:
    """The latest PERCENTILE_SAMPLE jobs finished since `since`: the cost stays bounded."""
    return (
        select(Job.started_at, Job.finished_at)
        .where(Job.status.in_(FINISHED), Job.finished_at >= since)
        .order_by(Job.finished_at.desc())
        .limit(PERCENTILE_SAMPLE)
        .subquery()
    )


def _per_minute(finished: int, oldest: datetime | None, now: datetime) -> float:
    """Finished jobs per minute over the window, or over the sample when it fills first."""
    if finished < PERCENTILE_SAMPLE or oldest is None:
        return round(finished / (WINDOW.total_seconds() / 60), 2)

    # The window holds more jobs than the sample: counting them all would cost
    # more as the platform gets busier, so the rate is read off the sample.
    spanned_s = max((now - oldest).total_seconds(), 1.0)
    return round(finished * 60 / spanned_s, 2)


async def _recent_postgresql(session: AsyncSession, now: datetime) -> tuple[float, RunTimes]:
    recent = _recent_finished(now - WINDOW)
    # Null for a job canceled before it started; percentile_disc skips nulls.
    run_ms = func.extract("epoch", recent.c.finished_at - recent.c.started_at) * 1000
    query = select(
        func.count(),
        func.min(recent.c.finished_at),
        *(func.percentile_disc(fraction).within_group(run_ms) for fraction in FRACTIONS),
    )
    finished, oldest, *percentiles = (await session.execute(query)).one()
    run_times = RunTimes(
        *(None if value is None else round(float(value), 1) for value in percentiles)
    )
    return _per_minute(finished, oldest, now), run_times


async def _recent_elsewhere(session: AsyncSession, now: datetime) -> tuple[float, RunTimes]:
    recent = _recent_finished(now - WINDOW)
    rows = (await session.execute(select(recent.c.started_at, recent.c.finished_at))).all()
    durations = sorted(
        (end - start).total_seconds() * 1000 for start, end in rows if start is not None
    )
    oldest = min((end for _, end in rows), default=None)
    run_times = RunTimes(*(_percentile(durations, fraction) for fraction in FRACTIONS))
    return _per_minute(len(rows), oldest, now), run_times


async def _recent(session: AsyncSession) -> tuple[float, RunTimes]:
    """Throughput per minute and run-time percentiles of recently finished jobs."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        # Percentiles in the database: a row back instead of a thousand to decode.
        return await _recent_postgresql(session, utcnow())

    return await _recent_elsewhere(session, utcnow())


async def collect_stats(session: AsyncSession, probe: BrokerProbe) -> Stats:
    counts = await _counts(session)
    throughput_per_min, run_times = await _recent(session)
    broker: dict[str, Any] = {"queue_depth": None, "workers": None}
    # Stats stay useful while the broker is away; its figures are then null.
    with contextlib.suppress(Exception):
        broker = {"queue_depth": await probe.queue_depth(), "workers": await probe.live_workers()}

    return Stats(
        **counts,
        total=sum(counts.values()),
        **broker,
        throughput_per_min=throughput_per_min,
        run_time_ms=run_times,
    )
