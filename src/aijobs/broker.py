"""The Dramatiq broker and its middleware, built in one place for every process.

Dramatiq's defaults suit short tasks, not long AI jobs, so every option is
set here from the settings. Recovery of a dead worker's job is decided by
the job row's lease and our own maintenance, not by the Redis broker's
heartbeat timeout, which only returns unacked messages to the queue.
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import (
    AgeLimit,
    AsyncIO,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)
from periodiq import PeriodiqMiddleware

from aijobs.broker_pipeline import serve
from aijobs.jobs.middleware import FailJobWhenMessageDies
from aijobs.metrics.worker import WorkerMetrics
from aijobs.settings import Settings

#: Deliveries of one message that Dramatiq allows at most. The job row's own
#: retry budget (JOB_MAX_RETRIES) decides first; this bounds the redelivery of
#: a message whose claim failed because the database was away.
MAX_MESSAGE_RETRIES = 100
#: Grace beyond JOB_TIME_LIMIT_S before Dramatiq's TimeLimit interrupts a
#: handler; the runner's own limit fires first, this is the backstop.
TIME_LIMIT_GRACE_S = 30
#: A periodic maintenance message older than this is skipped, in seconds.
PERIODIC_SKIP_AFTER_S = 30
#: Redis broker heartbeat: after this long without one, a worker's unacked
#: messages are requeued by Redis maintenance. Jobs do not wait on it.
REDIS_HEARTBEAT_TIMEOUT_MS = 60_000
#: How long failed messages stay in Redis's dead-letter queue, in ms.
REDIS_DEAD_MESSAGE_TTL_MS = 7 * 24 * 3600 * 1000


def should_retry(retries: int, exception: BaseException) -> bool:
    """Only an explicit Retry from the runner is redelivered: the row decides."""
    return isinstance(exception, dramatiq.Retry) and retries < MAX_MESSAGE_RETRIES


def build_middleware(settings: Settings) -> list[dramatiq.Middleware]:
    return [
        # First in the list so that it runs after Retries has decided.
        FailJobWhenMessageDies(),
        AgeLimit(max_age=int(settings.job_max_age_s * 1000)),
        TimeLimit(
            time_limit=int((settings.job_time_limit_s + TIME_LIMIT_GRACE_S) * 1000),
            interval=1000,
        ),
        ShutdownNotifications(),
        Retries(
            max_retries=MAX_MESSAGE_RETRIES,
            min_backoff=settings.job_min_backoff_ms,
            max_backoff=settings.job_max_backoff_ms,
            retry_when=should_retry,
        ),
        AsyncIO(),
        PeriodiqMiddleware(skip_delay=PERIODIC_SKIP_AFTER_S),
        # Last: it measures only the messages that no middleware skipped.
        WorkerMetrics(),
    ]


def build_broker(settings: Settings) -> dramatiq.Broker:
    """Redis when REDIS_URL is set, else the in-memory broker of embedded mode."""
    middleware = build_middleware(settings)
    broker: dramatiq.Broker
    if settings.redis_url:
        broker = RedisBroker(  # type: ignore[no-untyped-call] # dramatiq is partly typed
            url=settings.redis_url,
            middleware=middleware,
            namespace=settings.redis_namespace,
            heartbeat_timeout=REDIS_HEARTBEAT_TIMEOUT_MS,
            dead_message_ttl=REDIS_DEAD_MESSAGE_TTL_MS,
        )
        serve(broker, settings.redis_url)
    else:
        broker = StubBroker(middleware=middleware)

    dramatiq.set_broker(broker)
    return broker


_broker: dramatiq.Broker | None = None


def setup_broker(
    settings: Settings, extra: list[dramatiq.Middleware] | None = None
) -> dramatiq.Broker:
    """Build the broker and register every actor on it; once per process.

    Actors bind to the broker that is current when their module is imported,
    so a second call returns the first broker instead of building another.
    """
    global _broker
    if _broker is not None:
        return _broker

    _broker = build_broker(settings)
    for middleware in extra or []:
        _broker.add_middleware(middleware)

    import aijobs.actors  # noqa: F401 - registers the actors on the broker

    return _broker
