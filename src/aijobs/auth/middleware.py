"""Authenticate every API request by its bearer key before any handler runs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware.authentication import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
)
from litestar.types import ASGIApp
from sqlalchemy.ext.asyncio import AsyncSession

from aijobs.auth.caller import LOCAL_CALLER, Caller
from aijobs.auth.repository import ApiKeyService
from aijobs.auth.secrets import hash_key
from aijobs.settings import Settings

#: Paths anyone may reach: probes, the dashboard's files, the API's own description.
OPEN_PATHS = ["^/health", "^/ui", "^/schema", "^/$"]
#: Keys remembered per process at most; past it the memory starts over.
MAX_CACHED_KEYS = 10_000
#: A key's last use is written at most this often per process, in seconds.
MARK_USED_EVERY_S = 60.0
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="aijobs"'}


class ApiKeyMiddleware(AbstractAuthenticationMiddleware):
    """Sets `request.user` to the Caller; 401 for a missing, unknown or revoked key."""

    def __init__(
        self,
        app: ASGIApp,
        settings: Settings,
        sessions: Callable[[], AsyncSession],
        exclude: list[str] | None = None,
    ) -> None:
        super().__init__(app, exclude=exclude)
        self.settings = settings
        self.sessions = sessions
        self.marked: dict[UUID, float] = {}
        # Keys checked lately, by hash: (valid until, caller). Saves a query per request.
        self.known: dict[str, tuple[float, Caller]] = {}

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        if not self.settings.auth_enabled:
            return AuthenticationResult(user=LOCAL_CALLER, auth=None)

        key_hash = hash_key(self.settings, bearer_key(connection.headers.get("authorization")))
        caller = self._cached(key_hash)
        if caller is None:
            caller = await self._look_up(key_hash)

        return AuthenticationResult(user=caller, auth=None)

    def _cached(self, key_hash: str) -> Caller | None:
        entry = self.known.get(key_hash)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    async def _look_up(self, key_hash: str) -> Caller:
        async with self.sessions() as session:
            service = ApiKeyService(session=session)
            caller = await service.authenticate(key_hash)
            if caller is None:
                raise NotAuthorizedException("invalid or revoked API key", headers=CHALLENGE)

            if self._due_for_mark(caller):
                await service.mark_used(caller)

        if self.settings.auth_cache_s > 0:
            if len(self.known) >= MAX_CACHED_KEYS:
                self.known.clear()
            self.known[key_hash] = (time.monotonic() + self.settings.auth_cache_s, caller)
        return caller

    def _due_for_mark(self, caller: Caller) -> bool:
        if caller.key_id is None:
            return False

        now = time.monotonic()
        last = self.marked.get(caller.key_id)
        if last is not None and now - last < MARK_USED_EVERY_S:
            return False

        self.marked[caller.key_id] = now
        return True


def bearer_key(header: str | None) -> str:
    """The key of an `Authorization: Bearer KEY` header; 401 when there is none."""
    scheme, _, key = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise NotAuthorizedException(
            "missing API key: send `Authorization: Bearer <key>`", headers=CHALLENGE
        )

    return key.strip()


def requires_admin(connection: ASGIConnection[Any, Any, Any, Any], _: object) -> None:
    """Guard for routes only admin keys reach."""
    # OPTIONS skips authentication (it only lists methods), so it has no caller.
    if connection.scope.get("method") == "OPTIONS":
        return

    caller = connection.user
    if not isinstance(caller, Caller) or not caller.is_admin:
        raise PermissionDeniedException("this route needs an admin API key")
