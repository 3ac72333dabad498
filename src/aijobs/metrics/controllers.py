"""GET /metrics: this API process's metrics in the Prometheus text format."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get

from aijobs.metrics.broker_gauges import refresh_broker_gauges
from aijobs.metrics.exposition import render


class MetricsController(Controller):
    path = "/metrics"
    tags = ["system"]

    @get("/", operation_id="Metrics", cache=False)
    async def metrics(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Prometheus metrics: requests, latency, queue depth, live workers, jobs run here."""
        await refresh_broker_gauges(request.app.state.broker_probe)
        body, content_type = render(request.headers.get("accept"))
        return Response(body, media_type=content_type)
