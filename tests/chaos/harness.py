"""What every fault needs: submitting jobs, watching them, and judging the outcome."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker

from aijobs.jobs.dispatch import JOB_QUEUE, job_message
from tests.chaos import ledger
from tests.chaos.cluster import LEASE_S, MAINTENANCE_PERIOD_S, Cluster
from tests.chaos.ledger import Expect, Verdict, Window
from tests.chaos.processes import NAMESPACE, wait_until
from tests.chaos.servers import SERVER_AWAY, Db
from tests.support import new_job_row

#: Slack beyond lease + one maintenance period before a job counts as stuck: a
#: pass takes time, and two cores are shared by a dozen processes.
SLACK_S = 1.0
STUCK_AFTER_S = LEASE_S + MAINTENANCE_PERIOD_S + SLACK_S
#: A wall clock that ran this much ahead of the monotonic one means the machine slept.
SUSPENDED_AFTER_S = 1.0


@dataclass(frozen=True)
class Profile:
    """How hard a run pushes: the short form runs in pytest, the full one by hand."""

    name: str
    kill_jobs: int
    kills: int
    kill_window_s: float
    term_jobs: int
    freeze_jobs: int
    outage_jobs: int
    outage_s: float
    duplicate_jobs: int
    unsent_jobs: int
    maintenance_jobs: int
    examples: int
    steps: int
    groups: int = 3
    threads: int = 8


def simulate(steps: int = 4, step_s: float = 0.4, **params: Any) -> dict[str, Any]:
    return {"kind": "simulate", "params": {"steps": steps, "step_s": step_s, **params}}


class StuckWatch:
    """Samples, twice a second, jobs left `processing` past their lease and one pass.

    The ledger sees an attempt that was abandoned and settled late; this sees
    the one that stays stuck while a fault lasts and comes unstuck after it.
    It pauses while a fault takes the database away on purpose.

    It also notices when the whole machine was suspended (a paused VM): the
    wall clock then jumps while the monotonic one does not, every lease looks
    expired at once, and that time is nobody's fault, so it is not counted.
    """

    SQL = (
        "SELECT id::text,"
        " extract(epoch FROM clock_timestamp() - lease_expires_at) + $1::float8 AS since_beat"
        " FROM job WHERE status = 'processing'"
        " AND lease_expires_at < clock_timestamp() - $2::interval"
    )

    def __init__(self, db: Db, log_dir: Path) -> None:
        self.db = db
        self.log_dir = log_dir
        self.seen: dict[str, float] = {}
        self.paused_until = 0.0
        self.suspensions: list[Window] = []
        self.clocks = (time.time(), time.monotonic())
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._run, name="chaos-stuck-watch", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.closed.wait(0.5):
            self._notice_suspension()
            if time.time() < self.paused_until:
                continue
            try:
                rows = self.db.fetch(self.SQL, LEASE_S, timedelta(seconds=STUCK_AFTER_S - LEASE_S))
            except SERVER_AWAY:
                # Only a fault that takes the database away on purpose gets here.
                continue
            if any(row["id"] not in self.seen for row in rows):
                self._snapshot()
            now = time.time()
            for row in rows:
                raw = float(row["since_beat"])
                since_beat = raw - ledger.overlap(now - raw, now, self.suspensions)
                self.seen[row["id"]] = max(self.seen.get(row["id"], 0.0), since_beat)

    def _notice_suspension(self) -> None:
        wall, monotonic = time.time(), time.monotonic()
        jump = (wall - self.clocks[0]) - (monotonic - self.clocks[1])
        if jump > SUSPENDED_AFTER_S:
            self.suspensions.append(Window(wall - jump, wall))
        self.clocks = (wall, monotonic)

    def _snapshot(self) -> None:
        """Write down who waits on whom in the database when a job first looks stuck."""
        sessions = self.db.fetch(
            "SELECT pid, client_port, state, wait_event_type, wait_event,"
            " pg_blocking_pids(pid) AS blocked_by, left(query, 100) AS query,"
            " round(extract(epoch FROM clock_timestamp() - xact_start)::numeric, 1) AS xact_s"
            " FROM pg_stat_activity WHERE datname = current_database()"
            " AND state <> 'idle' AND pid <> pg_backend_pid()"
        )
        with (self.log_dir / "stalls.log").open("a") as log:
            log.write(f"{datetime.now(UTC).isoformat()} a job looks stuck; busy sessions:\n")
            for session in sessions:
                log.write(f"  {dict(session)}\n")

    def pause(self) -> None:
        self.paused_until = float("inf")

    def resume_after(self, moment: float) -> None:
        """Watch again once the first maintenance pass after `moment` had its chance."""
        self.paused_until = moment + MAINTENANCE_PERIOD_S + SLACK_S

    def close(self) -> None:
        self.closed.set()
        self.thread.join(30)


@dataclass
class Submitted:
    """What the API answered to the jobs a fault submitted."""

    accepted: dict[str, Expect] = field(default_factory=dict)
    refused: list[tuple[float, int, str]] = field(default_factory=list)
    slowest_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Chaos:
    """One cluster, a random source and the helpers that faults share."""

    def __init__(self, cluster: Cluster, profile: Profile, rng: random.Random) -> None:
        self.cluster = cluster
        self.profile = profile
        self.rng = rng
        self.broker = RedisBroker(url=cluster.redis.url, namespace=NAMESPACE, middleware=[])
        self.watch = StuckWatch(self.db, cluster.log_dir)
        self.fault_started = time.time()

    @property
    def db(self) -> Db:
        assert self.cluster.db is not None
        return self.cluster.db

    @property
    def http(self) -> httpx.Client:
        assert self.cluster.http is not None
        return self.cluster.http

    def submit(
        self, body: dict[str, Any], into: Submitted, expect: Expect = ledger.COMPLETED
    ) -> None:
        """POST one job; a 202 is accepted, any other answer is kept with its detail."""
        started = time.monotonic()
        try:
            response = self.http.post("/jobs", json=body)
        except httpx.HTTPError as exc:
            with into.lock:
                into.refused.append((time.time(), 0, f"no answer ({type(exc).__name__})"))
            return

        with into.lock:
            into.slowest_s = max(into.slowest_s, time.monotonic() - started)
            if response.status_code == 202:
                into.accepted[response.json()["id"]] = expect
            else:
                into.refused.append((time.time(), response.status_code, _detail(response)))

    def submit_over(
        self, bodies: Sequence[dict[str, Any]], span_s: float, into: Submitted
    ) -> threading.Thread:
        """Submit `bodies` evenly over `span_s` seconds from a background thread."""

        def run() -> None:
            start = time.monotonic()
            with ThreadPoolExecutor(4, thread_name_prefix="chaos-submit") as pool:
                futures = []
                for index, body in enumerate(bodies):
                    time.sleep(max(0.0, start + index * span_s / len(bodies) - time.monotonic()))
                    futures.append(pool.submit(self.submit, body, into))
            for future in futures:
                future.result()

        thread = threading.Thread(target=run, name="chaos-submitter", daemon=True)
        thread.start()
        return thread

    def submit_now(
        self, bodies: Iterable[dict[str, Any]], expect: Expect = ledger.COMPLETED
    ) -> Submitted:
        into = Submitted()
        with ThreadPoolExecutor(4, thread_name_prefix="chaos-submit") as pool:
            futures = [pool.submit(self.submit, body, into, expect) for body in bodies]
        for future in futures:
            future.result()
        return into

    def statuses(self, job_ids: Iterable[str]) -> dict[str, str]:
        rows = self.db.fetch("SELECT id, status FROM job WHERE id = ANY($1::uuid[])", list(job_ids))
        return {str(row["id"]): row["status"] for row in rows}

    def wait_finished(self, job_ids: Iterable[str], timeout: float) -> bool:
        """Wait until every job is completed, failed or canceled; False on timeout."""
        ids = list(job_ids)
        try:
            wait_until(
                lambda: _all_finished(self.statuses(ids), len(ids)),
                timeout,
                "every job finished",
            )
        except TimeoutError:
            return False
        return True

    def processing(self, *, expired: bool = False) -> list[dict[str, Any]]:
        """Running jobs with the worker that holds each; with `expired`, lapsed leases too."""
        rows = self.db.fetch(
            "SELECT id, attempts, worker_id FROM job WHERE status = 'processing'"
            " AND ($1 OR lease_expires_at > clock_timestamp())",
            expired,
        )
        return [dict(row) for row in rows]

    def wait_running(self, count: int, timeout: float = 30.0) -> None:
        wait_until(lambda: len(self.processing()) >= count, timeout, f"{count} jobs running")

    def jobs_created_since(self, moment: float) -> list[str]:
        """Every job row committed since `moment`, answered or not."""
        since = datetime.fromtimestamp(moment, UTC)
        rows = self.db.fetch("SELECT id FROM job WHERE created_at >= $1", since)
        return [str(row["id"]) for row in rows]

    def insert_jobs(self, count: int, **values: Any) -> list[str]:
        """Job rows written straight to the table, as a crashed process would leave them."""
        ids = [str(uuid.uuid4()) for _ in range(count)]
        row = new_job_row(**{"params": json.dumps({"steps": 2, "step_s": 0.2}), **values})
        del row["id"]
        names = ["id", *row]
        casts = {"id": "::uuid", "params": "::jsonb", "usage": "::jsonb"}
        marks = ", ".join(f"${i}{casts.get(name, '')}" for i, name in enumerate(names, start=1))
        sql = f"INSERT INTO job ({', '.join(names)}) VALUES ({marks})"
        for job_id in ids:
            self.db.execute(sql, job_id, *row.values())
        return ids

    def sends(self, job_ids: Sequence[str], since: float) -> dict[str, int]:
        """How many times each job's message was sent (enqueued_at stamped) since `since`."""
        rows = self.db.fetch(
            "SELECT job_id::text, count(*) AS n FROM chaos_send"
            " WHERE job_id = ANY($1::uuid[]) AND at >= $2 GROUP BY job_id",
            list(job_ids),
            datetime.fromtimestamp(since, UTC),
        )
        return {row["job_id"]: row["n"] for row in rows}

    def close(self) -> None:
        self.watch.close()

    def redeliver(self, job_id: str, times: int = 1, message: Message[Any] | None = None) -> None:
        """Put the job's wake-up message on the queue again, as a redelivery would."""
        message = message or job_message(uuid.UUID(job_id))
        for _ in range(times):
            self.broker.enqueue(message)

    def queue_empty(self) -> bool:
        return int(self.cluster.broker_redis.llen(f"{NAMESPACE}:{JOB_QUEUE}")) == 0

    def judge(
        self,
        expected: dict[str, Expect],
        *,
        db_outages: Sequence[Window] = (),
        outages: Sequence[Window] = (),
    ) -> Verdict:
        seen = {job_id: self.watch.seen[job_id] for job_id in expected if job_id in self.watch.seen}
        suspended = [w for w in self.watch.suspensions if w.up >= self.fault_started]
        verdict = ledger.judge(
            self.db,
            expected,
            stuck_after_s=STUCK_AFTER_S,
            seen_stuck={job_id: s for job_id, s in seen.items() if s > STUCK_AFTER_S},
            db_outages=[*db_outages, *suspended],
            outages=outages,
        )
        for window in suspended:
            verdict.notes.append(
                f"the machine was suspended {window.up - window.down:.1f} s (the wall clock"
                " jumped); that time is not counted against any job"
            )
        return verdict


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", ""))
    except ValueError:
        return response.text[:200]


def _all_finished(statuses: dict[str, str], count: int) -> bool:
    return len(statuses) == count and all(s in ledger.FINISHED for s in statuses.values())


def ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))
