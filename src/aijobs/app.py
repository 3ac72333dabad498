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
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.logging import LoggingConfig
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from sqlalchemy.ext.asyncio import async_sessionmaker

from aijobs import __version__
from aijobs.admin.broker_probe import probe_for
from aijobs.admin.controllers import AdminController
from aijobs.auth.controllers import MeController
from aijobs.auth.exposure import check_exposure
from aijobs.auth.middleware import OPEN_PATHS, ApiKeyMiddleware
from aijobs.auth.rate_limit import STORE, rate_limit_config
from aijobs.broker import setup_broker
from aijobs.database import create_engine
from aijobs.embedded import embedded_worker
from aijobs.exception_handlers import exception_handlers
from aijobs.heap import freeze_startup_objects
from aijobs.jobs.controllers import JobController
from aijobs.jobs.intake import JobIntake
from aijobs.jobs.registry import load_kinds
from aijobs.logging import configure_logging
from aijobs.metrics.api import RequestMetricsMiddleware
from aijobs.metrics.controllers import MetricsController
from aijobs.request_id import RequestIdMiddleware
from aijobs.request_sessions import session_ender
from aijobs.resources import dispose_engines
from aijobs.security_headers import SecurityHeadersMiddleware
from aijobs.settings import Settings, get_settings
from aijobs.system.controllers import HealthController
from aijobs.web import dashboard_router
from aijobs.webhooks.controllers import WebhookDeliveryController

#: Largest request body accepted, in bytes; bigger ones get 413.
MAX_BODY_BYTES = 1024 * 1024


def alchemy_config(settings: Settings) -> SQLAlchemyAsyncConfig:
    """Request-scoped sessions, committed when the handler answers below 300."""
    config = SQLAlchemyAsyncConfig(
        engine_instance=create_engine(settings),
        session_config=AsyncSessionConfig(expire_on_commit=False),
        create_all=False,
    )
    # The config picks its session's scope key as it is made; the hook needs it.
    config.before_send_handler = session_ender(config.session_scope_key)
    return config


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the API; in embedded mode it also runs the worker and maintenance."""
    settings = settings or get_settings()
    check_exposure(settings)
    configure_logging(settings)
    broker = setup_broker(settings)
    probe = probe_for(broker, settings)
    load_kinds()
    alchemy = alchemy_config(settings)
    authenticate = DefineMiddleware(
        ApiKeyMiddleware,
        settings=settings,
        sessions=async_sessionmaker(alchemy.get_engine(), expire_on_commit=False),
        exclude=OPEN_PATHS,
    )
    rate_limit = rate_limit_config(settings)
    intake = JobIntake(create_engine(settings, autocommit=True))

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if settings.embedded:
                await stack.enter_async_context(embedded_worker(settings, broker))
            freeze_startup_objects()
            yield
            await probe.close()
            await intake.close()
            await dispose_engines()

    return Litestar(
        route_handlers=[
            MeController,
            JobController,
            WebhookDeliveryController,
            AdminController,
            HealthController,
            MetricsController,
            dashboard_router(settings.web_dist_dir),
        ],
        plugins=[SQLAlchemyPlugin(config=alchemy)],
        exception_handlers=exception_handlers,
        # The key is known before the limit is counted: the limit is per key.
        middleware=[
            SecurityHeadersMiddleware(),
            RequestIdMiddleware(),
            RequestMetricsMiddleware(),
            authenticate,
            *([rate_limit.middleware] if rate_limit else []),
        ],
        stores={STORE: _rate_limit_store(settings)},
        cors_config=CORSConfig(allow_origins=settings.cors_origins, allow_credentials=False)
        if settings.cors_origins
        else None,
        lifespan=[lifespan],
        state=State(
            {
                "broker_probe": probe,
                "settings": settings,
                "job_intake": intake,
                # Handlers that need a session only sometimes open it themselves.
                "alchemy": alchemy,
            }
        ),
        # Our handlers own the root logger and log the unexpected errors themselves.
        logging_config=LoggingConfig(configure_root_logger=False, log_exceptions="never"),
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=OpenAPIConfig(
            title="aijobs",
            version=__version__,
            description="Submit long-running AI jobs and follow them to the end.",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
            components=Components(
                security_schemes={
                    "ApiKey": SecurityScheme(
                        type="http", scheme="bearer", description="`aijobs keys create` makes one"
                    )
                }
            ),
        ),
    )


def _rate_limit_store(settings: Settings) -> Store:
    """Redis, so that every API replica counts into one total; memory in embedded mode."""
    if settings.redis_url is None:
        return MemoryStore()

    return RedisStore.with_client(
        url=settings.redis_url, namespace=f"{settings.redis_namespace}:rate-limit"
    )
