"""Headers every answer carries, errors included: no sniffing, no framing, no referrer."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Job ids sit in dashboard URLs; no other site needs to learn them.
    "Referrer-Policy": "no-referrer",
}


class SecurityHeadersMiddleware(ASGIMiddleware):
    """Adds HEADERS to every answer of a matched route, handler errors included."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                for name, value in HEADERS.items():
                    headers[name] = value
            await send(message)

        await next_app(scope, receive, send_with_headers)
