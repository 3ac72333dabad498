"""The broker's figures as gauges, refreshed from the broker probe at each scrape."""

from __future__ import annotations

import asyncio
import math

import structlog
from prometheus_client import Gauge

from aijobs.admin.broker_probe import BrokerProbe

#: How long a scrape waits for the broker, in seconds.
PROBE_TIMEOUT_S = 2.0

QUEUE_DEPTH = Gauge(
    "aijobs_queue_depth",
    "Job messages waiting in the broker, delayed retries included; NaN while it is away.",
    multiprocess_mode="mostrecent",
)
LIVE_WORKERS = Gauge(
    "aijobs_workers_live",
    "Worker processes that beat recently; NaN while the broker is away.",
    multiprocess_mode="mostrecent",
)

logger = structlog.get_logger(__name__)


async def refresh_broker_gauges(probe: BrokerProbe) -> None:
    """Read queue depth and live workers; a broker that is away reads as NaN."""
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            depth = await probe.queue_depth()
            workers = await probe.live_workers()
    except Exception as exc:
        logger.debug("broker figures unavailable for metrics", error=type(exc).__name__)
        QUEUE_DEPTH.set(math.nan)
        LIVE_WORKERS.set(math.nan)
        return

    QUEUE_DEPTH.set(depth)
    LIVE_WORKERS.set(workers)
