"""The suite's processes: each in its own session, logged, and stopped by the suite.

Worker groups are `aijobs worker` commands that a supervisor thread starts
again when they exit, as compose's `restart:` or systemd would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import redis

from aijobs.admin.presence import presence_key

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
HOSTNAME = socket.gethostname()
#: Prefix of every Redis key of the suite's processes (REDIS_NAMESPACE).
NAMESPACE = "aijobs-chaos"
#: The sorted set each worker process beats into once it is up.
PRESENCE = presence_key(NAMESPACE)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` until it holds; raise TimeoutError naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout:g} s")
        time.sleep(0.1)


def send_signal(pid: int, signum: signal.Signals) -> bool:
    """Signal a process the suite started; False if it is already gone."""
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        return False
    return True


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


class Process:
    """A command in its own session, logged to a file, stopped by the suite that started it."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log_dir = log_dir
        self.log_path = log_dir / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                self.argv,
                # Not the checkout: a developer's .env there must not reach the cluster.
                cwd=self.log_dir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started_at = time.time()

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} was never started"
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def send(self, signum: signal.Signals) -> None:
        if self.alive():
            os.kill(self.pid, signum)

    def stop(self, signum: signal.Signals = signal.SIGTERM, timeout: float = 30.0) -> None:
        """Ask the process to stop, then kill what is left of its session."""
        if self.alive():
            # A frozen process cannot act on the signal it is sent.
            os.kill(self.pid, signal.SIGCONT)
            os.kill(self.pid, signum)
        self.finish(timeout)

    def finish(self, timeout: float) -> None:
        """Wait for an exit already asked for, then kill what is left of the session.

        Only one stop signal is ever sent: Dramatiq reads a second SIGTERM as
        "kill now", which is not the graceful stop a fault means to test.
        """
        if self.popen is None:
            return

        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        self.popen.wait(10)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def local_ports(pid: int) -> set[int]:
    """Local TCP ports of the sockets process `pid` holds, to find its database sessions."""
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
        tables = [Path(f"/proc/{pid}/net/{t}").read_text() for t in ("tcp", "tcp6")]
    except OSError:
        return set()

    inodes = set()
    for fd in fds:
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in tables:
        for line in table.splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


class WorkerGroup(Process):
    """One `aijobs worker` command: a Dramatiq main process and its children."""

    def __init__(
        self, index: int, env: dict[str, str], log_dir: Path, processes: int, threads: int
    ) -> None:
        argv = python(
            "-m", "aijobs", "worker", "--processes", str(processes), "--threads", str(threads)
        )
        super().__init__(f"worker-{index}", argv, env, log_dir)
        self.processes = processes

    def children(self) -> list[int]:
        if not self.alive():
            return []

        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except OSError:
            return []

    def worker_ids(self) -> set[str]:
        return {f"{HOSTNAME}:{pid}" for pid in self.children()}

    def ready(self, client: redis.Redis) -> bool:
        """Every child has beaten into the presence set since this start."""
        ids = self.worker_ids()
        if len(ids) < self.processes:
            return False

        try:
            scores = [client.zscore(PRESENCE, worker_id) for worker_id in ids]
        except redis.RedisError:
            return False
        return all(score is not None and score >= self.started_at for score in scores)


class Workers:
    """The cluster's worker groups, restarted by a supervisor thread when one exits.

    Dramatiq shuts a whole group down when one of its children dies, and
    something outside must start it again (compose's `restart:`, systemd);
    here the supervisor thread plays that part.
    """

    def __init__(
        self,
        env: dict[str, str],
        log_dir: Path,
        redis_url: str,
        *,
        groups: int,
        processes: int,
        threads: int,
    ) -> None:
        self.groups = [WorkerGroup(i, env, log_dir, processes, threads) for i in range(groups)]
        self.redis = redis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=2)
        self.restarts: list[float] = []
        self.supervising = threading.Event()
        self.closed = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._supervise, name="chaos-supervisor", daemon=True)

    def start(self, timeout: float = 90.0) -> None:
        """Start every stopped group and wait until all are ready, supervised from now on."""
        with self.lock:
            for group in self.groups:
                if not group.alive():
                    group.start()
        self.wait_ready(timeout)
        self.supervising.set()
        if not self.thread.is_alive():
            self.thread.start()

    def wait_ready(self, timeout: float = 90.0) -> None:
        wait_until(lambda: all(g.ready(self.redis) for g in self.groups), timeout, "workers ready")

    def stop(self, signum: signal.Signals = signal.SIGTERM, timeout: float = 60.0) -> None:
        """Stop every group and leave them stopped until `start`."""
        self.supervising.clear()
        with self.lock:
            for group in self.groups:
                group.send(signal.SIGCONT)
                group.send(signum)
            for group in self.groups:
                group.finish(timeout)

    @contextlib.contextmanager
    def unsupervised(self) -> Iterator[None]:
        """Leave exited groups down for a while: the fault decides when they come back."""
        self.supervising.clear()
        try:
            yield
        finally:
            self.supervising.set()

    def holder(self, worker_id: str) -> WorkerGroup | None:
        return next((g for g in self.groups if worker_id in g.worker_ids()), None)

    def _supervise(self) -> None:
        while not self.closed.wait(0.2):
            if not self.supervising.is_set():
                continue

            with self.lock:
                for group in self.groups:
                    if not group.alive() and self.supervising.is_set():
                        group.finish(0)
                        group.start()
                        self.restarts.append(time.time())

    def close(self) -> None:
        self.closed.set()
        self.stop()
        if self.thread.is_alive():
            self.thread.join(5)
        self.redis.close()
