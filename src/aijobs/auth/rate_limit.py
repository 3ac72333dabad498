"""Requests per API key per minute, counted in Redis so every API replica shares the count."""

from __future__ import annotations

import contextlib
from typing import Any

import structlog
from litestar import Request
from litestar.middleware.rate_limit import (
    CacheObject,
    RateLimitConfig,
    RateLimitMiddleware,
    get_remote_address,
)
from litestar.stores.base import Store
from redis.exceptions import RedisError

from aijobs.auth.caller import Caller
from aijobs.auth.middleware import OPEN_PATHS
from aijobs.settings import Settings

logger = structlog.get_logger(__name__)

#: The app store the counts live in.
STORE = "rate_limit"


class SharedRateLimit(RateLimitMiddleware):
    """Litestar's limiter, but open while Redis is away: jobs matter more than the count."""

    async def retrieve_cached_history(self, key: str, store: Store) -> CacheObject:
        try:
            return await super().retrieve_cached_history(key, store)
        except RedisError as exc:
            logger.warning("rate limit not checked; Redis unavailable", error=type(exc).__name__)
            return CacheObject(history=[], reset=0)

    async def set_cached_history(self, key: str, cache_object: CacheObject, store: Store) -> None:
        # The read that failed just before has logged it.
        with contextlib.suppress(RedisError):
            await super().set_cached_history(key, cache_object, store)


def caller_identity(request: Request[Any, Any, Any]) -> str:
    """The key's id; the client address while auth is off."""
    caller = request.scope.get("user")
    if isinstance(caller, Caller) and caller.key_id is not None:
        return caller.key_id.hex

    return get_remote_address(request)


def rate_limit_config(settings: Settings) -> RateLimitConfig | None:
    if settings.rate_limit_per_minute == 0:
        return None

    return RateLimitConfig(
        rate_limit=("minute", settings.rate_limit_per_minute),
        exclude=OPEN_PATHS,
        identifier_for_request=caller_identity,
        middleware_class=SharedRateLimit,
        store=STORE,
    )
