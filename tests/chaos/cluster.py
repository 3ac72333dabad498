"""The suite's own cluster: servers and aijobs processes, started in order, stopped in reverse.

Every process runs in its own session and is stopped by the suite that
started it, also when a fault or an assertion fails half way.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import redis

from aijobs.settings import Settings
from tests.chaos.processes import (
    HOST,
    NAMESPACE,
    ROOT,
    Process,
    Workers,
    free_port,
    python,
    wait_until,
)
from tests.chaos.servers import ClusterUnavailable, Db, Postgres, Redis

#: Where each run leaves the logs of every process, one folder per run; git ignores var/.
LOGS_ROOT = ROOT / "var" / "chaos"
#: Run folders kept; older ones are removed when a run starts.
KEEP_RUNS = 5


#: Settings of every aijobs process the suite starts: short, so faults resolve in seconds.
SETTINGS = {
    "REDIS_NAMESPACE": NAMESPACE,
    "WORKER_METRICS_PORT": "0",
    "JOB_LEASE_S": "2",
    "JOB_RESEND_AFTER_S": "5",
    "JOB_MIN_BACKOFF_MS": "100",
    "JOB_MAX_BACKOFF_MS": "1000",
    "JOB_MAX_RETRIES": "3",
    # Above the longest job of the suite (3 s), low enough for fault 8 to wait out.
    "JOB_TIME_LIMIT_S": "10",
    "JOB_MAX_AGE_S": "3600",
    "DB_POOL_SIZE": "10",
    "DB_MAX_OVERFLOW": "5",
    "LOG_LEVEL": "INFO",
    "LOG_FORMAT": "json",
    "OPENAI_API_KEY": "",
    # The suite's API listens on loopback and judges jobs, not keys.
    "AUTH_ENABLED": "false",
    "RATE_LIMIT_PER_MINUTE": "0",
    "PYTHONUNBUFFERED": "1",
}
LEASE_S = float(SETTINGS["JOB_LEASE_S"])
RESEND_AFTER_S = float(SETTINGS["JOB_RESEND_AFTER_S"])
#: Seconds between two passes of the suite's maintenance loop (aijobs' cron: 60).
MAINTENANCE_PERIOD_S = 1.0


def _new_log_dir() -> Path:
    """A folder for this run's logs; runs may overlap (pytest and a full run), so never reused."""
    LOGS_ROOT.mkdir(parents=True, exist_ok=True)
    runs = sorted(p for p in LOGS_ROOT.iterdir() if p.is_dir())
    for old in runs[: max(0, len(runs) - KEEP_RUNS + 1)]:
        shutil.rmtree(old, ignore_errors=True)
    log_dir = LOGS_ROOT / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    log_dir.mkdir()
    return log_dir


def http_client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=httpx.Timeout(10.0, connect=2.0))


class Cluster:
    """Every server and process of the suite, started in order and stopped in reverse.

    Use it as a context manager: whatever started is stopped on the way out,
    whether the faults passed, failed or raised.
    """

    def __init__(self, *, setup_sql: str, groups: int, processes: int, threads: int) -> None:
        self.log_dir = _new_log_dir()
        self.base = Path(tempfile.mkdtemp(prefix="aijobs-chaos-"))
        # PostgreSQL runs as another user when we are root; it must reach its directory.
        self.base.chmod(0o755)
        self.setup_sql = setup_sql
        try:
            self.pg = Postgres(self.base)
            self.redis = Redis(self.base, self.log_dir)
        except ClusterUnavailable:
            shutil.rmtree(self.base, ignore_errors=True)
            raise
        self.api_url = f"http://{HOST}:{free_port()}"
        self.pause_file = self.base / "maintenance.paused"
        self.env = self.env_with()
        self.api = Process("api", python("-m", "aijobs", "api"), self.env, self.log_dir)
        self.maintainer = self.maintainer_process("maintainer", MAINTENANCE_PERIOD_S)
        self.workers = Workers(
            self.env,
            self.log_dir,
            self.redis.url,
            groups=groups,
            processes=processes,
            threads=threads,
        )
        self.extra: list[Process] = []
        self.db: Db | None = None
        self.http: httpx.Client | None = None
        self.broker_redis = redis.Redis.from_url(self.redis.url, socket_connect_timeout=1)

    def env_with(self, **overrides: str) -> dict[str, str]:
        """The environment of an aijobs process of this cluster, with `overrides`."""
        host, port = self.api_url.removeprefix("http://").split(":")
        # Settings of the shell (or of the test session) must not leak into the cluster.
        inherited = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
        # The processes run outside the checkout, so `-m tests.chaos...` needs it on the path.
        path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(ROOT)) if p)
        return {
            **inherited,
            "PYTHONPATH": path,
            **SETTINGS,
            "DATABASE_URL": self.pg.url.replace("postgresql://", "postgresql+asyncpg://"),
            "REDIS_URL": self.redis.url,
            "DATA_DIR": str(self.base / "data"),
            "HOST": host,
            "PORT": port,
            **overrides,
        }

    def maintainer_process(self, name: str, period: float, *extra: str) -> Process:
        argv = python(
            "-m",
            "tests.chaos.maintainer",
            "--period",
            str(period),
            "--report",
            str(self.log_dir / f"{name}.jsonl"),
            *extra,
        )
        if name == "maintainer":
            argv += ["--pause-file", str(self.pause_file)]
        return Process(name, argv, self.env, self.log_dir)

    def __enter__(self) -> Cluster:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _start(self) -> None:
        self.pg.init()
        self.redis.start()
        with (self.log_dir / "migrate.log").open("ab") as log:
            subprocess.run(
                python("-m", "aijobs", "migrate"),
                cwd=self.log_dir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=True,
                timeout=120,
            )
        self.db = Db(self.pg.url)
        self.db.execute(self.setup_sql)

        self.api.start()
        self.maintainer.start()
        self.workers.start()
        self.http = http_client(self.api_url)
        wait_until(self._api_answers, 60, "API answering /health")

    def _api_answers(self) -> bool:
        assert self.http is not None
        if not self.api.alive():
            raise RuntimeError(f"the API exited:\n{self.api.output()[-2000:]}")
        try:
            return self.http.get("/health").status_code == 200
        except httpx.HTTPError:
            return False

    def spawn(self, process: Process) -> Process:
        """Start a process that the cluster stops with everything else."""
        self.extra.append(process)
        process.start()
        return process

    @contextlib.contextmanager
    def maintenance_paused(self) -> Iterator[None]:
        """Hold the suite's maintenance loop, so a fault sees no pass it did not ask for."""
        self.pause_file.touch()
        try:
            # A pass that started before the pause may still be running.
            time.sleep(MAINTENANCE_PERIOD_S)
            yield
        finally:
            self.pause_file.unlink(missing_ok=True)

    def close(self) -> None:
        steps: list[Callable[[], None]] = [
            self.workers.close,
            *[process.stop for process in reversed(self.extra)],
            self.maintainer.stop,
            lambda: self.api.stop(signal.SIGINT),
            *([self.http.close] if self.http else []),
            *([self.db.close] if self.db else []),
            self.broker_redis.close,
            self.redis.kill,
            self.pg.destroy,
            lambda: shutil.copy(self.pg.log_path, self.log_dir / "postgres.log"),
            lambda: shutil.rmtree(self.base, ignore_errors=True),
        ]
        for step in steps:
            # One step failing must not leave the later processes running.
            with contextlib.suppress(Exception):
                step()
