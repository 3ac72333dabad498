"""GET /metrics and X-Request-ID on the real app, driven in-process."""

from __future__ import annotations

import io
import logging
import re
import uuid
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from aijobs.metrics.api import RequestMetricsMiddleware
from aijobs.request_id import HEADER, RequestIdMiddleware
from tests.ops.support import require_wiring

pytestmark = pytest.mark.usefixtures("wired")

SIMULATE_NOW = {"kind": "simulate", "params": {"steps": 0}}


@pytest.fixture
def wired(app: Any) -> None:
    middleware = {type(m) for m in app.middleware}
    missing = [
        f"{name} in create_app"
        for name, present in (
            ("MetricsController", any(route.path == "/metrics" for route in app.routes)),
            ("RequestIdMiddleware", RequestIdMiddleware in middleware),
            ("RequestMetricsMiddleware", RequestMetricsMiddleware in middleware),
        )
        if not present
    ]
    require_wiring(missing)


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


async def scrape(client: Any) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return str(response.text)


async def test_metrics_answer_in_the_prometheus_text_format(client: Any) -> None:
    text = await scrape(client)

    names = {family.name for family in text_string_to_metric_families(text)}
    assert {"aijobs_http_requests", "aijobs_queue_depth", "aijobs_workers_live"} <= names


async def test_requests_are_counted_by_route_template_never_by_raw_path(client: Any) -> None:
    # Given a job, read once, and a job that does not exist
    job = (await client.post("/jobs", json=SIMULATE_NOW)).json()
    assert (await client.get(f"/jobs/{job['id']}")).status_code == 200
    missing = uuid.uuid4()
    assert (await client.get(f"/jobs/{missing}")).status_code == 404

    # When the metrics are scraped
    text = await scrape(client)

    # Then both reads count under the route's template, with their status
    counted = {
        (labels["method"], labels["route"], labels["status"])
        for labels, value in samples(text, "aijobs_http_requests_total")
        if value >= 1
    }
    assert ("POST", "/jobs", "202") in counted
    assert ("GET", "/jobs/{job_id}", "200") in counted
    assert ("GET", "/jobs/{job_id}", "404") in counted
    assert job["id"] not in text
    assert str(missing) not in text


async def test_latency_is_a_histogram_per_route(client: Any) -> None:
    await client.get("/health")

    text = await scrape(client)

    buckets = samples(text, "aijobs_http_request_duration_seconds_bucket")
    health = [(labels["le"], value) for labels, value in buckets if labels["route"] == "/health"]
    assert ("+Inf", pytest.approx(max(value for _, value in health))) in health
    assert len(health) > 5


async def test_queue_depth_is_the_one_admin_stats_reports(client: Any) -> None:
    await client.post("/jobs", json=SIMULATE_NOW)

    text = await scrape(client)
    stats = (await client.get("/admin/stats")).json()

    ((_, depth),) = samples(text, "aijobs_queue_depth")
    assert depth == stats["queue_depth"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/health", 200), ("GET", "/jobs/{missing}", 404), ("POST", "/jobs", 400)],
)
async def test_every_answer_carries_a_request_id(
    client: Any, method: str, path: str, status: int
) -> None:
    response = await client.request(
        method, path.format(missing=uuid.uuid4()), json={"kind": 1} if method == "POST" else None
    )

    assert response.status_code == status
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers[HEADER])


async def test_a_sane_client_request_id_is_echoed(client: Any) -> None:
    response = await client.get("/health", headers={HEADER: "trace-7f.2:a/b+c="})

    assert response.headers[HEADER] == "trace-7f.2:a/b+c="


@pytest.mark.parametrize("unsafe", ["two words", "x" * 129, 'quote"d', ""])
async def test_an_unsafe_client_request_id_is_replaced(client: Any, unsafe: str) -> None:
    response = await client.get("/health", headers={HEADER: unsafe})

    assert re.fullmatch(r"[0-9a-f]{32}", response.headers[HEADER])


async def test_the_request_id_is_on_the_log_lines_of_its_request(client: Any) -> None:
    # Our lines bypass the logging module, so the handler's own stream is read.
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    written = io.StringIO()
    previous = handler.setStream(written)

    try:
        response = await client.post("/jobs", json=SIMULATE_NOW, headers={HEADER: "ops-test-42"})
    finally:
        handler.setStream(previous)

    submitted = [line for line in written.getvalue().splitlines() if "job submitted" in line]
    assert len(submitted) == 1
    assert f"job_id={response.json()['id']}" in submitted[0]
    assert "request_id=ops-test-42" in submitted[0]
