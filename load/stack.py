"""The scaled stack on this machine for the benchmark: its database, Redis, processes.

Every process is started in its own session and stopped by its pid; the
database and the Redis db it uses are the benchmark's own and are removed at
the end.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import asyncpg
import httpx
import redis
from http_load import encode_request

ROOT = Path(__file__).resolve().parents[1]
#: Where the processes' logs and the results go.
OUT_DIR = ROOT / "var" / "bench"
#: How long a process gets to stop on its signal before it is killed, in seconds.
STOP_TIMEOUT_S = 15.0
#: How long a process gets to be ready, in seconds.
START_TIMEOUT_S = 60.0
#: Name of the admin key the benchmark makes and sends with every request.
ADMIN_KEY_NAME = "bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "", parsed.port or default_port), 1):
            return True
    except OSError:
        return False


def rss_mb(pid: int) -> float:
    """Resident memory of a process (VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

    raise RuntimeError(f"no VmRSS for pid {pid}")


class CpuWatch(threading.Thread):
    """Sample every process's CPU time each second, to tell what else ran meanwhile.

    Processes in the benchmark's own session, or in the sessions of the stack
    it started, are ours; PostgreSQL and Redis serve everyone and are left out.
    """

    SHARED = ("postgres", "redis-server")

    def __init__(self, stack: LocalStack) -> None:
        super().__init__(name="cpu-watch", daemon=True)
        self.stack = stack
        self.halt = threading.Event()
        self.started_at = time.monotonic()
        self.last = _cpu_seconds()
        self.used: Counter[str] = Counter()

    def run(self) -> None:
        while not self.halt.wait(1.0):
            self._sample()

    def stop(self) -> list[str]:
        """Stop; the other processes that used 5% of a CPU or more, busiest first."""
        self.halt.set()
        self.join()
        self._sample()
        seconds = time.monotonic() - self.started_at
        shares = [(100 * used / seconds, label) for label, used in self.used.items()]
        return [
            f"{label} {share:.0f}%" for share, label in sorted(shares, reverse=True) if share >= 5
        ]

    def _sample(self) -> None:
        now = _cpu_seconds()
        ours = {os.getsid(0), *(process.pid for process in self.stack.processes)}
        for pid, (label, session, seconds) in now.items():
            if session in ours or label.startswith(self.SHARED):
                continue
            # A process first seen now was born since the last sample.
            before = self.last[pid][2] if pid in self.last else 0.0
            self.used[label] += seconds - before
        self.last = now


def _cpu_seconds() -> dict[int, tuple[str, int, float]]:
    """(command, session id, CPU seconds) of every process, by pid."""
    ticks = os.sysconf("SC_CLK_TCK")
    found: dict[int, tuple[str, int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        command = " ".join(arg.decode(errors="replace") for arg in argv[:4] if arg)
        label = (command or stat[stat.index("(") + 1 : stat.rindex(")")])[:70]
        found[int(entry.name)] = (
            label,
            int(fields[3]),
            (int(fields[11]) + int(fields[12])) / ticks,
        )
    return found


def child_pids(pid: int) -> list[int]:
    try:
        return [
            int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        ]
    except OSError:
        return []


class Process:
    """One `aijobs` command in its own session, logged to var/bench/NAME.log."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], stop_signal: int) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.stop_signal = stop_signal
        self.log_path = OUT_DIR / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def start(self) -> Process:
        log = self.log_path.open("wb")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "aijobs", *self.args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        return self

    def run(self, timeout: float = START_TIMEOUT_S) -> None:
        """Run to the end; fail with the log's tail if it does not succeed."""
        self.start()
        assert self.popen is not None
        if self.popen.wait(timeout=timeout) != 0:
            raise RuntimeError(f"`aijobs {' '.join(self.args)}` failed:\n{self.tail()}")

    def check_alive(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            raise RuntimeError(f"{self.name} exited early:\n{self.tail()}")

    def tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Signal the process; kill its whole session (our pid's group) if it lingers."""
        if self.popen is None or self.popen.poll() is not None:
            return

        self.popen.send_signal(self.stop_signal)
        try:
            self.popen.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)


class LocalStack:
    """The benchmark's database and Redis db, and the processes that use them."""

    def __init__(self, pg_admin_url: str, redis_url: str, database: str) -> None:
        self.pg_admin_url = pg_admin_url
        self.redis_url = redis_url
        self.database = database
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes: list[Process] = []
        parsed = urlparse(pg_admin_url)
        #: The benchmark database, for asyncpg; the app is given the same with its driver.
        self.database_dsn = parsed._replace(path=f"/{database}").geturl()
        database_url = parsed._replace(scheme="postgresql+asyncpg", path=f"/{database}").geturl()
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "LOG_LEVEL": "INFO",
            "LOG_FORMAT": "json",
            "OPENAI_API_KEY": "",
            "WORKER_METRICS_PORT": "0",
            "DATA_DIR": str(OUT_DIR / "data"),
            # As deployed: every request carries a key. One key cannot stay
            # under a per-key limit at these rates, so the limit is off.
            "AUTH_ENABLED": "true",
            "RATE_LIMIT_PER_MINUTE": "0",
            "SECRET_KEY": "bench-only-secret",
        }
        self.api_key = ""

    def check_services(self) -> None:
        for url, port, what in (
            (self.pg_admin_url, 5432, "PostgreSQL"),
            (self.redis_url, 6379, "Redis"),
        ):
            if not reachable(url, port):
                raise SystemExit(f"bench: {what} is not reachable at {url}")

    async def create(self) -> None:
        """A fresh database migrated by `aijobs migrate`, and an empty Redis db."""
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        await self._sql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        await self._sql(f'CREATE DATABASE "{self.database}"')
        redis.Redis.from_url(self.redis_url).flushdb()
        migrate = Process("migrate", ["migrate"], self.env, signal.SIGTERM)
        self.processes.append(migrate)
        migrate.run()
        self.api_key = self._create_admin_key()

    def _create_admin_key(self) -> str:
        """An admin key, made as an operator makes one; the key is the last line printed."""
        made = subprocess.run(
            [sys.executable, "-m", "aijobs", "keys", "create", "--name", ADMIN_KEY_NAME, "--admin"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return made.stdout.splitlines()[-1]

    @property
    def client_options(self) -> dict[str, Any]:
        """What an httpx client of this stack needs: where it is, and the key."""
        return {
            "base_url": self.url,
            "timeout": 10,
            "headers": {"Authorization": f"Bearer {self.api_key}"},
        }

    def encode(self, method: str, target: str, payload: Any = None) -> bytes:
        """A request to this stack with the key, as bytes for the lean load generator."""
        body = b"" if payload is None else json.dumps(payload).encode()
        host = f"127.0.0.1:{self.port}"
        return encode_request(method, target, host=host, api_key=self.api_key, body=body)

    async def destroy(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        await self._sql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        redis.Redis.from_url(self.redis_url).flushdb()

    async def _sql(self, statement: str) -> None:
        connection = await asyncpg.connect(self.pg_admin_url)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    def start_api(self, processes: int = 1) -> Process:
        """`aijobs api --workers PROCESSES`, once it answers /health."""
        # Uvicorn stops gracefully on SIGINT, as on Ctrl-C.
        args = ["api", "--workers", str(processes)]
        api = Process("api", args, self.env, signal.SIGINT).start()
        self.processes.append(api)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            api.check_alive()
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return api
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"api did not answer within {START_TIMEOUT_S:g} s:\n{api.tail()}")

    def start_workers(self, processes: int, threads: int) -> Process:
        """An `aijobs worker` group, ready once each child beats in the presence set."""
        args = ["worker", "--processes", str(processes), "--threads", str(threads)]
        group = Process(f"worker-{processes}", args, self.env, signal.SIGTERM).start()
        self.processes.append(group)
        client = redis.Redis.from_url(self.redis_url)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            group.check_alive()
            children = child_pids(group.pid)
            beating = {
                member.decode().rsplit(":", 1)[-1]
                for key in client.scan_iter(match="*workers*")
                if client.type(key) == b"zset"
                for member in client.zrange(key, 0, -1)
            }
            if len(children) == processes and all(str(pid) in beating for pid in children):
                return group
            time.sleep(0.1)
        raise RuntimeError(f"workers not ready within {START_TIMEOUT_S:g} s:\n{group.tail()}")
