"""Database engines and sessions, one set per event loop that needs them."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession

from aijobs.settings import Settings

#: How long SQLite waits for a lock held by another connection, in seconds.
SQLITE_BUSY_TIMEOUT_S = 30

#: SQLSTATE classes that mean the server is away, not that the statement is wrong:
#: connection exceptions (08) and operator intervention (57: shutdown, starting up).
OUTAGE_SQLSTATE_CLASSES = ("08", "57")

#: The server closed a session that sat idle inside a transaction.
IDLE_IN_TRANSACTION_TIMEOUT = "25P03"


def is_outage(exc: BaseException) -> bool:
    """True when `exc` says the database cannot be reached, whatever layer raised it."""
    # asyncpg's own InterfaceError comes bare from the worker's direct statements
    # (see `aijobs.direct_sql`); SQLAlchemy wraps the same as its InterfaceError.
    if isinstance(exc, OperationalError | InterfaceError | asyncpg.InterfaceError):
        return True

    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig if exc.orig is not None else exc

    # asyncpg raises some connect-time errors unwrapped; SQLAlchemy copies sqlstate.
    sqlstate = getattr(exc, "sqlstate", None)
    if not isinstance(sqlstate, str):
        return False

    return sqlstate[:2] in OUTAGE_SQLSTATE_CLASSES or sqlstate == IDLE_IN_TRANSACTION_TIMEOUT


def _ensure_sqlite_dir(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _tune_sqlite(engine: AsyncEngine) -> None:
    """Use WAL so the API reads while the in-process worker writes."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cursor.close()


def server_settings(settings: Settings) -> dict[str, str]:
    """PostgreSQL session settings for every connection aijobs opens."""
    # A process frozen between a write and its COMMIT would hold its row locks
    # forever, so maintenance could never take the job over; the server ends
    # such a session once it has been idle in a transaction for a lease.
    idle_ms = int(settings.job_lease_s * 1000)
    return {"idle_in_transaction_session_timeout": str(idle_ms)}


def create_engine(settings: Settings, *, autocommit: bool = False) -> AsyncEngine:
    """Create an engine whose pool is sized for the process's concurrency.

    With `autocommit`, each statement commits by itself: for the worker's
    fenced writes, which are one statement each and so cost one round trip.
    """
    isolation = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    if settings.is_sqlite:
        _ensure_sqlite_dir(settings.database_url)
        engine = create_async_engine(
            settings.database_url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}, **isolation
        )
        _tune_sqlite(engine)
        return engine

    engine = create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        # A ping is a round trip per checkout: as dear as the one-statement
        # write it would guard, so autocommit pools use _replace_closed instead.
        pool_pre_ping=not autocommit,
        pool_recycle=1800,
        connect_args={"server_settings": server_settings(settings)},
        **isolation,
    )
    if autocommit:
        _replace_closed(engine)
    return engine


def _replace_closed(engine: AsyncEngine) -> None:
    """Swap a pooled connection that the server has closed for a new one, at checkout.

    A server that restarts or ends a session closes its side of the socket,
    and asyncpg notices on the event loop, so the check needs no round trip.
    A connection that dies after the check fails its statement as an outage,
    which the worker retries, just as it would after a ping.
    """

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(_dbapi_connection, record, _proxy):  # type: ignore[no-untyped-def]
        if record.driver_connection.is_closed():
            # The pool discards this connection and checks out another.
            raise DisconnectionError("the server closed this pooled connection")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
