"""Dramatiq middleware for worker metrics: queue wait, message outcomes, the exposition.

Every process that builds the broker carries it, but only processes that run
a Dramatiq Worker (worker groups, and the embedded API) call its hooks.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import structlog
from dramatiq import Broker, Middleware, Retry, Worker
from dramatiq.broker import MessageProxy
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.multiprocess import mark_process_dead

from aijobs.metrics.exposition import serve_worker_metrics
from aijobs.metrics.multiprocess import multiprocess_dir
from aijobs.settings import get_settings

#: Buckets of the time a message waited before a worker took it, in seconds.
QUEUE_WAIT_BUCKETS_S = (0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600)

QUEUE_WAIT_SECONDS = Histogram(
    "aijobs_queue_wait_seconds",
    "Time a message waited in its queue (after any retry delay) before a worker took it.",
    ["queue"],
    buckets=QUEUE_WAIT_BUCKETS_S,
)
MESSAGES = Counter(
    "aijobs_worker_messages",
    "Messages a worker finished, by actor and outcome (ok, retry, error, skipped).",
    ["actor", "outcome"],
)
IN_PROGRESS = Gauge(
    "aijobs_worker_messages_in_progress",
    "Messages being processed now, by actor.",
    ["actor"],
    multiprocess_mode="livesum",
)

logger = structlog.get_logger(__name__)


class WorkerMetrics(Middleware):
    """Measure each message a worker takes; serve the group's metrics from a fork."""

    def __init__(self) -> None:
        # A message's before and after hooks run on the same worker thread.
        self._current = threading.local()

    @property
    def forks(self) -> list[Callable[[], int]]:
        if not get_settings().worker_metrics_port:
            return []

        if multiprocess_dir() is None:
            logger.warning("worker metrics not served: start workers with `aijobs worker`")
            return []

        return [serve_worker_metrics]

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        # A retried message waits from its eta, not from its first enqueue.
        ready_ms = max(message.message_timestamp, message.options.get("eta", 0))
        waited_s = max(0.0, time.time() - ready_ms / 1000)
        QUEUE_WAIT_SECONDS.labels(message.queue_name).observe(waited_s)
        IN_PROGRESS.labels(message.actor_name).inc()
        self._current.actor = message.actor_name

    def after_process_message(
        self,
        broker: Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is None:
            outcome = "ok"
        elif isinstance(exception, Retry):
            outcome = "retry"
        else:
            outcome = "error"
        self._finish(message, outcome)

    def after_skip_message(self, broker: Broker, message: MessageProxy) -> None:
        self._finish(message, "skipped")

    def after_worker_shutdown(self, broker: Broker, worker: Worker) -> None:
        directory = multiprocess_dir()
        if directory is not None:
            # Drops this process's live gauges from the group's sums.
            mark_process_dead(os.getpid(), str(directory))  # type: ignore[no-untyped-call]

    def _finish(self, message: MessageProxy, outcome: str) -> None:
        MESSAGES.labels(message.actor_name, outcome).inc()
        # A middleware before this one may have skipped the message before ours ran.
        actor = getattr(self._current, "actor", None)
        if actor is not None:
            IN_PROGRESS.labels(actor).dec()
            self._current.actor = None
