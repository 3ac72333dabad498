"""HTTP metrics of the API: requests by route template and status, and their latency."""

from __future__ import annotations

import time
from typing import cast

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send
from prometheus_client import Counter, Histogram

#: Buckets of the time to answer a request, in seconds; fine below 50 ms, where targets sit.
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

REQUESTS = Counter(
    "aijobs_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "aijobs_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS_S,
)


class RequestMetricsMiddleware(ASGIMiddleware):
    """Count and time each request under its route template, never its raw path.

    Litestar runs middleware only for requests that matched a route, so a 404
    for an unknown path is not counted; that keeps the route label bounded.
    """

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        started = time.perf_counter()
        # What the client sees if the app fails before it answers.
        status = HTTP_500_INTERNAL_SERVER_ERROR

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await next_app(scope, receive, send_with_status)
        finally:
            http_scope = cast(HTTPScope, scope)
            method, route = http_scope["method"], http_scope["path_template"]
            REQUESTS.labels(method, route, str(status)).inc()
            REQUEST_SECONDS.labels(method, route).observe(time.perf_counter() - started)
