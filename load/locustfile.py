"""Locust users that submit jobs and follow each one to the end.

Run it with `just load-test` (Locust's web UI in a container, on 8089) or
`just load-test-headless USERS SECONDS` (against AIJOBS_URL, CSV in var/load/).
Besides the HTTP requests, each job's submit-to-done time is reported as a
request of type JOB named after the job's kind, so Locust's tables and charts
show how long users wait for a result, not only how fast the API answers.
"""

from __future__ import annotations

import os
import random
import time
from typing import Any

from locust import HttpUser, between, task

#: Job statuses after which a job does not change any more.
FINISHED = frozenset({"completed", "failed", "canceled"})
#: How often a user polls its job, in seconds.
POLL_S = 0.5
#: Longest a user waits for one job before it reports a failure, in seconds.
JOB_TIMEOUT_S = 60.0
#: Short texts for `summarize`; the local summariser handles them in milliseconds.
TEXTS = (
    "The quarterly report shows revenue growth in every region. Costs rose less than "
    "expected. The board approved the budget for next year. Hiring continues in support.",
    "The river flooded the lower town after a week of rain. The bridge stayed open. "
    "Volunteers filled sandbags at the school. The council will review the drainage plan.",
    "Latency improved after the cache was added. Error rates stayed flat. The team will "
    "migrate the last service next sprint. The incident review found no data loss.",
)


class JobUser(HttpUser):
    """Submits mostly short simulated jobs and some summaries, and waits for each."""

    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        # The API wants a key unless it runs with auth off on loopback (`aijobs dev`).
        key = os.environ.get("AIJOBS_API_KEY")
        if key:
            self.client.headers["Authorization"] = f"Bearer {key}"

    @task(8)
    def simulate(self) -> None:
        steps = random.randint(1, 5)
        self._run_job("simulate", {"kind": "simulate", "params": {"steps": steps, "step_s": 0.1}})

    @task(2)
    def summarize(self) -> None:
        self._run_job("summarize", {"kind": "summarize", "input_text": random.choice(TEXTS)})

    def _run_job(self, kind: str, body: dict[str, Any]) -> None:
        started = time.perf_counter()
        job_id = self._submit(body)
        if job_id is None:
            return

        status, error = self._wait_until_finished(job_id)
        if error is None and status != "completed":
            error = f"job {status}"

        self.environment.events.request.fire(
            request_type="JOB",
            name=kind,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=RuntimeError(error) if error else None,
            context={},
        )

    def _submit(self, body: dict[str, Any]) -> str | None:
        with self.client.post("/jobs", json=body, name="/jobs", catch_response=True) as response:
            if response.status_code != 202:
                response.failure(f"submit answered {response.status_code}")
                return None
            return str(response.json()["id"])

    def _wait_until_finished(self, job_id: str) -> tuple[str, str | None]:
        """Poll the job until it finishes; the error says why it did not, if so."""
        deadline = time.monotonic() + JOB_TIMEOUT_S
        status = "pending"
        while time.monotonic() < deadline:
            time.sleep(POLL_S)
            response = self.client.get(f"/jobs/{job_id}", name="/jobs/{id}")
            if response.status_code != 200:
                return status, f"poll answered {response.status_code}"

            status = response.json()["status"]
            if status in FINISHED:
                return status, None

        return status, f"not finished within {JOB_TIMEOUT_S:g} s"
