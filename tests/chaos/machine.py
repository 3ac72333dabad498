"""Fault 10: a Hypothesis state machine over submit, cancel, retry, redeliver and kill.

After every step it checks the lifecycle of DESIGN.md on every job it made:
legal states and transitions, monotonic attempts, no attempt overlapping
another, nothing written after a job finished. At the end of each example it
waits for quiet and checks that every job reached the end its history allows.
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as use_seed
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from tests.chaos.harness import Chaos, simulate
from tests.chaos.ledger import ALLOWED, FINISHED, Expect, Ledger, Verdict
from tests.chaos.processes import send_signal

#: How long an example may take to go quiet once its steps are done, in seconds.
QUIET_S = 60.0
STATUSES = {"pending", "processing", *FINISHED}


@dataclass
class Model:
    """What the machine asked of one job, which bounds how the job may end."""

    steps: int
    fails: str | None
    cancel_asked: bool = False
    attempts_seen: int = 0


@dataclass
class History:
    """Every job the machine made, across examples, for the verdict."""

    models: dict[str, Model] = field(default_factory=dict)
    steps: Counter[str] = field(default_factory=Counter)
    #: The steps of the example running now, printed when it fails.
    trace: list[str] = field(default_factory=list)

    def expected(self) -> dict[str, Expect]:
        return {job_id: _expect(model) for job_id, model in self.models.items()}


def _expect(model: Model) -> Expect:
    # Kills can spend a job's retries, so failing is allowed when that is the reason.
    statuses = {"failed"} if model.fails else {"completed", "failed"}
    if model.cancel_asked:
        statuses.add("canceled")
    return Expect(frozenset(statuses))


class Lifecycle(RuleBasedStateMachine):
    """Any interleaving of client actions and worker deaths keeps every job's lifecycle legal."""

    jobs = Bundle("jobs")
    chaos: Chaos
    history: History

    def __init__(self) -> None:
        super().__init__()
        self.models: dict[str, Model] = {}
        self.history.trace = []

    def _note(self, rule: str, step: str) -> None:
        self.history.steps[rule] += 1
        self.history.trace.append(f"{time.strftime('%H:%M:%S')} {step}")

    @initialize(target=jobs, steps=st.integers(1, 6), step_s=st.sampled_from([0.2, 0.5]))
    def first_job(self, steps: int, step_s: float) -> str:
        """Every example starts with a job running, so its first steps have one to act on."""
        return self.submit(steps, step_s, None)

    @rule(
        target=jobs,
        steps=st.integers(0, 6),
        step_s=st.sampled_from([0.05, 0.2, 0.5]),
        fails=st.sampled_from([None, None, "transient", "permanent"]),
    )
    def submit(self, steps: int, step_s: float, fails: str | None) -> str:
        extra = {"fail_rate": 1.0, "fail_kind": fails} if fails else {}
        response = self.chaos.http.post("/jobs", json=simulate(steps, step_s, **extra))

        assert response.status_code == 202, response.text
        job_id = str(response.json()["id"])
        self._note("submit", f"submit {steps} x {step_s} s, fails={fails} -> {job_id}")
        self.models[job_id] = self.history.models[job_id] = Model(steps, fails)
        return job_id

    @rule(job=jobs)
    def cancel(self, job: str) -> None:
        before = self._row(job)["status"]
        response = self.chaos.http.post(f"/jobs/{job}/cancel")
        self._note("cancel", f"cancel {job} ({before}) -> {response.status_code}")

        # Only this machine moves a finished job (by retrying it), so a finished job
        # stays finished; a pending one may finish before the cancel arrives.
        if before in FINISHED:
            assert response.status_code == 409, f"cancel of a {before} job: {response.text}"
        assert response.status_code in (202, 409), response.text
        if response.status_code == 202:
            self.models[job].cancel_asked = True
            answer = response.json()
            assert answer["status"] == "canceled" or answer["cancel_requested"], answer

    @rule(job=jobs)
    def retry(self, job: str) -> None:
        before = self._row(job)["status"]
        response = self.chaos.http.post(f"/jobs/{job}/retry")
        self._note("retry", f"retry {job} ({before}) -> {response.status_code}")

        if before in ("failed", "canceled"):
            assert response.status_code == 202, f"retry of a {before} job: {response.text}"
        elif before == "completed":
            assert response.status_code == 409, f"retry of a completed job: {response.text}"
        assert response.status_code in (202, 409), response.text
        if response.status_code == 202:
            answer = response.json()
            assert answer["status"] == "pending", answer
            assert answer["error_message"] is None, answer
            self.models[job].cancel_asked = False

    @rule(job=jobs, times=st.integers(1, 3))
    def redeliver(self, job: str, times: int) -> None:
        self.chaos.redeliver(job, times)
        self._note("redeliver", f"redeliver {job} x{times}")

    @rule()
    def kill(self) -> None:
        # Only children that finished booting: see faults._busy_child.
        workers = self.chaos.cluster.workers
        children = [pid for g in workers.groups if g.ready(workers.redis) for pid in g.children()]
        if children:
            victim = self.chaos.rng.choice(children)
            if send_signal(victim, signal.SIGKILL):
                self._note("kill", f"kill worker {victim}")

    @rule(seconds=st.sampled_from([0.2, 0.5, 1.0]))
    def wait(self, seconds: float) -> None:
        time.sleep(seconds)
        self._note("wait", f"wait {seconds} s")

    @invariant()
    def lifecycle_holds(self) -> None:
        if not self.models:
            return

        ledger = Ledger(self.chaos.db, list(self.models))
        for job_id, model in self.models.items():
            _check_row(ledger.rows[job_id], model)
            assert not ledger.ran_twice(job_id), f"{job_id} ran twice: {ledger.attempts[job_id]}"
            assert not ledger.late_writes[job_id], f"{job_id} was written after it finished"
            for t in ledger.transitions[job_id]:
                assert (t["from_status"], t["to_status"]) in ALLOWED, f"{job_id}: {t}"

    def teardown(self) -> None:
        quiet = self.chaos.wait_finished(self.models, QUIET_S)
        statuses = self.chaos.statuses(self.models)

        assert quiet, f"not finished {QUIET_S:g} s after the last step: {statuses}"
        for job_id, model in self.models.items():
            assert statuses[job_id] in _expect(model).statuses, f"{job_id}: {model}"

    def _row(self, job_id: str) -> dict[str, Any]:
        return dict(self.chaos.db.fetch("SELECT * FROM job WHERE id = $1::uuid", job_id)[0])


def _check_row(row: dict[str, Any], model: Model) -> None:
    """The row's fields agree with its status, and attempts only grow."""
    status, job_id = row["status"], row["id"]
    assert status in STATUSES, f"{job_id}: unknown status {status}"
    assert row["attempts"] >= row["attempts_floor"], f"{job_id}: attempts below floor"
    assert row["attempts"] >= model.attempts_seen, f"{job_id}: attempts went down"
    model.attempts_seen = row["attempts"]

    if status in FINISHED:
        assert row["finished_at"] is not None, f"{job_id}: {status} without finished_at"
        assert row["lease_expires_at"] is None, f"{job_id}: {status} still holds a lease"
    if status == "completed":
        # asyncpg hands jsonb over as text.
        result = json.loads(row["result"]) if row["result"] is not None else None
        assert result == {"steps": model.steps}, f"{job_id}: result {row['result']}"
        assert row["progress"] == 100, f"{job_id}: completed at {row['progress']}%"
    if status == "failed":
        assert row["error_message"], f"{job_id}: failed without a reason"
    if status == "processing":
        assert row["lease_expires_at"] is not None, f"{job_id}: processing without a lease"
        assert row["attempts"] > row["attempts_floor"], f"{job_id}: processing, never started"
    if status == "pending":
        assert row["lease_expires_at"] is None, f"{job_id}: pending with a lease"


def state_machine(chaos: Chaos) -> Verdict:
    """Run the machine for the profile's examples and steps; judge every job it made."""
    history = History()

    class Machine(Lifecycle):
        pass

    Machine.chaos = chaos
    Machine.history = history
    use_seed(chaos.rng.randrange(2**32))(Machine)
    problems = []
    try:
        run_state_machine_as_test(
            Machine,
            settings=settings(
                max_examples=chaos.profile.examples,
                stateful_step_count=chaos.profile.steps,
                deadline=None,
                database=None,
                # Shrinking would replay real process kills for a long time; the
                # failing steps are printed and the seed reproduces the run.
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            ),
        )
    except Exception as exc:
        # A replay of a failing example may pass (the processes moved on), and
        # Hypothesis then raises FlakyFailure around the first failure: report that.
        failures = getattr(exc, "exceptions", [exc])
        problems += [f"state machine: {type(e).__name__}: {e}" for e in failures]
        problems.append("steps: " + " | ".join(history.trace))

    verdict = chaos.judge(history.expected())
    verdict.problems += problems
    steps = ", ".join(f"{name} {n}" for name, n in sorted(history.steps.items()))
    verdict.notes.append(
        f"{chaos.profile.examples} examples of up to {chaos.profile.steps} steps: {steps}"
    )
    return verdict
