"""Which worker processes are alive, from a heartbeat each one writes to Redis.

Dramatiq's own heartbeat set also holds every process that merely sends
messages (the API), so it cannot count workers; this one is written only by
processes that run a Dramatiq Worker.
"""

from __future__ import annotations

import contextlib
import threading
import time

import redis
import structlog
from dramatiq import Broker, Middleware, Worker

from aijobs.resources import worker_id

#: Sorted set (after the namespace) of worker id -> last heartbeat, in seconds.
PRESENCE_KEY = "workers"
#: Seconds between two heartbeats of a worker process.
BEAT_S = 5.0
#: A worker silent for this long is counted as gone, in seconds.
ALIVE_FOR_S = 3 * BEAT_S

logger = structlog.get_logger(__name__)


class WorkerPresence(Middleware):
    """Beat into the presence set while this process runs a Dramatiq worker."""

    def __init__(self, redis_url: str, namespace: str) -> None:
        self.client = redis.Redis.from_url(redis_url)
        self.key = presence_key(namespace)
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def after_worker_boot(self, broker: Broker, worker: Worker) -> None:
        self.thread = threading.Thread(target=self._beat, name="aijobs-presence", daemon=True)
        self.thread.start()

    def before_worker_shutdown(self, broker: Broker, worker: Worker) -> None:
        self.stop.set()
        with contextlib.suppress(redis.RedisError):
            self.client.zrem(self.key, worker_id())

    def _beat(self) -> None:
        while not self.stop.is_set():
            try:
                self.client.zadd(self.key, {worker_id(): time.time()})
            except redis.RedisError as exc:
                logger.debug("worker heartbeat failed", error=type(exc).__name__)
            self.stop.wait(BEAT_S)


def presence_key(namespace: str) -> str:
    return f"{namespace}:{PRESENCE_KEY}"


async def count_live_workers(client: redis.asyncio.Redis, namespace: str) -> int:
    """Worker processes that beat within ALIVE_FOR_S."""
    now = time.time()
    key = presence_key(namespace)
    await client.zremrangebyscore(key, 0, now - 24 * 3600)
    return int(await client.zcount(key, now - ALIVE_FOR_S, "+inf"))
