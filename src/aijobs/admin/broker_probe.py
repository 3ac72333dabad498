"""Read-only views of the broker for stats and readiness, without blocking the loop."""

from __future__ import annotations

from typing import Protocol

import dramatiq
import redis.asyncio
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import dq_name

from aijobs.admin.presence import count_live_workers
from aijobs.jobs.dispatch import JOB_QUEUE
from aijobs.settings import Settings


class BrokerProbe(Protocol):
    async def ping(self) -> None:
        """Raise if the broker does not answer."""

    async def queue_depth(self) -> int:
        """Job messages waiting, including delayed retries."""

    async def live_workers(self) -> int:
        """Worker processes currently alive."""

    async def close(self) -> None: ...


class RedisProbe:
    def __init__(self, url: str, namespace: str) -> None:
        self.client = redis.asyncio.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        self.namespace = namespace

    async def ping(self) -> None:
        await self.client.ping()

    async def queue_depth(self) -> int:
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.llen(f"{self.namespace}:{JOB_QUEUE}")
            pipe.llen(f"{self.namespace}:{dq_name(JOB_QUEUE)}")
            ready, delayed = await pipe.execute()
        return int(ready) + int(delayed)

    async def live_workers(self) -> int:
        return await count_live_workers(self.client, self.namespace)

    async def close(self) -> None:
        await self.client.aclose()


class InMemoryProbe:
    """Embedded mode: the broker lives in this process, with one worker."""

    def __init__(self, broker: StubBroker) -> None:
        self.broker = broker

    async def ping(self) -> None:
        return None

    async def queue_depth(self) -> int:
        return sum(
            self.broker.queues[name].qsize()
            for name in (JOB_QUEUE, dq_name(JOB_QUEUE))
            if name in self.broker.queues
        )

    async def live_workers(self) -> int:
        return 1

    async def close(self) -> None:
        return None


def probe_for(broker: dramatiq.Broker, settings: Settings) -> BrokerProbe:
    if isinstance(broker, StubBroker) or not settings.redis_url:
        assert isinstance(broker, StubBroker)
        return InMemoryProbe(broker)

    return RedisProbe(settings.redis_url, settings.redis_namespace)
