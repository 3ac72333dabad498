"""The suite's own PostgreSQL and Redis, on spare ports, which it may stop or kill at will.

Never the shared test servers: the suite takes these away on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import shlex
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import redis

from tests.chaos.processes import HOST, Process, free_port, wait_until

#: The user that runs PostgreSQL when the suite runs as root (initdb refuses root).
PG_USER = "postgres"

T = TypeVar("T")


class ClusterUnavailable(Exception):
    """This machine lacks what the suite needs to run its own servers."""


def _postgres_bin() -> Path:
    """The newest PostgreSQL server binaries on this machine."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    initdb = candidates[-1] if candidates else shutil.which("initdb")
    if initdb is None:
        raise ClusterUnavailable("PostgreSQL server binaries (initdb, pg_ctl) are not installed")

    return Path(initdb).parent


class Postgres:
    """A throwaway PostgreSQL server in a temporary directory, on a spare port."""

    def __init__(self, base: Path) -> None:
        self.bin = _postgres_bin()
        self.dir = base / "pg"
        self.data = self.dir / "data"
        self.log_path = self.dir / "postgres.log"
        self.port = free_port()
        self.url = f"postgresql://postgres@{HOST}:{self.port}/aijobs"

    def _run(self, *argv: str) -> None:
        command = [str(self.bin / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            # initdb and postgres refuse to run as root.
            if shutil.which("runuser"):
                command = ["runuser", "-u", PG_USER, "--", *command]
            else:
                command = ["su", PG_USER, "-s", "/bin/sh", "-c", shlex.join(command)]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self.dir.mkdir()
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam(PG_USER)
            except KeyError:
                raise ClusterUnavailable(f"running as root needs a {PG_USER!r} user") from None
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")

        self.start()
        self._run("createdb", "-h", HOST, "-p", str(self.port), "-U", "postgres", "aijobs")

    def _options(self, *extra: str) -> str:
        return " ".join(
            [
                f"-p {self.port} -k {self.dir} -c listen_addresses={HOST}",
                # Durability against power loss is not under test; speed is needed.
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                "-c max_connections=300 -c shared_buffers=64MB",
                *extra,
            ]
        )

    def start(self) -> None:
        self._ctl("-w", "-t", "60", "-o", self._options(), "start")

    def start_recovering(self) -> None:
        """Start as a server still in recovery, refusing connections until `promote`.

        This is what a server looks like while it replays its write-ahead log
        after a crash, or on a large database: up, but answering every new
        connection with SQLSTATE 57P03 ("the database system is starting up").
        """
        signal_file = self.data / "standby.signal"
        signal_file.touch()
        if os.geteuid() == 0:
            user = pwd.getpwnam(PG_USER)
            os.chown(signal_file, user.pw_uid, user.pw_gid)
        self._ctl("-W", "-o", self._options("-c hot_standby=off"), "start")

    def promote(self) -> None:
        self._ctl("-w", "-t", "60", "promote")

    def _ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log_path), *args)

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def destroy(self) -> None:
        if self.running():
            with contextlib.suppress(subprocess.SubprocessError):
                self.stop("immediate")


class Redis:
    """A throwaway Redis server with an append-only file, on a spare port."""

    def __init__(self, base: Path, log_dir: Path) -> None:
        self.dir = base / "redis"
        self.dir.mkdir()
        self.port = free_port()
        self.url = f"redis://{HOST}:{self.port}/0"
        argv = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            HOST,
            "--dir",
            str(self.dir),
            "--appendonly",
            "yes",
            "--save",
            "",
            "--protected-mode",
            "no",
        ]
        if shutil.which(argv[0]) is None:
            raise ClusterUnavailable("redis-server is not installed")
        self.process = Process("redis", argv, dict(os.environ), log_dir)

    def start(self) -> None:
        self.process.start()
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        wait_until(lambda: _pings(client), 20, "Redis answering")
        client.close()

    def kill(self) -> None:
        self.process.stop(signal.SIGKILL)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


#: What asyncpg raises while the server is stopped, starting or shutting down.
SERVER_AWAY = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
)


class Db:
    """Blocking access to the suite's database from any thread, through one private loop."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="chaos-db", daemon=True)
        self.thread.start()
        self.pool: asyncpg.Pool[Any] = self._call(self._open())

    async def _open(self) -> asyncpg.Pool[Any]:
        return await asyncpg.create_pool(self.url, min_size=0, max_size=4)

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout=60)

    def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return self._call(self._with_retries(lambda conn: conn.fetch(sql, *args)))

    def fetchval(self, sql: str, *args: Any) -> Any:
        return self._call(self._with_retries(lambda conn: conn.fetchval(sql, *args)))

    def execute(self, sql: str, *args: Any) -> None:
        self._call(self._with_retries(lambda conn: conn.execute(sql, *args)))

    async def _with_retries(self, query: Callable[[asyncpg.Connection[Any]], Any]) -> Any:
        """Run `query`, reconnecting while the server comes back from a planned outage."""
        for attempt in range(40):
            try:
                async with self.pool.acquire() as connection:
                    return await query(connection)
            except SERVER_AWAY:
                if attempt == 39:
                    raise
                await self.pool.expire_connections()
                await asyncio.sleep(0.5)
        raise AssertionError("unreachable")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._call(asyncio.wait_for(self.pool.close(), 10))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
