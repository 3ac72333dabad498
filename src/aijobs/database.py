"""Database engines and sessions, one set per event loop that needs them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession

from aijobs.settings import Settings

#: How long SQLite waits for a lock held by another connection, in seconds.
SQLITE_BUSY_TIMEOUT_S = 30


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

    return create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
        pool_recycle=1800,
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
