"""GET /metrics: this API process's metrics in the Prometheus text format."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.openapi.datastructures import ResponseSpec

from aijobs.auth.middleware import requires_admin
from aijobs.error_responses import API_KEY, errors
from aijobs.metrics.broker_gauges import refresh_broker_gauges
from aijobs.metrics.exposition import render

PROMETHEUS_TEXT = ResponseSpec(
    data_container=str,
    media_type="text/plain",
    description="The Prometheus text format (OpenMetrics when the scraper asks for it).",
    generate_examples=False,
)


class MetricsController(Controller):
    guards = [requires_admin]
    path = "/metrics"
    tags = ["system"]
    security = API_KEY

    @get(
        "/",
        operation_id="Metrics",
        cache=False,
        # Errors stay JSON; only the 200 answer is Prometheus text.
        responses={200: PROMETHEUS_TEXT, **errors(403)},
    )
    async def metrics(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Prometheus metrics: requests, latency, queue depth, live workers, jobs run here."""
        await refresh_broker_gauges(request.app.state.broker_probe)
        body, content_type = render(request.headers.get("accept"))
        # Litestar adds the charset of text/* itself; prometheus_client's is already there.
        return Response(body, media_type=content_type.replace("; charset=utf-8", ""))
