"""What happened to every job, recorded by triggers outside the job row, and the verdict.

Each claim increments `job.attempts`, so a trigger on the job table sees every
start; it also sees every lease renewal and every status change. From those
rows the suite counts, per fault: jobs lost, jobs run twice at the same time,
jobs left `processing` past their lease, and how long recovery took.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

from tests.chaos.servers import Db

SCHEMA = """
CREATE TABLE chaos_attempt (
    job_id uuid NOT NULL,
    attempt integer NOT NULL,
    worker_id text,
    started_at timestamptz NOT NULL,
    beat_at timestamptz NOT NULL,
    lease_until timestamptz,
    ended_at timestamptz,
    ended_as text,
    reason text,
    PRIMARY KEY (job_id, attempt)
);
CREATE TABLE chaos_transition (
    id bigserial PRIMARY KEY,
    job_id uuid NOT NULL,
    attempt integer NOT NULL,
    from_status text NOT NULL,
    to_status text NOT NULL,
    reason text,
    at timestamptz NOT NULL
);
CREATE INDEX chaos_transition_job ON chaos_transition (job_id);
CREATE TABLE chaos_send (
    job_id uuid NOT NULL,
    status text NOT NULL,
    at timestamptz NOT NULL
);
CREATE INDEX chaos_send_job ON chaos_send (job_id);
CREATE TABLE chaos_late_write (
    job_id uuid NOT NULL,
    status text NOT NULL,
    at timestamptz NOT NULL
);

-- clock_timestamp(), not now(): a claim that waited on a row lock is stamped
-- after the write it waited for, so its start never precedes that write.
CREATE FUNCTION chaos_record() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    at timestamptz := clock_timestamp();
BEGIN
    IF NEW.attempts > OLD.attempts THEN
        UPDATE chaos_attempt SET ended_at = at, ended_as = 'taken over'
         WHERE job_id = OLD.id AND attempt = OLD.attempts AND ended_at IS NULL;
        INSERT INTO chaos_attempt (job_id, attempt, worker_id, started_at, beat_at, lease_until)
        VALUES (NEW.id, NEW.attempts, NEW.worker_id, at, at, NEW.lease_expires_at);
    ELSIF NEW.status = 'processing' AND OLD.status = 'processing'
          AND NEW.lease_expires_at IS DISTINCT FROM OLD.lease_expires_at THEN
        UPDATE chaos_attempt SET beat_at = at, lease_until = NEW.lease_expires_at
         WHERE job_id = NEW.id AND attempt = NEW.attempts;
    END IF;

    IF OLD.status = 'processing' AND NEW.status <> 'processing' THEN
        UPDATE chaos_attempt SET ended_at = at, ended_as = NEW.status, reason = NEW.error_message
         WHERE job_id = NEW.id AND attempt = OLD.attempts;
    END IF;

    -- Whoever sends a job's message stamps enqueued_at in the same statement.
    IF NEW.enqueued_at IS DISTINCT FROM OLD.enqueued_at THEN
        INSERT INTO chaos_send (job_id, status, at) VALUES (NEW.id, NEW.status, at);
    END IF;

    IF NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO chaos_transition (job_id, attempt, from_status, to_status, reason, at)
        VALUES (NEW.id, NEW.attempts, OLD.status, NEW.status, NEW.error_message, at);
    ELSIF OLD.status IN ('completed', 'failed', 'canceled') AND NEW IS DISTINCT FROM OLD THEN
        INSERT INTO chaos_late_write (job_id, status, at) VALUES (NEW.id, NEW.status, at);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER chaos_record AFTER UPDATE ON job FOR EACH ROW EXECUTE FUNCTION chaos_record();
"""

#: Status changes DESIGN.md allows. pending -> failed is Dramatiq dropping a
#: message that waited too long (JOB_MAX_AGE_S); the row then says so.
ALLOWED = {
    ("pending", "processing"),
    ("pending", "canceled"),
    ("pending", "failed"),
    ("processing", "completed"),
    ("processing", "failed"),
    ("processing", "canceled"),
    ("processing", "pending"),
    ("failed", "pending"),
    ("canceled", "pending"),
}
FINISHED = frozenset({"completed", "failed", "canceled"})


def install(db: Db) -> None:
    db.execute(SCHEMA)


@dataclass(frozen=True)
class Expect:
    """How a job must end: one of `statuses`, its error_message containing `reason`."""

    statuses: frozenset[str] = frozenset({"completed"})
    reason: str | None = None


COMPLETED = Expect()


@dataclass(frozen=True)
class Window:
    """A span of epoch seconds during which a server was down."""

    down: float
    up: float


@dataclass
class Verdict:
    """One line of the table: what the fault did to the jobs it touched."""

    fault: str = ""
    accepted: int = 0
    judged: int = 0
    once: int = 0
    lost: int = 0
    twice: int = 0
    stuck: int = 0
    recover_s: float = 0.0
    held_s: float = 0.0
    took_s: float = 0.0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.lost == self.twice == self.stuck == 0 and not self.problems


def epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def overlap(start: float, end: float, windows: Iterable[Window]) -> float:
    """Seconds of [start, end] during which one of `windows` was open."""
    return sum(max(0.0, min(end, w.up) - max(start, w.down)) for w in windows)


@dataclass
class Attempt:
    job_id: str
    attempt: int
    worker_id: str | None
    started_at: float
    beat_at: float
    lease_until: float | None
    ended_at: float | None
    ended_as: str | None
    reason: str | None

    @property
    def live_until(self) -> float:
        """Until when this attempt could write: its end, or its lease if that came first."""
        ends = [t for t in (self.ended_at, self.lease_until) if t is not None]
        return min(ends) if ends else float("inf")

    def abandoned(self) -> bool:
        """True when the attempt left `processing` only after its lease had run out."""
        if self.ended_as == "taken over":
            return True
        if self.lease_until is None or self.ended_at is None:
            return False
        return self.ended_at > self.lease_until


class Ledger:
    """The recorded history of a set of jobs, read once at the end of a fault."""

    def __init__(self, db: Db, job_ids: Sequence[str]) -> None:
        ids = list(job_ids)
        self.rows = {str(r["id"]): dict(r) for r in db.fetch(_ROWS, ids)}
        self.attempts: dict[str, list[Attempt]] = defaultdict(list)
        for r in db.fetch("SELECT * FROM chaos_attempt WHERE job_id = ANY($1::uuid[])", ids):
            self.attempts[str(r["job_id"])].append(_attempt(r))
        for attempts in self.attempts.values():
            attempts.sort(key=lambda a: a.attempt)
        self.transitions: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in db.fetch(_TRANSITIONS, ids):
            self.transitions[str(r["job_id"])].append({**dict(r), "at": epoch(r["at"])})
        self.late_writes = Counter(
            str(r["job_id"])
            for r in db.fetch("SELECT job_id FROM chaos_late_write WHERE job_id = ANY($1)", ids)
        )
        self.now = float(db.fetchval("SELECT extract(epoch FROM clock_timestamp())"))

    def ran_twice(self, job_id: str) -> bool:
        """Two attempts live at once, or more than one completion."""
        attempts = self.attempts.get(job_id, [])
        overlapping = any(b.started_at < a.live_until for a, b in pairwise(attempts))
        completions = sum(t["to_status"] == "completed" for t in self.transitions[job_id])
        return overlapping or completions > 1

    def ended_once(self, job_id: str, status: str) -> bool:
        """The job reached `status` exactly once since it was last retried by a client."""
        since_retry: list[dict[str, Any]] = []
        for t in self.transitions[job_id]:
            retried = t["from_status"] in ("failed", "canceled") and t["to_status"] == "pending"
            since_retry = [] if retried else [*since_retry, t]
        return sum(t["to_status"] == status for t in since_retry) == 1

    def held(self, attempt: Attempt, outages: Sequence[Window]) -> float:
        """Seconds from the attempt's last heartbeat until it left `processing`, minus outages."""
        left = attempt.ended_at if attempt.ended_at is not None else self.now
        return left - attempt.beat_at - overlap(attempt.beat_at, left, outages)

    def next_start(self, attempt: Attempt) -> float | None:
        later = [a.started_at for a in self.attempts[attempt.job_id] if a.attempt > attempt.attempt]
        return min(later) if later else None

    def first_step_after(self, job_id: str, moment: float) -> float | None:
        """The first start or status change of the job after `moment`."""
        times = [a.started_at for a in self.attempts.get(job_id, [])]
        times += [t["at"] for t in self.transitions.get(job_id, [])]
        after = [t for t in times if t >= moment]
        return min(after) if after else None

    def finished_by(self, job_id: str, moment: float) -> bool:
        return any(
            t["to_status"] in FINISHED and t["at"] <= moment for t in self.transitions[job_id]
        )


_ROWS = """
SELECT *
FROM job WHERE id = ANY($1::uuid[])
"""
_TRANSITIONS = """
SELECT job_id, attempt, from_status, to_status, reason, at
FROM chaos_transition WHERE job_id = ANY($1::uuid[]) ORDER BY id
"""


def _attempt(row: Any) -> Attempt:
    return Attempt(
        job_id=str(row["job_id"]),
        attempt=row["attempt"],
        worker_id=row["worker_id"],
        started_at=row["started_at"].timestamp(),
        beat_at=row["beat_at"].timestamp(),
        lease_until=epoch(row["lease_until"]),
        ended_at=epoch(row["ended_at"]),
        ended_as=row["ended_as"],
        reason=row["reason"],
    )


def judge(
    db: Db,
    expected: dict[str, Expect],
    *,
    stuck_after_s: float,
    seen_stuck: dict[str, float] | None = None,
    db_outages: Sequence[Window] = (),
    outages: Sequence[Window] = (),
) -> Verdict:
    """Count what happened to the `expected` jobs and every promise they saw broken.

    `stuck_after_s` is the longest an attempt may stay `processing` after its
    last heartbeat (lease plus one maintenance period plus slack), not counting
    time the database was down (`db_outages`); `seen_stuck` adds the jobs a
    watcher saw past their lease while the fault lasted, with how far past.
    `outages` are the spans after which recovery is timed.
    """
    ledger = Ledger(db, list(expected))
    verdict = Verdict(accepted=len(expected), judged=len(expected))
    stuck = dict(seen_stuck or {})
    for job_id, expect in expected.items():
        overdue = _judge_job(ledger, verdict, job_id, expect, db_outages)
        if overdue > stuck_after_s:
            stuck[job_id] = max(stuck.get(job_id, 0.0), overdue)

    verdict.stuck = len(stuck)
    for job_id, overdue in stuck.items():
        verdict.problems.append(
            f"job {job_id} stayed processing {overdue:.1f} s after its last heartbeat"
        )
    for window in [*outages, *db_outages]:
        for job_id in expected:
            if ledger.finished_by(job_id, window.down):
                continue
            step = ledger.first_step_after(job_id, window.up)
            if step is not None:
                verdict.recover_s = max(verdict.recover_s, step - window.up)
    return verdict


def _judge_job(
    ledger: Ledger,
    verdict: Verdict,
    job_id: str,
    expect: Expect,
    db_outages: Sequence[Window],
) -> float:
    """Judge one job into `verdict`; return the longest it sat abandoned in `processing`."""
    row = ledger.rows.get(job_id)
    if row is None or row["status"] not in expect.statuses:
        verdict.lost += 1
        status = f"{row['status']} ({row['error_message']})" if row else "missing"
        verdict.problems.append(f"job {job_id} is {status}, expected {sorted(expect.statuses)}")
    elif expect.reason is not None and expect.reason not in (row["error_message"] or ""):
        verdict.problems.append(
            f"job {job_id} says {row['error_message']!r}, expected {expect.reason!r}"
        )
    elif ledger.ended_once(job_id, row["status"]):
        verdict.once += 1

    if ledger.ran_twice(job_id):
        verdict.twice += 1
        verdict.problems.append(f"job {job_id} ran twice: {ledger.attempts[job_id]}")
    for t in ledger.transitions[job_id]:
        if (t["from_status"], t["to_status"]) not in ALLOWED:
            verdict.problems.append(f"job {job_id}: {t['from_status']} -> {t['to_status']}")
    if ledger.late_writes[job_id]:
        writes = ledger.late_writes[job_id]
        verdict.problems.append(f"job {job_id} was written {writes} times after it finished")

    longest = 0.0
    for attempt in ledger.attempts.get(job_id, []):
        if not attempt.abandoned():
            continue
        held = ledger.held(attempt, db_outages)
        longest = max(longest, held)
        verdict.held_s = max(verdict.held_s, held)
        next_start = ledger.next_start(attempt)
        recovered = next_start if next_start is not None else attempt.ended_at
        if recovered is not None:
            verdict.recover_s = max(verdict.recover_s, recovered - attempt.beat_at)
    return longest
