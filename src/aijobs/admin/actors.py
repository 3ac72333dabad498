"""The periodic maintenance actor, scheduled by periodiq every minute."""

from __future__ import annotations

import dramatiq
from periodiq import cron

from aijobs.admin.maintenance import run_maintenance
from aijobs.resources import session_scope
from aijobs.settings import get_settings

#: The queue maintenance messages travel on, apart from the job backlog.
MAINTENANCE_QUEUE = "maintenance"


@dramatiq.actor(actor_name="maintenance", queue_name=MAINTENANCE_QUEUE, periodic=cron("* * * * *"))
async def maintenance() -> None:
    """Run one maintenance pass."""
    async with session_scope() as session:
        await run_maintenance(session, get_settings())
