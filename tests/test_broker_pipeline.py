"""Messages sent through the pipelined sender are the ones Dramatiq's own consumer reads."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker

from aijobs.broker_pipeline import PipelinedSender, sender_for
from tests.conftest import TEST_REDIS_URL

pytestmark = pytest.mark.usefixtures("services")

QUEUE = "jobs"


@pytest.fixture
def broker() -> Iterator[RedisBroker]:
    """A broker of its own namespace, so no other test's worker takes these messages."""
    namespace = f"aijobs-test-pipeline-{os.getpid()}"
    broker = RedisBroker(url=TEST_REDIS_URL, namespace=namespace)  # type: ignore[no-untyped-call]
    broker.declare_queue(QUEUE)
    yield broker
    for key in broker.client.scan_iter(match=f"{namespace}:*"):
        broker.client.delete(key)
    broker.close()


def message(job: str) -> Message[Any]:
    return Message(queue_name=QUEUE, actor_name="run_job", args=(job,), kwargs={}, options={})


def consume(broker: RedisBroker, expected: int) -> list[Any]:
    """Read `expected` messages with Dramatiq's consumer, acking each."""
    consumer = broker.consume(QUEUE, prefetch=100, timeout=100)
    read: list[Any] = []
    deadline = time.monotonic() + 5
    while len(read) < expected and time.monotonic() < deadline:
        proxy = next(consumer)
        if proxy is not None:
            consumer.ack(proxy)
            read.append(proxy)
    consumer.close()
    return read


async def test_a_whole_list_arrives_as_dramatiq_messages(broker: RedisBroker) -> None:
    sender = PipelinedSender(broker, TEST_REDIS_URL)
    sent = [message(f"job-{n}") for n in range(25)]

    await sender.send(sent)
    await sender.close()

    read = consume(broker, len(sent))
    assert sorted(proxy.args[0] for proxy in read) == sorted(m.args[0] for m in sent)
    assert {proxy.actor_name for proxy in read} == {"run_job"}
    # Every delivery has its own Redis id, as `broker.enqueue` gives it.
    assert len({proxy.options["redis_message_id"] for proxy in read}) == len(sent)


async def test_a_redis_that_forgot_its_scripts_still_takes_the_messages(
    broker: RedisBroker,
) -> None:
    sender = PipelinedSender(broker, TEST_REDIS_URL)
    await sender.send([message("before")])
    redis.Redis.from_url(TEST_REDIS_URL).script_flush()

    await sender.send([message("after a restart")])
    await sender.close()

    assert sorted(proxy.args[0] for proxy in consume(broker, 2)) == ["after a restart", "before"]


async def test_an_unreachable_redis_fails_the_send_at_once(
    broker: RedisBroker, unused_tcp_port: int
) -> None:
    sender = PipelinedSender(broker, f"redis://127.0.0.1:{unused_tcp_port}/0")
    started = time.monotonic()

    with pytest.raises(redis.ConnectionError):
        await sender.send([message("lost")])
    await sender.close()

    assert time.monotonic() - started < 5


async def test_only_the_broker_built_from_the_settings_is_pipelined(broker: RedisBroker) -> None:
    from aijobs.broker import setup_broker
    from aijobs.settings import get_settings

    configured = setup_broker(get_settings())

    assert sender_for(configured) is not None
    assert sender_for(broker) is None
