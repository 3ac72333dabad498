"""Enqueue many Dramatiq messages in one Redis round trip, from async code.

`RedisBroker.enqueue` is blocking and costs one round trip per message; an
API answering thousands of submits a second would spend its time handing
those calls to threads, and the threads would fight the event loop for the
GIL. This sender runs the broker's own dispatch script, with the arguments
the broker gives it, over an asyncio Redis client and a pipeline, so that a
message sent here is the same message in Redis as one sent by `enqueue`.
The argument list follows Dramatiq 2.2's Redis broker; the tests consume
what it sends with real Dramatiq workers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any
from uuid import uuid4

import anyio.to_thread
import redis.asyncio
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import current_millis
from redis.exceptions import NoScriptError

#: How long connecting to Redis and each reply may take, in seconds: a frozen
#: Redis must fail the send, not hang the request that waits on it.
CONNECT_TIMEOUT_S = 2.0
REPLY_TIMEOUT_S = 5.0


class PipelinedSender:
    """Sends messages the way `broker.enqueue` does, a whole list per round trip."""

    def __init__(self, broker: RedisBroker, url: str) -> None:
        self.broker = broker
        self.client: redis.asyncio.Redis = redis.asyncio.Redis.from_url(
            url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=REPLY_TIMEOUT_S
        )
        dispatch = broker.scripts["dispatch"]
        self.script = dispatch.script
        self.sha: str = dispatch.sha
        self.unpack_size = 0

    async def send(self, messages: Sequence[Message[Any]]) -> None:
        """Enqueue `messages` on their queues; raise if Redis refused any of them."""
        if not self.unpack_size:
            # Asked of Redis once per process, by the broker's blocking client.
            self.unpack_size = await anyio.to_thread.run_sync(self.broker._max_unpack_size)

        # Like `enqueue`: each delivery gets its own id, since a retried
        # message keeps its message id.
        stamped = [message.copy(options={"redis_message_id": str(uuid4())}) for message in messages]
        for message in stamped:
            self.broker.emit_before("enqueue", message, None)

        try:
            await self._dispatch(stamped)
        except NoScriptError:
            # A restarted Redis forgets its scripts; none of these ran.
            await self.client.script_load(self.script)
            await self._dispatch(stamped)

        for message in stamped:
            self.broker.emit_after("enqueue", message, None)

    async def _dispatch(self, messages: list[Message[Any]]) -> None:
        broker = self.broker
        async with self.client.pipeline(transaction=False) as pipe:
            for message in messages:
                # Maintenance is left to consumers and to our own maintenance.
                pipe.evalsha(
                    self.sha,
                    1,
                    broker.namespace,
                    "enqueue",
                    current_millis(),
                    message.queue_name,
                    broker.broker_id,
                    broker.heartbeat_timeout,
                    broker.dead_message_ttl,
                    0,
                    self.unpack_size,
                    message.options["redis_message_id"],
                    message.encode(),
                )
            await pipe.execute()

    async def close(self) -> None:
        await self.client.aclose()


#: The broker that senders serve and where its Redis is; set by `serve`.
_served: tuple[RedisBroker, str] | None = None
#: One sender per event loop: asyncio connections belong to the loop that opened them.
_senders: dict[int, PipelinedSender] = {}


def serve(broker: RedisBroker, url: str) -> None:
    """Send this broker's messages through pipelines to the Redis at `url`."""
    global _served
    _served = (broker, url)


def sender_for(broker: object) -> PipelinedSender | None:
    """The running loop's sender for `broker`, or None if the pipeline does not serve it."""
    if _served is None or broker is not _served[0]:
        return None

    key = id(asyncio.get_running_loop())
    if key not in _senders:
        _senders[key] = PipelinedSender(*_served)

    return _senders[key]


async def close_sender() -> None:
    """Close the running loop's sender, if it made one."""
    sender = _senders.pop(id(asyncio.get_running_loop()), None)
    if sender is not None:
        await sender.close()
