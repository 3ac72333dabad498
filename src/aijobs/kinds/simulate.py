"""The `simulate` kind: sleeps through steps with progress, and fails on request.

It does no AI work; load tests, benchmarks and fault tests use it because its
timing and its failures are whatever the request asks for.
"""

from __future__ import annotations

import asyncio
import random
from typing import Annotated, Any, Literal

import msgspec

from aijobs.jobs.errors import PermanentJobError, TransientJobError
from aijobs.jobs.registry import JobContext, JobInput, register_kind

#: Upper bounds that keep one simulated job from occupying a worker for days.
MAX_STEPS = 10_000
MAX_STEP_S = 3600.0


class SimulateParams(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    steps: Annotated[int, msgspec.Meta(ge=0, le=MAX_STEPS)] = 5
    step_s: Annotated[float, msgspec.Meta(ge=0, le=MAX_STEP_S)] = 0.2
    fail_rate: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.0
    fail_kind: Literal["transient", "permanent"] = "transient"


@register_kind("simulate", params=SimulateParams, needs_input=False)
async def simulate(ctx: JobContext, job: JobInput) -> dict[str, Any]:
    """Sleep `steps` times `step_s` seconds, reporting progress after each step."""
    params: SimulateParams = job.params

    # Decide this attempt's fate up front, so a failing attempt still does its steps.
    fails = params.fail_rate > 0 and random.random() < params.fail_rate
    for step in range(1, params.steps + 1):
        await ctx.check_cancel()
        await asyncio.sleep(params.step_s)
        await ctx.progress(step * 100 // params.steps, f"step {step} of {params.steps}")

    if fails and params.fail_kind == "permanent":
        raise PermanentJobError("simulated permanent failure")

    if fails:
        raise TransientJobError("simulated transient failure")

    return {"steps": params.steps}
