"""The fault suite: one cluster, ten faults in turn, and a Jepsen-style table of outcomes."""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Sequence

from tests.chaos import deliveries, faults, ledger, machine
from tests.chaos.cluster import LEASE_S, MAINTENANCE_PERIOD_S, Cluster
from tests.chaos.harness import SLACK_S, STUCK_AFTER_S, Chaos, Profile
from tests.chaos.ledger import Verdict

SHORT = Profile(
    name="short",
    kill_jobs=60,
    kills=3,
    kill_window_s=6.0,
    term_jobs=16,
    freeze_jobs=8,
    outage_jobs=30,
    outage_s=3.0,
    duplicate_jobs=5,
    unsent_jobs=6,
    maintenance_jobs=5,
    examples=5,
    steps=8,
    groups=2,
)
FULL = Profile(
    name="full",
    kill_jobs=500,
    kills=20,
    kill_window_s=30.0,
    term_jobs=60,
    freeze_jobs=24,
    outage_jobs=120,
    outage_s=8.0,
    duplicate_jobs=20,
    unsent_jobs=30,
    maintenance_jobs=50,
    examples=12,
    steps=20,
)

Fault = Callable[[Chaos], Verdict]
FAULTS: list[tuple[str, Fault]] = [
    ("1 SIGKILL worker children", faults.sigkill_workers),
    ("2 SIGTERM workers mid-run", faults.sigterm_workers),
    ("3 SIGSTOP a worker past lease", faults.freeze_worker),
    ("3b SIGSTOP mid-transaction", faults.freeze_mid_transaction),
    ("4 Redis killed and restarted", faults.redis_outage),
    ("5 PostgreSQL stopped, started", faults.postgres_outage),
    ("6 one message delivered 10x", deliveries.duplicate_delivery),
    ("7 committed, never sent", deliveries.unsent_messages),
    ("8 retries/time/age limit", deliveries.giving_up),
    ("9 two schedulers at once", deliveries.two_schedulers),
    ("10 state machine", machine.state_machine),
]
HEADER = ("fault", "accepted", "once", "lost", "twice", "stuck", "requeue s", "recover s")


def run_suite(
    profile: Profile,
    seed: int,
    echo: Callable[[str], None] = print,
    only: Sequence[str] = (),
) -> list[Verdict]:
    """Start the cluster, run every fault (or those numbered in `only`), print the table."""
    echo(f"chaos: {profile.name} form, seed {seed}")
    rng = random.Random(seed)
    verdicts = []
    selected = [(t, f) for t, f in FAULTS if not only or t.split()[0] in only]
    started = time.monotonic()
    with Cluster(
        setup_sql=ledger.SCHEMA, groups=profile.groups, processes=1, threads=profile.threads
    ) as cluster:
        chaos = Chaos(cluster, profile, rng)
        echo(f"chaos: cluster up in {time.monotonic() - started:.1f} s, logs in {cluster.log_dir}")
        try:
            for title, fault in selected:
                verdict = _run_fault(chaos, title, fault)
                outcome = "ok" if verdict.ok else "FAILED"
                echo(f"chaos: {title}: {outcome} in {verdict.took_s:.0f} s")
                verdicts.append(verdict)
        finally:
            chaos.close()

    echo(render(verdicts))
    echo(f"chaos: {profile.name} form done in {time.monotonic() - started:.0f} s")
    return verdicts


def _run_fault(chaos: Chaos, title: str, fault: Fault) -> Verdict:
    """Run one fault; if it raises, record why and bring the cluster back for the next."""
    started = time.monotonic()
    try:
        # Every fault starts from the whole cluster up, whatever the last one left.
        chaos.cluster.workers.wait_ready()
        chaos.fault_started = time.time()
        verdict = fault(chaos)
    except Exception as exc:
        verdict = Verdict(problems=[f"the fault could not run: {type(exc).__name__}: {exc}"])
        _restore(chaos.cluster)

    verdict.fault = title
    verdict.took_s = time.monotonic() - started
    return verdict


def _restore(cluster: Cluster) -> None:
    """Servers up, workers supervised, maintenance running: the state every fault starts in."""
    with contextlib.suppress(Exception):
        if not cluster.pg.running():
            cluster.pg.start()
    with contextlib.suppress(Exception):
        if not cluster.redis.process.alive():
            cluster.redis.start()
    with contextlib.suppress(Exception):
        cluster.workers.start()
    cluster.pause_file.unlink(missing_ok=True)


def render(verdicts: Sequence[Verdict]) -> str:
    """The table, then each fault's notes and broken promises."""
    rows = [HEADER] + [
        (
            v.fault,
            str(v.accepted),
            str(v.once),
            str(v.lost),
            str(v.twice),
            str(v.stuck),
            f"{v.held_s:.1f}",
            f"{v.recover_s:.1f}",
        )
        for v in verdicts
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))

    # The bound where the promise held; a fault with stuck jobs says so in its own line.
    held = max((v.held_s for v in verdicts if v.stuck == 0), default=0.0)
    lines += [
        "",
        "once: ended as expected, exactly once. lost: did not. twice: two attempts live at once,"
        " or two completions.",
        f"stuck: left `processing` more than {STUCK_AFTER_S:g} s after its last heartbeat (lease"
        f" {LEASE_S:g} + maintenance period {MAINTENANCE_PERIOD_S:g} + slack {SLACK_S:g}) while"
        " the database was up.",
        "requeue: longest from an abandoned attempt's last heartbeat to its job leaving"
        " `processing`. recover: longest an interrupted job waited to run again (or, after an"
        " outage, to take its next step), queueing included.",
        f"measured bound: {held:.1f} s from a lost worker's last heartbeat to its job back in the"
        " queue (faults without stuck jobs).",
    ]
    for verdict in verdicts:
        for note in verdict.notes:
            lines.append(f"  {verdict.fault.split()[0]:>2}. {note}")
        for problem in verdict.problems[:5]:
            lines.append(f"  {verdict.fault.split()[0]:>2}! {problem}")
    return "\n".join(lines)
