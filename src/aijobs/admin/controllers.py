"""Operator routes: platform statistics."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from aijobs.admin.stats import Stats, collect_stats
from aijobs.auth.middleware import requires_admin
from aijobs.error_responses import API_KEY, errors


class AdminController(Controller):
    guards = [requires_admin]
    path = "/admin"
    tags = ["admin"]
    security = API_KEY

    @get("/stats", operation_id="GetStats", responses=errors(403))
    async def stats(
        self, db_session: NamedDependency[AsyncSession], request: Request[Any, Any, Any]
    ) -> Stats:
        """Counts by status, queue depth, live workers, throughput and run times."""
        return await collect_stats(db_session, request.app.state.broker_probe)
