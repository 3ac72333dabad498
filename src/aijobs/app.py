"""The composition root: builds the Litestar app from settings."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    SQLAlchemyAsyncConfig,
    SQLAlchemyPlugin,
)
from litestar import Litestar
from litestar.datastructures import State
from litestar.logging import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin

from aijobs import __version__
from aijobs.admin.broker_probe import probe_for
from aijobs.admin.controllers import AdminController
from aijobs.broker import setup_broker
from aijobs.database import create_engine
from aijobs.embedded import embedded_worker
from aijobs.exception_handlers import exception_handlers
from aijobs.jobs.controllers import JobController
from aijobs.jobs.registry import load_kinds
from aijobs.logging import configure_logging
from aijobs.metrics.api import RequestMetricsMiddleware
from aijobs.metrics.controllers import MetricsController
from aijobs.request_id import RequestIdMiddleware
from aijobs.resources import dispose_engines
from aijobs.settings import Settings, get_settings
from aijobs.system.controllers import HealthController
from aijobs.web import dashboard_router

#: Largest request body accepted, in bytes; bigger ones get 413.
MAX_BODY_BYTES = 1024 * 1024


def alchemy_config(settings: Settings) -> SQLAlchemyAsyncConfig:
    """Request-scoped sessions, committed when the handler answers below 300."""
    return SQLAlchemyAsyncConfig(
        engine_instance=create_engine(settings),
        session_config=AsyncSessionConfig(expire_on_commit=False),
        before_send_handler="autocommit",
        create_all=False,
    )


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the API; in embedded mode it also runs the worker and maintenance."""
    settings = settings or get_settings()
    configure_logging(settings)
    broker = setup_broker(settings)
    probe = probe_for(broker, settings)
    load_kinds()

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if settings.embedded:
                await stack.enter_async_context(embedded_worker(settings, broker))
            yield
            await probe.close()
            await dispose_engines()

    return Litestar(
        route_handlers=[
            JobController,
            AdminController,
            HealthController,
            MetricsController,
            dashboard_router(settings.web_dist_dir),
        ],
        plugins=[SQLAlchemyPlugin(config=alchemy_config(settings))],
        exception_handlers=exception_handlers,
        middleware=[RequestIdMiddleware(), RequestMetricsMiddleware()],
        lifespan=[lifespan],
        state=State({"broker_probe": probe, "settings": settings}),
        # Our handlers own the root logger and log the unexpected errors themselves.
        logging_config=LoggingConfig(configure_root_logger=False, log_exceptions="never"),
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=OpenAPIConfig(
            title="aijobs",
            version=__version__,
            description="Submit long-running AI jobs and follow them to the end.",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
        ),
    )
