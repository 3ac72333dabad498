"""Ending each request's database session: commit below 300, else roll back.

Advanced Alchemy's own autocommit handler commits and closes every session
the request was given, even one that never began a transaction, and each
of those calls crosses into SQLAlchemy's greenlet and back for nothing.
This handler only ends what was begun.
"""

from __future__ import annotations

from typing import cast

import structlog
from advanced_alchemy.extensions.litestar._utils import (
    delete_aa_scope_state,
    get_aa_scope_state,
)
from advanced_alchemy.extensions.litestar.plugins.init.config.common import (
    SESSION_TERMINUS_ASGI_EVENTS,
)
from litestar.constants import HTTP_RESPONSE_START
from litestar.types import BeforeMessageSendHookHandler, Message, Scope
from sqlalchemy.ext.asyncio import AsyncSession

logger = structlog.get_logger(__name__)

#: Statuses whose request's writes are committed; anything else is rolled back.
COMMITTED = range(200, 300)


def session_ender(scope_key: str) -> BeforeMessageSendHookHandler:
    """The before-send hook for the sessions Advanced Alchemy keeps under `scope_key`.

    Each config gets a key of its own (a second app in one process gets
    another), so the hook is made for the config's key, not the default.
    """

    async def end_request_session(message: Message, scope: Scope) -> None:
        """Commit or roll back as the response starts, if a transaction began; let go."""
        session = cast(AsyncSession | None, get_aa_scope_state(scope, scope_key))
        if session is None:
            return

        try:
            if message["type"] == HTTP_RESPONSE_START and session.in_transaction():
                if message["status"] in COMMITTED:
                    await session.commit()
                else:
                    await session.rollback()
        except Exception as exc:
            # Handlers commit their writes themselves; what ends here is mostly
            # a read, and the close below returns the connection either way.
            logger.warning("request session did not end cleanly", error=type(exc).__name__)
        finally:
            if message["type"] in SESSION_TERMINUS_ASGI_EVENTS:
                if session.in_transaction():
                    await session.close()
                delete_aa_scope_state(scope, scope_key)

    return end_request_session
