"""Database engines and sessions, one set per event loop that needs them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
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
    if isinstance(exc, OperationalError | InterfaceError):
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


def create_engine(settings: Settings) -> AsyncEngine:
    """Create an engine whose pool is sized for the process's concurrency."""
    if settings.is_sqlite:
        _ensure_sqlite_dir(settings.database_url)
        engine = create_async_engine(
            settings.database_url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}
        )
        _tune_sqlite(engine)
        return engine

    # A process frozen between a write and its COMMIT would hold its row locks
    # forever, so maintenance could never take the job over; the server ends
    # such a session once it has been idle in a transaction for a lease.
    idle_ms = int(settings.job_lease_s * 1000)
    return create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"server_settings": {"idle_in_transaction_session_timeout": str(idle_ms)}},
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
