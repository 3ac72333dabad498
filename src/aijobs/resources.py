"""Per-process resources for code that runs outside a request: actors, maintenance.

Workers run every async actor on one event loop thread per process, so one
engine per process serves them all. It is created on first use, inside that
loop, because asyncpg connections belong to the loop that opened them.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aijobs.broker_pipeline import close_sender
from aijobs.database import create_engine, session_factory
from aijobs.settings import get_settings

_engines: dict[int, tuple[AsyncEngine, async_sessionmaker[AsyncSession]]] = {}


def worker_id() -> str:
    """A name for this process that an operator can trace back to a host."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _sessions() -> async_sessionmaker[AsyncSession]:
    key = id(asyncio.get_running_loop())
    if key not in _engines:
        engine = create_engine(get_settings())
        _engines[key] = (engine, session_factory(engine))

    return _engines[key][1]


@asynccontextmanager
async def session_scope() -> AsyncIterator[AsyncSession]:
    """A session on this loop's engine; the caller commits."""
    async with _sessions()() as session:
        yield session


async def dispose_engines() -> None:
    """Close the database pool and the Redis sender that belong to the running loop."""
    await close_sender()
    entry = _engines.pop(id(asyncio.get_running_loop()), None)
    if entry is not None:
        await entry[0].dispose()
