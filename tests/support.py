"""Helpers the tests share: direct database reads, waiting, worker processes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from aijobs.jobs.repository import utcnow

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")

_engine: AsyncEngine | None = None


def engine() -> AsyncEngine:
    global _engine
    if _engine is None:
        _engine = create_async_engine(os.environ["DATABASE_URL"], pool_size=2)
    return _engine


async def execute(sql: str, **params: Any) -> None:
    async with engine().begin() as connection:
        await connection.execute(text(sql), params)


async def create_api_key(name: str, admin: bool = False) -> tuple[str, uuid.UUID]:
    """A key made as `aijobs keys create` makes it: (the key, its row's id)."""
    from sqlalchemy.ext.asyncio import AsyncSession

    from aijobs.auth.models import Role
    from aijobs.auth.repository import ApiKeyService
    from aijobs.settings import get_settings

    role = Role.ADMIN if admin else Role.USER
    async with AsyncSession(engine(), expire_on_commit=False) as session:
        row, key = await ApiKeyService(session=session).create_key(get_settings(), name, role)
    return key, row.id


async def job_row(job_id: str) -> dict[str, Any]:
    """The job's row as the database holds it."""
    async with engine().connect() as connection:
        result = await connection.execute(text("SELECT * FROM job WHERE id = :id"), {"id": job_id})
        row = result.mappings().one()
    return dict(row)


async def wait_for(
    probe: Callable[[], Awaitable[T]], until: Callable[[T], bool], timeout: float = 20.0
) -> T:
    """Poll `probe` until `until(value)` holds; fail with the last value after `timeout`."""
    deadline = time.monotonic() + timeout
    value = await probe()
    while not until(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s; last value: {value!r}")
        await asyncio.sleep(0.05)
        value = await probe()
    return value


def new_job_row(**values: Any) -> dict[str, Any]:
    """The columns of a pending `simulate` job as the API would write them; `values` win."""
    now = utcnow()
    return {
        "id": str(uuid.uuid4()),
        "kind": "simulate",
        "status": "pending",
        "progress": 0,
        "params": "{}",
        "usage": "{}",
        "attempts": 0,
        "attempts_floor": 0,
        "cancel_requested": False,
        "created_at": now,
        "updated_at": now,
        "enqueued_at": now,
        **values,
    }


async def insert_job(**values: Any) -> str:
    """A job row written straight to the table, as a crashed process would leave it."""
    row = new_job_row(**values)
    columns = ", ".join(row)
    placeholders = ", ".join(
        f"CAST(:{name} AS jsonb)" if name in ("params", "usage") else f":{name}" for name in row
    )
    await execute(f"INSERT INTO job ({columns}) VALUES ({placeholders})", **row)
    return row["id"]


class AijobsProcess:
    """An `aijobs` command run by a test in its own process group, logged to var/."""

    #: What the process stops on: SIGTERM for workers, SIGINT for Uvicorn.
    stop_signal = signal.SIGTERM

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.args = args
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = ROOT / "var" / f"test-{args[0]}-{id(self)}.log"

    def spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "aijobs", *self.args],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def exited(self) -> bool:
        return self.process is None or self.process.poll() is not None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """Ask the main process to stop (it stops its children), then SIGKILL the rest."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(self.stop_signal)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        self.log.close()


class WorkerProcess(AijobsProcess):
    """A real `aijobs worker` process tree with one child process."""

    def __init__(self, env: dict[str, str] | None = None, threads: int = 4) -> None:
        super().__init__(["worker", "--processes", "1", "--threads", str(threads)], env)

    def start(self, wait: bool = True) -> WorkerProcess:
        self.spawn()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Ready once a child process of ours beats in the presence set."""
        from aijobs.admin.presence import presence_key

        client = redis.Redis.from_url(self.env["REDIS_URL"])
        key = presence_key(self.env["REDIS_NAMESPACE"])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.exited():
                raise RuntimeError(f"worker exited early:\n{self.output()}")
            members = {m.decode() for m in client.zrange(key, 0, -1)}
            if any(m.endswith(f":{pid}") for m in members for pid in self.child_pids()):
                return
            time.sleep(0.1)
        raise RuntimeError(f"worker not ready within {timeout} s:\n{self.output()}")

    def child_pids(self) -> list[int]:
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []


@contextmanager
def running_workers(
    count: int, env: dict[str, str] | None = None, threads: int = 4
) -> Iterator[list[WorkerProcess]]:
    """`count` separate worker processes, started side by side, stopped at the end."""
    workers = [WorkerProcess(env, threads).start(wait=False) for _ in range(count)]
    try:
        for worker in workers:
            worker.wait_ready()
        yield workers
    finally:
        for worker in workers:
            worker.stop()


@contextmanager
def running_worker(env: dict[str, str] | None = None, threads: int = 4) -> Iterator[WorkerProcess]:
    with running_workers(1, env, threads) as workers:
        yield workers[0]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess(AijobsProcess):
    """An `aijobs` server command (dev or api) on a free loopback port."""

    stop_signal = signal.SIGINT

    def __init__(self, command: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__([command], {**(env or {}), "HOST": "127.0.0.1", "PORT": str(self.port)})

    def start(self, timeout: float = 60.0) -> ServerProcess:
        import httpx

        self.spawn()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.exited():
                raise RuntimeError(f"{self.args[0]} exited early:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.args[0]} did not answer within {timeout} s:\n{self.output()}")


@contextmanager
def running_server(command: str, env: dict[str, str] | None = None) -> Iterator[ServerProcess]:
    server = ServerProcess(command, env).start()
    try:
        yield server
    finally:
        server.stop()
