"""Operator routes: platform statistics."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from aijobs.admin.stats import Stats, collect_stats


class AdminController(Controller):
    path = "/admin"
    tags = ["admin"]

    @get("/stats", operation_id="GetStats")
    async def stats(
        self, db_session: NamedDependency[AsyncSession], request: Request[Any, Any, Any]
    ) -> Stats:
        """Counts by status, queue depth, live workers, throughput and run times."""
        return await collect_stats(db_session, request.app.state.broker_probe)
