"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

#: How long a readiness check waits for each dependency, in seconds.
READY_TIMEOUT_S = 2.0


class HealthController(Controller):
    path = "/health"
    tags = ["system"]

    @get("/", operation_id="Health")
    async def health(self) -> dict[str, str]:
        """Answer while the process is alive."""
        return {"status": "ok"}

    @get("/ready", operation_id="Ready")
    async def ready(
        self, db_session: NamedDependency[AsyncSession], request: Request[Any, Any, Any]
    ) -> Response[dict[str, Any]]:
        """Answer 200 when the database and the broker answer, else 503 naming which."""
        checks: dict[str, str] = {}
        try:
            async with asyncio.timeout(READY_TIMEOUT_S):
                await db_session.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unavailable ({type(exc).__name__})"

        try:
            async with asyncio.timeout(READY_TIMEOUT_S):
                await request.app.state.broker_probe.ping()
            checks["broker"] = "ok"
        except Exception as exc:
            checks["broker"] = f"unavailable ({type(exc).__name__})"

        down = [name for name, result in checks.items() if result != "ok"]
        if down:
            body = {
                "status": "unavailable",
                "status_code": HTTP_503_SERVICE_UNAVAILABLE,
                "detail": f"not ready: {' and '.join(down)} unavailable",
                "checks": checks,
            }
            return Response(body, status_code=HTTP_503_SERVICE_UNAVAILABLE)

        return Response({"status": "ready", "checks": checks}, status_code=HTTP_200_OK)
