"""Render metrics in the Prometheus text format, for the API and for worker groups."""

from __future__ import annotations

from wsgiref.simple_server import WSGIRequestHandler, make_server

import structlog
from prometheus_client import REGISTRY, CollectorRegistry, disable_created_metrics
from prometheus_client.exposition import choose_encoder, make_wsgi_app
from prometheus_client.multiprocess import MultiProcessCollector

from aijobs.logging import configure_logging
from aijobs.metrics.multiprocess import multiprocess_dir
from aijobs.settings import get_settings

logger = structlog.get_logger(__name__)

# A `_created` series per counter doubles the output and no dashboard of ours reads it.
disable_created_metrics()  # type: ignore[no-untyped-call] # untyped


def current_registry() -> CollectorRegistry:
    """This process's registry, or the whole group's files in multiprocess mode."""
    directory = multiprocess_dir()
    if directory is None:
        return REGISTRY

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call] # untyped
    return registry


def render(accept: str | None) -> tuple[bytes, str]:
    """The metrics and their content type, OpenMetrics when the scraper asks for it."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(current_registry()), content_type


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        # One line per scrape every few seconds is noise; failures are logged by the server.
        return None


def serve_worker_metrics() -> int:
    """Serve the worker group's metrics until stopped; Dramatiq runs it as a fork."""
    settings = get_settings()
    configure_logging(settings)
    port = get_settings().worker_metrics_port
    app = make_wsgi_app(current_registry())
    try:
        server = make_server(settings.host, port, app, handler_class=_QuietHandler)
    except OSError as exc:
        logger.error("worker metrics not served", host=settings.host, port=port, error=str(exc))
        return 1

    logger.info("worker metrics served", url=f"http://{settings.host}:{port}/metrics")
    with server:
        server.serve_forever()
    return 0
