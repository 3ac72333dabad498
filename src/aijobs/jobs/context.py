"""The handle a running handler uses to report on its own job."""

from __future__ import annotations

from uuid import UUID

from aijobs.jobs import repository
from aijobs.jobs.errors import JobCanceled, LeaseLost
from aijobs.resources import autocommit_scope


class RunningJob:
    """Fenced progress, usage and cancel checks for one attempt of one job."""

    def __init__(self, job_id: UUID, attempt: int, *, cancel_requested: bool = False) -> None:
        self.job_id = job_id
        self.attempt = attempt
        self.usage: dict[str, int] = {"prompt_tokens": 0, "completion_tokens": 0}
        self.cancel_requested = cancel_requested
        self.lease_lost = False

    async def progress(self, percent: int, message: str | None = None) -> None:
        self._raise_if_stopped()
        async with autocommit_scope() as connection:
            cancel = await repository.record_progress(
                connection,
                self.job_id,
                self.attempt,
                progress=max(0, min(99, percent)),
                message=message,
                usage=self.usage,
            )
        self._observe(cancel)

    async def check_cancel(self) -> None:
        self._raise_if_stopped()

    async def add_usage(self, *, prompt_tokens: int, completion_tokens: int) -> None:
        self.usage["prompt_tokens"] += prompt_tokens
        self.usage["completion_tokens"] += completion_tokens

    def _observe(self, cancel_requested: bool | None) -> None:
        """Take in what the latest fenced write learned about the row."""
        if cancel_requested is None:
            self.lease_lost = True
        elif cancel_requested:
            self.cancel_requested = True

        self._raise_if_stopped()

    def _raise_if_stopped(self) -> None:
        if self.lease_lost:
            raise LeaseLost()

        if self.cancel_requested:
            raise JobCanceled()
