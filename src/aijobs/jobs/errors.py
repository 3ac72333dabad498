"""Errors a job handler raises to tell the runner what to do next."""

from __future__ import annotations


class JobError(Exception):
    """Base of the errors that end one attempt of a job."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PermanentJobError(JobError):
    """The job cannot succeed however often it runs: fail it now, no retry."""


class TransientJobError(JobError):
    """The attempt failed for a passing reason: retry with backoff.

    `retry_after_s`, when known (an HTTP Retry-After), is the least delay before
    the next attempt; the runner never retries sooner than that.
    """

    def __init__(self, reason: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


class JobCanceled(Exception):
    """Raised inside a handler when the job's cancel was requested."""


class LeaseLost(Exception):
    """Raised inside a handler when another attempt took the job over."""
