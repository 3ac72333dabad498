"""Faults 1 to 5: processes killed, stopped and frozen; Redis and PostgreSQL taken away."""

from __future__ import annotations

import signal
import time
from collections import Counter

import httpx

from tests.chaos.cluster import LEASE_S, MAINTENANCE_PERIOD_S, RESEND_AFTER_S
from tests.chaos.harness import Chaos, Submitted, simulate, sleep_until
from tests.chaos.ledger import COMPLETED, Verdict, Window
from tests.chaos.processes import (
    HOSTNAME,
    Process,
    WorkerGroup,
    local_ports,
    python,
    send_signal,
    wait_until,
)

#: The longest a fault waits for its jobs to finish once the fault is over, in seconds.
SETTLE_S = 120.0
#: Batches of jobs fault 3b runs while it tries to catch a worker mid-transaction.
CATCH_BATCHES = 5
#: How long fault 3 keeps a worker frozen: past its lease and two maintenance passes.
FREEZE_S = LEASE_S + 2 * MAINTENANCE_PERIOD_S + 1.0


def _busy_child(chaos: Chaos) -> tuple[WorkerGroup, int] | None:
    """A live worker child that holds a running job, or any live child if none does."""
    holders = [j["worker_id"] for j in chaos.processing()]
    chaos.rng.shuffle(holders)
    for worker_id in holders:
        group = chaos.cluster.workers.holder(worker_id)
        if group is not None:
            return group, int(worker_id.rsplit(":", 1)[1])

    # Not a child still booting: Dramatiq's main process then waits its whole
    # worker_fork_timeout (30 s) before it notices the death, which is no news.
    workers = chaos.cluster.workers
    live = [(g, pid) for g in workers.groups if g.ready(workers.redis) for pid in g.children()]
    return chaos.rng.choice(live) if live else None


def _signal_busy_child(
    chaos: Chaos, signum: signal.Signals, timeout: float = 60.0
) -> tuple[WorkerGroup, int]:
    """Send `signum` to a busy worker child, picking again if the one picked just died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        victim = _busy_child(chaos)
        if victim is not None and send_signal(victim[1], signum):
            return victim
        time.sleep(0.1)
    raise TimeoutError(f"no live worker child to signal within {timeout:g} s")


def sigkill_workers(chaos: Chaos) -> Verdict:
    """SIGKILL worker children at random moments while jobs arrive and run."""
    profile = chaos.profile
    submitted = Submitted()
    bodies = [simulate(4, 0.4) for _ in range(profile.kill_jobs)]
    started = time.time()
    submitter = chaos.submit_over(bodies, profile.kill_window_s, submitted)

    moments = sorted(chaos.rng.uniform(1.0, profile.kill_window_s) for _ in range(profile.kills))
    restarts_before = len(chaos.cluster.workers.restarts)
    killed = 0
    for moment in moments:
        sleep_until(started + moment)
        # When every group is restarting, the kill waits for one, as a real one would;
        # a child that died since it was picked (an earlier kill's) is picked again.
        _signal_busy_child(chaos, signal.SIGKILL)
        killed += 1
    submitter.join()

    chaos.wait_finished(submitted.accepted, SETTLE_S)
    verdict = chaos.judge(submitted.accepted)
    restarts = len(chaos.cluster.workers.restarts) - restarts_before
    verdict.notes.append(f"{killed} children killed, {restarts} worker groups restarted")
    _refusals(verdict, submitted)
    return verdict


def sigterm_workers(chaos: Chaos) -> Verdict:
    """SIGTERM every worker group while jobs run; they drain, and fresh ones take over."""
    submitted = chaos.submit_now(simulate(8, 0.25) for _ in range(chaos.profile.term_jobs))
    # One group may prefetch more than it runs, so not every job starts at once.
    chaos.wait_running(max(1, len(submitted.accepted) // 4))
    in_flight = {(str(j["id"]), j["attempts"]) for j in chaos.processing()}

    stopping = time.time()
    with chaos.cluster.workers.unsupervised():
        chaos.cluster.workers.stop(signal.SIGTERM)
    drained_s = time.time() - stopping
    chaos.cluster.workers.start()

    chaos.wait_finished(submitted.accepted, SETTLE_S)
    verdict = chaos.judge(submitted.accepted)
    ends = chaos.db.fetch(
        "SELECT job_id, attempt, ended_as, ended_at > lease_until AS late FROM chaos_attempt"
        " WHERE (job_id::text, attempt) IN (SELECT * FROM unnest($1::text[], $2::int[]))",
        [job_id for job_id, _ in in_flight],
        [attempt for _, attempt in in_flight],
    )
    finished = sum(e["ended_as"] == "completed" and not e["late"] for e in ends)
    returned = sum(e["ended_as"] == "pending" and not e["late"] for e in ends)
    abandoned = len(ends) - finished - returned
    verdict.notes.append(
        f"{len(in_flight)} in flight at SIGTERM: {finished} finished, {returned} requeued by"
        f" the worker, {abandoned} abandoned; groups exited {drained_s:.1f} s after SIGTERM"
    )
    if abandoned:
        verdict.problems.append(f"{abandoned} in-flight jobs were abandoned on SIGTERM")
    return verdict


def freeze_worker(chaos: Chaos) -> Verdict:
    """SIGSTOP a worker past its lease; others finish its jobs; SIGCONT; its writes are refused."""
    submitted = chaos.submit_now(simulate(10, 0.3) for _ in range(chaos.profile.freeze_jobs))
    chaos.wait_running(len(submitted.accepted) // 2)
    victim = _signal_busy_child(chaos, signal.SIGSTOP)
    return _freeze(chaos, victim, submitted)


def freeze_mid_transaction(chaos: Chaos) -> Verdict:
    """SIGSTOP a worker between a write and its commit, if one is ever caught there.

    Job writes commit as they run (one statement on an autocommit connection),
    so no worker should be caught holding a job's row lock; were one caught,
    the server's idle-in-transaction timeout must still let others take over.
    """
    submitted = Submitted()
    for _ in range(CATCH_BATCHES):
        batch = chaos.submit_now(simulate(10, 0.3) for _ in range(chaos.profile.freeze_jobs))
        submitted.accepted.update(batch.accepted)
        chaos.wait_running(len(batch.accepted) // 2)
        victim = _catch_mid_transaction(chaos, until=time.time() + 2.0)
        if victim is not None:
            return _freeze(chaos, victim, submitted)
        chaos.wait_finished(batch.accepted, SETTLE_S)

    verdict = chaos.judge(submitted.accepted)
    verdict.notes.append("no worker was caught with an UPDATE of a job uncommitted")
    return verdict


def _catch_mid_transaction(chaos: Chaos, until: float) -> tuple[WorkerGroup, int] | None:
    """Freeze busy workers for an instant until one is frozen holding an uncommitted UPDATE."""
    while time.time() < until:
        victim = _busy_child(chaos)
        if victim is None:
            time.sleep(0.1)
            continue

        ports = list(local_ports(victim[1]))
        if not send_signal(victim[1], signal.SIGSTOP):
            continue
        # Let the server finish a statement that was already on its way.
        time.sleep(0.02)
        open_updates = chaos.db.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE client_port = ANY($1::int[])"
            " AND state = 'idle in transaction' AND query LIKE 'UPDATE job %'",
            ports,
        )
        if open_updates:
            return victim
        send_signal(victim[1], signal.SIGCONT)
        time.sleep(chaos.rng.uniform(0.01, 0.1))
    return None


def _freeze(chaos: Chaos, victim: tuple[WorkerGroup, int], submitted: Submitted) -> Verdict:
    """Keep a stopped worker frozen past its lease, thaw it, and judge what it left behind."""
    group, pid = victim
    worker_id = f"{HOSTNAME}:{pid}"
    running = chaos.processing(expired=True)
    held = {str(j["id"]): j["attempts"] for j in running if j["worker_id"] == worker_id}
    try:
        # Past the lease and a maintenance pass, the others can take its jobs over.
        time.sleep(FREEZE_S)
        still_held = [
            job_id
            for job_id, attempts in held.items()
            if chaos.db.fetchval(
                "SELECT status = 'processing' AND attempts = $2 FROM job WHERE id = $1::uuid",
                job_id,
                attempts,
            )
        ]
    finally:
        send_signal(pid, signal.SIGCONT)
    # Long enough for the thawed worker to try a heartbeat, a progress and a result.
    time.sleep(LEASE_S)

    chaos.wait_finished(submitted.accepted, SETTLE_S)
    verdict = chaos.judge(submitted.accepted)
    refused = [
        line
        for line in group.output().splitlines()
        if any(job_id in line for job_id in held) and ("lease lost" in line or "fenced out" in line)
    ]
    verdict.notes.append(
        f"frozen {FREEZE_S:g} s holding {len(held)} jobs; still held when thawed:"
        f" {len(still_held)}; late writes refused by the fence: {len(refused)} logged"
    )
    if still_held:
        verdict.problems.append(
            f"{len(still_held)} jobs of the frozen worker were not taken over in {FREEZE_S:g} s"
        )
    return verdict


def redis_outage(chaos: Chaos) -> Verdict:
    """SIGKILL Redis mid-run and start it again on its append-only file."""
    profile = chaos.profile
    scheduler = _start_scheduler(chaos)
    submitted = Submitted()
    bodies = [simulate(3, 0.3) for _ in range(profile.outage_jobs)]
    span = profile.outage_s + 4.0
    started = time.time()
    submitter = chaos.submit_over(bodies, span, submitted)

    sleep_until(started + 2.0)
    _wait_first_tick(scheduler)
    down = time.time()
    chaos.cluster.redis.kill()
    # A cron tick that falls in the outage: periodiq ticks on SIGALRM.
    sleep_until(down + profile.outage_s / 2)
    ticks = _tick(scheduler)
    sleep_until(down + profile.outage_s)
    chaos.cluster.redis.start()
    up = time.time()
    submitter.join()

    chaos.wait_finished(submitted.accepted, SETTLE_S + RESEND_AFTER_S)
    window = Window(down, up)
    verdict = chaos.judge(submitted.accepted, outages=[window])
    during = sum(
        down <= t["at"] <= up
        for t in chaos.db.fetch(
            "SELECT extract(epoch FROM created_at) AS at FROM job WHERE id = ANY($1::uuid[])",
            list(submitted.accepted),
        )
    )
    verdict.notes.append(
        f"{during} jobs accepted while Redis was down {up - down:.1f} s;"
        f" slowest POST /jobs {submitted.slowest_s:.2f} s"
    )
    _refusals(verdict, submitted)
    _judge_scheduler(verdict, scheduler, ticks)
    return verdict


def _start_scheduler(chaos: Chaos) -> Process:
    cluster = chaos.cluster
    return cluster.spawn(
        Process("scheduler-4", python("-m", "aijobs", "scheduler"), cluster.env, cluster.log_dir)
    )


def _wait_first_tick(scheduler: Process) -> None:
    """periodiq ticks once at start, then arms SIGALRM for the next minute."""
    wait_until(lambda: _ticks(scheduler) > 0, 60, "the scheduler's first tick")
    time.sleep(0.5)


def _ticks(scheduler: Process) -> int:
    return scheduler.output().count("Scheduling Actor(maintenance)")


def _tick(scheduler: Process) -> int:
    """Make the scheduler tick now, as the cron would; the ticks it logged before."""
    before = _ticks(scheduler)
    scheduler.send(signal.SIGALRM)
    time.sleep(1.0)
    return before


def _judge_scheduler(verdict: Verdict, scheduler: Process, ticks: int) -> None:
    """The scheduler lives through a tick that finds Redis away, and ticks again after."""
    if scheduler.alive():
        _tick(scheduler)
    alive = scheduler.alive()
    last = [line for line in scheduler.output().splitlines() if line.strip()][-1:]
    scheduler.stop()
    if not alive:
        verdict.problems.append(
            f"aijobs scheduler exited (code {scheduler.popen and scheduler.popen.returncode})"
            f" on a tick while Redis was away: {last[0][:160] if last else ''}"
        )
    elif _ticks(scheduler) <= ticks:
        verdict.problems.append("aijobs scheduler did not tick again after Redis came back")
    else:
        verdict.notes.append("aijobs scheduler lived through a tick with Redis away")


def postgres_outage(chaos: Chaos) -> Verdict:
    """Stop PostgreSQL mid-run, start it in recovery, then let it accept connections again."""
    profile = chaos.profile
    submitted = Submitted()
    bodies = [simulate(4, 0.4) for _ in range(profile.outage_jobs)]
    started = time.time()
    submitter = chaos.submit_over(bodies, profile.outage_s + 4.0, submitted)

    sleep_until(started + 2.0)
    down = time.time()
    chaos.watch.pause()
    chaos.cluster.pg.stop("fast")
    readiness = _poll_ready(chaos, until=down + profile.outage_s / 2)
    # Half the outage the server is up but still starting (SQLSTATE 57P03), as after a crash.
    chaos.cluster.pg.start_recovering()
    recovering = time.time()
    readiness += _poll_ready(chaos, until=down + profile.outage_s)
    chaos.cluster.pg.promote()
    up = time.time()
    chaos.watch.resume_after(up)
    submitter.join()

    # A commit cut off by the stop may have landed though the client saw an error.
    committed = dict.fromkeys(chaos.jobs_created_since(started), COMPLETED)
    expected = {**committed, **submitted.accepted}
    chaos.wait_finished(expected, SETTLE_S)
    verdict = chaos.judge(expected, db_outages=[Window(down, up)])
    verdict.accepted = len(submitted.accepted)
    verdict.notes.append(
        f"stopped {recovering - down:.1f} s, then starting up {up - recovering:.1f} s;"
        f" {len(expected) - len(submitted.accepted)} rows committed without a 202 (judged too)"
    )
    _judge_outage_answers(verdict, submitted, readiness, recovering)
    return verdict


def _poll_ready(chaos: Chaos, until: float) -> list[tuple[float, int, str]]:
    answers = []
    while time.time() < until:
        answers.append((time.time(), *_ready(chaos.http)))
        time.sleep(0.5)
    return answers


def _judge_outage_answers(
    verdict: Verdict,
    submitted: Submitted,
    readiness: list[tuple[float, int, str]],
    recovering: float,
) -> None:
    """While the database is away the API says 503 and names it, in both phases."""
    for phase, answers in (
        ("stopped", [r for r in submitted.refused if r[0] < recovering]),
        ("starting up", [r for r in submitted.refused if r[0] >= recovering]),
    ):
        # Code 0 is no HTTP answer at all: a dropped connection or a timeout.
        kinds = Counter((code, detail) for _, code, detail in answers)
        summary = ", ".join(f"{n}x {code} {detail!r}" for (code, detail), n in kinds.items())
        verdict.notes.append(f"POST /jobs while {phase}: {summary or 'only 202s'}")
        unclear = {k for k in kinds if k[0] != 503 or "database" not in k[1]}
        if unclear:
            verdict.problems.append(f"POST /jobs while {phase} answered {sorted(unclear)}")

    for phase, answers in (
        ("stopped", [r for r in readiness if r[0] < recovering]),
        ("starting up", [r for r in readiness if r[0] >= recovering]),
    ):
        named = [r for r in answers if r[1] == 503 and "database" in r[2]]
        if len(named) != len(answers):
            verdict.problems.append(f"/health/ready while {phase}: {answers[:3]}")
        elif named:
            verdict.notes.append(f"/health/ready while {phase}: 503 {named[0][2]!r}")


def _ready(http: httpx.Client) -> tuple[int, str]:
    try:
        response = http.get("/health/ready")
    except httpx.HTTPError as exc:
        return 0, type(exc).__name__
    return response.status_code, str(response.json().get("detail", ""))


def _refusals(verdict: Verdict, submitted: Submitted) -> None:
    """Every submission of a fault that keeps the database up must be accepted."""
    if submitted.refused:
        verdict.problems.append(
            f"{len(submitted.refused)} POST /jobs refused, first: {submitted.refused[0]}"
        )
