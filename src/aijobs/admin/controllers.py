"""Operator routes: platform statistics."""

from __future__ import annotations

from litestar import Controller, get
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from aijobs.admin.stats import Stats, collect_stats


class AdminController(Controller):
    path = "/admin"
    tags = ["admin"]

    @get("/stats", operation_id="GetStats")
    async def stats(self, db_session: AsyncSession, state: State) -> Stats:
        """Counts by status, queue depth, live workers, throughput and run times."""
        return await collect_stats(db_session, state.broker_probe)
