"""A request id on every API log line and response, as the X-Request-ID header."""

from __future__ import annotations

import re
import uuid

import structlog
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

#: The header that carries the id, both ways.
HEADER = "X-Request-ID"

#: A client's own id is kept when it looks like one: short, and nothing that
#: could break a log line or a header (no spaces, quotes or control characters).
SANE_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}", re.ASCII)

_HEADER_KEY = HEADER.lower().encode()


def request_id_for(scope: Scope) -> str:
    """The client's X-Request-ID when it is sane, else a new random one."""
    for name, value in scope["headers"]:
        if name == _HEADER_KEY:
            candidate = value.decode("latin-1")
            if SANE_ID.fullmatch(candidate):
                return candidate
            break

    return uuid.uuid4().hex


class RequestIdMiddleware(ASGIMiddleware):
    """Bind the request id to the logging context and echo it in the response.

    Litestar runs middleware only for requests that matched a route, so the
    404 of an unknown path carries no id; no log line is written for it either.
    """

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        request_id = request_id_for(scope)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message)[HEADER] = request_id
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            await next_app(scope, receive, send_with_id)
