"""The Dramatiq actor that runs jobs; it takes an id and hands it to the runner."""

from __future__ import annotations

from uuid import UUID

import dramatiq

from aijobs.jobs import runner
from aijobs.jobs.dispatch import JOB_QUEUE, RUN_JOB_ACTOR


@dramatiq.actor(actor_name=RUN_JOB_ACTOR, queue_name=JOB_QUEUE)
async def run_job(job_id: str) -> None:
    """Run one delivery of the job's wake-up message."""
    await runner.run_job(UUID(job_id))
