"""Counts, queue depth, throughput and run-time percentiles for the dashboard."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aijobs.admin.broker_probe import BrokerProbe
from aijobs.jobs.models import FINISHED, Job, JobStatus, job_count
from aijobs.jobs.repository import utcnow

#: Window over which throughput and run-time percentiles are measured.
WINDOW = timedelta(minutes=5)
#: Most recent finished jobs that the percentiles are computed over.
PERCENTILE_SAMPLE = 1000


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
    if not sorted_values:
        return None

    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return round(sorted_values[index], 1)


async def _counts(session: AsyncSession) -> dict[str, int]:
    query = select(job_count.c.status, func.sum(job_count.c.n)).group_by(job_count.c.status)
    rows = await session.execute(query)
    counts = {status.value: 0 for status in JobStatus}
    for status, count in rows.all():
        counts[status] = int(count)

    return counts


async def _recent_run_times(session: AsyncSession) -> tuple[int, list[float]]:
    since = utcnow() - WINDOW
    query = (
        select(Job.started_at, Job.finished_at)
        .where(Job.status.in_(FINISHED), Job.finished_at >= since, Job.started_at.is_not(None))
        .order_by(Job.finished_at.desc())
        .limit(PERCENTILE_SAMPLE)
    )
    rows = (await session.execute(query)).all()
    count_query = select(func.count()).where(Job.status.in_(FINISHED), Job.finished_at >= since)
    finished = (await session.execute(count_query)).scalar_one()
    durations = sorted((end - start).total_seconds() * 1000 for start, end in rows)
    return finished, durations


async def collect_stats(session: AsyncSession, probe: BrokerProbe) -> Stats:
    counts = await _counts(session)
    finished, durations = await _recent_run_times(session)
    broker: dict[str, Any] = {"queue_depth": None, "workers": None}
    # Stats stay useful while the broker is away; its figures are then null.
    with contextlib.suppress(Exception):
        broker = {"queue_depth": await probe.queue_depth(), "workers": await probe.live_workers()}

    return Stats(
        **counts,
        total=sum(counts.values()),
        **broker,
        throughput_per_min=round(finished / (WINDOW.total_seconds() / 60), 2),
        run_time_ms=RunTimes(
            p50=_percentile(durations, 0.5),
            p95=_percentile(durations, 0.95),
            p99=_percentile(durations, 0.99),
        ),
    )
