"""`aijobs scheduler`: periodiq sending the maintenance messages on their cron."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from dramatiq.errors import BrokerError
from periodiq import Scheduler
from redis.exceptions import RedisError

from aijobs.broker import setup_broker
from aijobs.settings import Settings

logger = structlog.get_logger(__name__)


class OutageProofScheduler(Scheduler):  # type: ignore[misc]
    """A periodiq scheduler that skips a tick when the broker is away instead of exiting."""

    def send_actors(self, actors: list[Any], now: datetime) -> None:
        # periodiq lets a send error end its loop; the next tick will try again.
        for actor in actors:
            try:
                super().send_actors([actor], now)
            except (RedisError, BrokerError) as exc:
                logger.warning(
                    "periodic message not sent; broker unavailable",
                    actor=actor.actor_name,
                    error=type(exc).__name__,
                )


def run_scheduler(settings: Settings) -> None:
    """Schedule every periodic actor until interrupted."""
    broker = setup_broker(settings)
    actors = [actor for actor in broker.actors.values() if "periodic" in actor.options]
    for actor in actors:
        logger.info(
            "periodic actor scheduled", actor=actor.actor_name, cron=str(actor.options["periodic"])
        )

    scheduler = OutageProofScheduler(actors=actors)
    scheduler.schedule()
    scheduler.loop()
