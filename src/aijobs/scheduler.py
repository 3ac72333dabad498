"""`aijobs scheduler`: periodiq sending the maintenance messages on their cron."""

from __future__ import annotations

import structlog
from periodiq import Scheduler

from aijobs.broker import setup_broker
from aijobs.settings import Settings

logger = structlog.get_logger(__name__)


def run_scheduler(settings: Settings) -> None:
    """Schedule every periodic actor until interrupted."""
    broker = setup_broker(settings)
    actors = [actor for actor in broker.actors.values() if "periodic" in actor.options]
    for actor in actors:
        logger.info(
            "periodic actor scheduled", actor=actor.actor_name, cron=str(actor.options["periodic"])
        )

    scheduler = Scheduler(actors=actors)
    scheduler.schedule()
    scheduler.loop()
