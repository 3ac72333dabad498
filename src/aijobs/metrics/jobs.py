"""Job metrics, recorded by the runner in whichever process runs the job.

In a worker group they land in the group's shared files (see
`aijobs.metrics.multiprocess`); in embedded mode, in the API's own registry.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

#: Buckets of one attempt's run time, in seconds: instant to the default hour limit.
RUN_TIME_BUCKETS_S = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600)

#: The status an attempt settles with when it gives the job back for a retry.
RETRY_STATUS = "pending"

JOBS_STARTED = Counter("aijobs_jobs_started", "Job attempts started, by kind.", ["kind"])
JOBS_FINISHED = Counter(
    "aijobs_jobs_finished",
    "Jobs that reached a final status, by kind and status.",
    ["kind", "status"],
)
JOB_RETRIES = Counter(
    "aijobs_job_retries", "Attempts that ended in a scheduled retry, by kind.", ["kind"]
)
JOB_RUN_SECONDS = Histogram(
    "aijobs_job_run_seconds",
    "Run time of one attempt, by kind and outcome (a final status, or retried).",
    ["kind", "outcome"],
    buckets=RUN_TIME_BUCKETS_S,
)


def record_job_started(kind: str) -> None:
    """Count an attempt that claimed its job."""
    JOBS_STARTED.labels(kind).inc()


def record_attempt_end(kind: str, status: str, seconds: float) -> None:
    """Count how an attempt ended: a final status, or `pending` for a retry."""
    if status == RETRY_STATUS:
        JOB_RETRIES.labels(kind).inc()
        outcome = "retried"
    else:
        JOBS_FINISHED.labels(kind, status).inc()
        outcome = status

    JOB_RUN_SECONDS.labels(kind, outcome).observe(seconds)
