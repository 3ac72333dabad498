"""Per-process resources for code that runs outside a request: actors, maintenance.

Workers run every async actor on one event loop thread per process, so one
set of engines per process serves them all. They are created on first use,
inside that loop, because asyncpg connections belong to the loop that opened
them.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aijobs.broker_pipeline import close_sender
from aijobs.database import create_engine, server_settings, session_factory
from aijobs.direct_sql import open_pool
from aijobs.jobs.repository import FencedConnection
from aijobs.settings import get_settings


@dataclass(frozen=True, slots=True)
class _Engines:
    """One loop's engines: sessions for transactions, autocommit for single statements."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # SQLite's single statements go through SQLAlchemy; PostgreSQL's through `direct`.
    autocommit: AsyncEngine | None
    direct: asyncio.Task[asyncpg.Pool] | None


_engines: dict[int, _Engines] = {}


def worker_id() -> str:
    """A name for this process that an operator can trace back to a host."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _loop_engines() -> _Engines:
    key = id(asyncio.get_running_loop())
    if key not in _engines:
        settings = get_settings()
        engine = create_engine(settings)
        autocommit: AsyncEngine | None = None
        direct: asyncio.Task[asyncpg.Pool] | None = None
        if settings.is_sqlite:
            autocommit = create_engine(settings, autocommit=True)
        else:
            # A task, so that the loop's first callers all wait for the same pool.
            pool = open_pool(
                engine.url,
                max_size=settings.db_pool_size + settings.db_max_overflow,
                server_settings=server_settings(settings),
            )
            direct = asyncio.ensure_future(pool)
        _engines[key] = _Engines(engine, session_factory(engine), autocommit, direct)

    return _engines[key]


@asynccontextmanager
async def session_scope() -> AsyncIterator[AsyncSession]:
    """A session on this loop's engine; the caller commits."""
    async with _loop_engines().sessions() as session:
        yield session


@asynccontextmanager
async def autocommit_scope() -> AsyncIterator[FencedConnection]:
    """A connection on which every statement commits by itself, as it ends.

    Only for work that is one statement: two statements on it are two
    transactions. On PostgreSQL it is a bare asyncpg connection, for
    `aijobs.jobs.repository`'s fenced writes.
    """
    engines = _loop_engines()
    if engines.direct is not None:
        pool = await asyncio.shield(engines.direct)
        async with pool.acquire() as connection:
            yield connection
        return

    assert engines.autocommit is not None
    async with engines.autocommit.connect() as connection:
        yield connection


async def dispose_engines() -> None:
    """Close the database pools and the Redis sender that belong to the running loop."""
    await close_sender()
    entry = _engines.pop(id(asyncio.get_running_loop()), None)
    if entry is not None:
        await entry.engine.dispose()
        if entry.autocommit is not None:
            await entry.autocommit.dispose()
        if entry.direct is not None:
            await (await entry.direct).close()
