"""The scheduler rides out a broker outage instead of exiting."""

from __future__ import annotations

import dramatiq
import pendulum
import pytest
from dramatiq.brokers.redis import RedisBroker
from periodiq import PeriodiqMiddleware, Scheduler, cron
from redis.exceptions import ConnectionError as RedisConnectionError
from structlog.testing import capture_logs

from aijobs.scheduler import OutageProofScheduler
from tests.conftest import TEST_NAMESPACE, TEST_REDIS_URL


def periodic_actor(url: str, namespace: str) -> dramatiq.Actor:  # type: ignore[type-arg]
    broker = RedisBroker(url=url, namespace=namespace, middleware=[PeriodiqMiddleware()])

    def tick() -> None:
        """Never run here; only sent."""

    return dramatiq.actor(tick, broker=broker, actor_name="tick", periodic=cron("* * * * *"))


def test_a_tick_that_cannot_reach_redis_is_logged_and_skipped() -> None:
    actor = periodic_actor("redis://127.0.0.1:1/0", "aijobs-unreachable")

    with capture_logs() as logs:
        OutageProofScheduler([actor]).send_actors([actor], now=pendulum.now())

    assert [(log["event"], log["actor"]) for log in logs] == [
        ("periodic message not sent; broker unavailable", "tick")
    ]
    with pytest.raises(RedisConnectionError):
        Scheduler([actor]).send_actors([actor], now=pendulum.now())


@pytest.mark.usefixtures("services")
def test_a_tick_with_redis_up_sends_the_message() -> None:
    namespace = f"{TEST_NAMESPACE}-scheduler"
    actor = periodic_actor(TEST_REDIS_URL, namespace)
    queue = f"{namespace}:{actor.queue_name}"
    actor.broker.client.delete(queue)

    OutageProofScheduler([actor]).send_actors([actor], now=pendulum.now())

    assert actor.broker.client.llen(queue) == 1
    actor.broker.client.delete(queue, f"{queue}.msgs")
