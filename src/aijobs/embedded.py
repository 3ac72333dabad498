"""Embedded mode: the worker and the maintenance schedule inside the API process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import anyio.to_thread
import dramatiq
import structlog

from aijobs.admin.maintenance import resend_lost_messages, resend_pending_webhooks
from aijobs.resources import session_scope
from aijobs.settings import Settings

logger = structlog.get_logger(__name__)

#: How long shutdown waits for in-process worker threads, in milliseconds.
WORKER_STOP_TIMEOUT_MS = 10_000


async def _send_maintenance_forever(broker: dramatiq.Broker, interval_s: float) -> None:
    maintenance = broker.get_actor("maintenance")
    while True:
        await asyncio.sleep(interval_s)
        try:
            await anyio.to_thread.run_sync(maintenance.send)
        except Exception:
            logger.exception("maintenance message not sent")


@contextlib.asynccontextmanager
async def embedded_worker(settings: Settings, broker: dramatiq.Broker) -> AsyncIterator[None]:
    """Run a Dramatiq worker and the maintenance ticker for the app's lifetime."""
    worker = dramatiq.Worker(broker, worker_threads=settings.worker_threads, worker_timeout=100)
    worker.start()

    # The in-memory broker forgot every message when the last process ended,
    # so every pending job needs its message again, whatever its age, and so
    # does every pending webhook that is not waiting out a retry's backoff.
    async with session_scope() as session:
        await resend_lost_messages(session, settings, stale_after_s=0)
        await resend_pending_webhooks(session, settings, stale_after_s=0)

    ticker = asyncio.create_task(_send_maintenance_forever(broker, settings.maintenance_interval_s))
    logger.info("embedded worker started", threads=settings.worker_threads)
    try:
        yield
    finally:
        ticker.cancel()
        await anyio.to_thread.run_sync(lambda: worker.stop(timeout=WORKER_STOP_TIMEOUT_MS))
        logger.info("embedded worker stopped")
