"""GET /me: which key the request carries, and whether auth is on at all."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get

from aijobs.auth.caller import Caller
from aijobs.auth.models import Role
from aijobs.error_responses import API_KEY, errors


class Me(msgspec.Struct):
    """The caller as the dashboard shows it."""

    name: str
    role: Role
    auth_enabled: bool


class MeController(Controller):
    path = "/me"
    tags = ["auth"]
    security = API_KEY

    @get("/", operation_id="GetMe", cache=False, responses=errors())
    async def me(self, request: Request[Caller, Any, Any]) -> Me:
        """The API key this request was made with; with auth off, the local caller."""
        settings = request.app.state.settings
        return Me(
            name=request.user.name, role=request.user.role, auth_enabled=settings.auth_enabled
        )
