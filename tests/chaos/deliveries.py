"""Faults 6 to 9: duplicate and missing messages, Dramatiq giving up, two schedulers."""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aijobs.jobs.dispatch import job_message
from tests.chaos.cluster import MAINTENANCE_PERIOD_S, RESEND_AFTER_S, SETTINGS
from tests.chaos.harness import SLACK_S, Chaos, ago, simulate, sleep_until
from tests.chaos.ledger import COMPLETED, Expect, Verdict, Window
from tests.chaos.processes import Process, python, wait_until

SETTLE_S = 120.0
#: Deliveries of one message in fault 6: before, during and after its run.
DELIVERIES = (4, 3, 3)
#: The cluster's JOB_TIME_LIMIT_S and JOB_MAX_AGE_S, which fault 8 runs into.
TIME_LIMIT_S = float(SETTINGS["JOB_TIME_LIMIT_S"])
MAX_AGE_MS = int(float(SETTINGS["JOB_MAX_AGE_S"]) * 1000)
#: How long the two extra maintenance loops of fault 9 contend, below JOB_RESEND_AFTER_S
#: so that a job legitimately sent once is not legitimately sent again.
CONTEND_S = 3.0


def duplicate_delivery(chaos: Chaos) -> Verdict:
    """Deliver the same message ten times, before, during and after the run: one run."""
    params = json.dumps({"steps": 4, "step_s": 0.3})
    ids = chaos.insert_jobs(chaos.profile.duplicate_jobs, params=params)
    messages = {job_id: job_message(uuid.UUID(job_id)) for job_id in ids}
    before, during, after = DELIVERIES

    for job_id in ids:
        chaos.redeliver(job_id, before, messages[job_id])
    wait_until(lambda: "pending" not in chaos.statuses(ids).values(), 30, "every job claimed")
    for job_id in ids:
        chaos.redeliver(job_id, during, messages[job_id])
    chaos.wait_finished(ids, SETTLE_S)
    for job_id in ids:
        chaos.redeliver(job_id, after, messages[job_id])
    wait_until(chaos.queue_empty, 30, "duplicate messages consumed")
    time.sleep(1.0)

    verdict = chaos.judge(dict.fromkeys(ids, COMPLETED))
    runs = chaos.db.fetch("SELECT id, attempts FROM job WHERE id = ANY($1::uuid[])", ids)
    again = [str(r["id"]) for r in runs if r["attempts"] != 1]
    verdict.notes.append(f"{sum(DELIVERIES)} deliveries each; jobs started more than once: 0")
    if again:
        verdict.notes[-1] = f"jobs started more than once: {len(again)}"
        verdict.problems.append(f"{len(again)} jobs ran more than once, e.g. {again[0]}")
    return verdict


def unsent_messages(chaos: Chaos) -> Verdict:
    """Rows committed whose message never reached Redis: maintenance sends them."""
    count = chaos.profile.unsent_jobs
    inserted = time.time()
    # Lost just now, so resent after JOB_RESEND_AFTER_S; lost long ago; never stamped.
    ids = chaos.insert_jobs(count - count // 2 - 1)
    ids += chaos.insert_jobs(count // 2, enqueued_at=ago(3600))
    ids += chaos.insert_jobs(1, enqueued_at=None)

    chaos.wait_finished(ids, SETTLE_S)
    verdict = chaos.judge(
        dict.fromkeys(ids, COMPLETED),
        outages=[Window(inserted, inserted)],
    )
    # A row turns stale RESEND_AFTER_S after it was stamped; the next pass starts
    # within a period, and may just have begun when it turned, so two of slack.
    bound = RESEND_AFTER_S + MAINTENANCE_PERIOD_S + 2 * SLACK_S
    verdict.notes.append(
        f"all running {verdict.recover_s:.1f} s after the insert (bound {bound:g})"
    )
    if verdict.recover_s > bound:
        verdict.problems.append(f"a lost message was resent after {verdict.recover_s:.1f} s")
    return verdict


def giving_up(chaos: Chaos) -> Verdict:
    """Retries spent, time limit hit, message past JOB_MAX_AGE_S: failed with the reason."""
    failed = frozenset({"failed"})
    cases = [
        (simulate(1, 0.05, fail_rate=1.0), "gave up after 4 attempts"),
        (simulate(1, 0.05, fail_rate=1.0, fail_kind="permanent"), "permanent failure"),
        (simulate(1, TIME_LIMIT_S + 2.0), f"time limit of {TIME_LIMIT_S:g} s exceeded"),
    ]
    expected: dict[str, Expect] = {}
    for body, reason in cases:
        expected.update(chaos.submit_now([body], Expect(failed, reason)).accepted)

    # A message that sat in a backlog for longer than JOB_MAX_AGE_S: Dramatiq's
    # AgeLimit drops it, and the job must say so instead of waiting for ever.
    aged = chaos.insert_jobs(1)
    message = job_message(uuid.UUID(aged[0]))
    message = message.copy(message_timestamp=message.message_timestamp - MAX_AGE_MS - 60_000)
    chaos.redeliver(aged[0], 1, message)
    expected[aged[0]] = Expect(failed, "expired in the queue")

    chaos.wait_finished(expected, SETTLE_S)
    verdict = chaos.judge(expected)
    reasons = chaos.db.fetch(
        "SELECT error_message FROM job WHERE id = ANY($1::uuid[])", [*expected]
    )
    verdict.notes.append("reasons: " + "; ".join(sorted(r["error_message"] or "" for r in reasons)))
    if len(expected) != 1 + len(cases):
        verdict.problems.append(f"only {len(expected)} of {1 + len(cases)} jobs were accepted")
    return verdict


def two_schedulers(chaos: Chaos) -> Verdict:
    """The real scheduler and two more maintenance loops race for the same work: done once."""
    with chaos.cluster.maintenance_paused():
        ids, problems, notes = _contend(chaos, chaos.profile.maintenance_jobs)

    chaos.wait_finished(ids, SETTLE_S)
    verdict = chaos.judge(dict.fromkeys(ids, COMPLETED))
    verdict.problems += problems
    verdict.notes += notes
    return verdict


def _contend(chaos: Chaos, count: int) -> tuple[list[str], list[str], list[str]]:
    """Leave work for maintenance, let three runners race for it, count who did what."""
    cluster = chaos.cluster
    hold = cluster.base / "contend.hold"
    hold.touch()
    loops = [
        cluster.maintainer_process(f"maintainer-{i}", 0.3, "--pause-file", str(hold))
        for i in (1, 2)
    ]
    argv = python("-m", "aijobs", "scheduler")
    scheduler = Process("scheduler-9", argv, cluster.env, cluster.log_dir)
    for process in [*loops, scheduler]:
        cluster.spawn(process)
    # Both loops idle on the hold file, and the scheduler has made its start-up tick.
    for process in loops:
        wait_until(lambda p=process: _ready_at(p.log_path) is not None, 60, "a maintenance loop")
    wait_until(lambda: _scheduled(scheduler.log_path) is not None, 60, "the scheduler")

    # Rows fall due one after another through the window, so that every runner
    # keeps finding fresh work to race the others for, not one batch at the start.
    begin = time.time() + 1.0 + 0.01 * count
    dues = [begin + 0.3 + CONTEND_S * 0.7 * i / count for i in range(count)]
    expired = [
        job_id
        for due in dues
        for job_id in chaos.insert_jobs(
            1, status="processing", attempts=1, lease_expires_at=_at(due), worker_id="gone:1"
        )
    ]
    stale = [
        job_id
        for due in dues
        for job_id in chaos.insert_jobs(1, enqueued_at=_at(due - RESEND_AFTER_S))
    ]
    ids = expired + stale

    sleep_until(begin)
    hold.unlink()
    # The cron ticks on SIGALRM: two ticks inside the window, whose passes the workers run.
    for third in (1, 2):
        sleep_until(begin + CONTEND_S * third / 3)
        scheduler.send(signal.SIGALRM)
    sleep_until(begin + CONTEND_S)
    for process in [*loops, scheduler]:
        process.stop()

    sends = chaos.sends(ids, since=begin)
    counts = [sends.get(job_id, 0) for job_id in ids]
    per_loop = [_work(cluster.log_dir / f"{p.name}.jsonl") for p in loops]
    by_loops = sum(per_loop)
    by_scheduler = sum(_scheduler_work(g.log_path, since=begin) for g in cluster.workers.groups)
    notes = [
        f"{len(ids)} jobs fell due over {CONTEND_S:g} s: the loops sent {per_loop[0]} and"
        f" {per_loop[1]}, the scheduler's two passes {by_scheduler}; sends per job"
        f" {min(counts)} to {max(counts)}"
    ]
    problems = []
    if counts.count(1) != len(ids):
        problems.append(f"sends per job: {sorted(set(counts))}, expected exactly 1")
    if by_loops + by_scheduler != len(ids):
        problems.append(f"maintenance did {by_loops + by_scheduler} sends for {len(ids)} jobs")
    return ids, problems, notes


def _at(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, UTC)


def _work(report: Path) -> int:
    """Jobs requeued or resent by one maintenance loop, from its report."""
    if not report.exists():
        return 0
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    return sum(line["requeued"] + line["resent"] for line in lines)


def _log_events(log: Path) -> list[dict[str, Any]]:
    """The JSON lines of a process log; tracebacks and other lines are skipped."""
    events = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            events.append(json.loads(line))
    return events


def _ready_at(log: Path) -> float | None:
    """When a maintenance loop was ready, if it was."""
    return _first(log, lambda event: event == "maintenance loop ready")


def _scheduled(log: Path) -> float | None:
    """When the scheduler sent its first maintenance message, if it has."""
    return _first(log, lambda event: event.startswith("Scheduling"))


def _first(log: Path, matches: Callable[[str], bool]) -> float | None:
    for event in _log_events(log):
        if matches(str(event.get("event", ""))):
            return _epoch(event)
    return None


def _epoch(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(event["timestamp"])).timestamp()


def _scheduler_work(log: Path, since: float) -> int:
    """Jobs requeued or resent since `since` by passes a worker ran for the scheduler."""
    events = [e for e in _log_events(log) if _epoch(e) >= since]
    settled = sum(e.get("event") == "job settled after lease expiry" for e in events)
    resent = sum(int(e.get("jobs", 0)) for e in events if e.get("event") == "job messages resent")
    return settled + resent
