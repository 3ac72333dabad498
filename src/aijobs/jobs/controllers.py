"""HTTP routes for jobs: thin handlers over JobService."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any
from uuid import UUID

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED
from sqlalchemy import Row

from aijobs.auth.caller import Caller
from aijobs.error_responses import API_KEY, errors
from aijobs.jobs.models import Job, JobStatus
from aijobs.jobs.schemas import (
    DEFAULT_PAGE_SIZE,
    KIND_PATTERN,
    MAX_PAGE_SIZE,
    JobBatch,
    JobBatchCreate,
    JobCreate,
    JobPage,
    JobRead,
)
from aijobs.jobs.service import JobService, new_row, submit_new


@asynccontextmanager
async def job_service_of(request: Request[Caller, None, Any]) -> AsyncIterator[JobService]:
    """A JobService for the request's caller, on the request's database session.

    The session is the one Advanced Alchemy keeps in the request's scope, so
    it ends with the response as every injected session does.
    """
    alchemy: SQLAlchemyAsyncConfig = request.app.state.alchemy
    session = alchemy.provide_session(request.app.state, request.scope)
    async with JobService.new(session=session) as service:
        service.caller = request.user
        yield service


async def provide_job_service(
    request: Request[Caller, None, Any],
) -> AsyncGenerator[JobService, None]:
    async with job_service_of(request) as service:
        yield service


REPLAY = ResponseSpec(
    data_container=JobRead,
    description="A replay: the job this Idempotency-Key made before, with the same body.",
    generate_examples=False,
)

#: Deepest offset into the list; a client paging past it should filter instead.
MAX_OFFSET = 1_000_000_000

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        min_length=1,
        max_length=255,
        description="Makes the submit safe to repeat: the same key and body return the first job.",
    ),
]


class JobController(Controller):
    path = "/jobs"
    tags = ["jobs"]
    security = API_KEY
    dependencies = {"jobs_service": Provide(provide_job_service)}

    @post(
        "/",
        operation_id="SubmitJob",
        status_code=HTTP_202_ACCEPTED,
        responses={200: REPLAY, **errors(400, 409, 413, 422)},
    )
    async def submit(
        self,
        request: Request[Caller, None, Any],
        data: JSONBody[JobCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[JobRead]:
        """Submit a job; it runs in the background."""
        # Most submits carry no key, and their session and service, injected,
        # had cost a quarter of the request's CPU for nothing: the intake
        # writes the row. Only a keyed submit reads and locks in a session.
        job: Job | Row[Any]
        if idempotency_key is None:
            [job] = await submit_new(request.app.state.job_intake, [new_row(request.user, data)])
            created = True
        else:
            async with job_service_of(request) as service:
                job, created = await service.submit(data, idempotency_key)

        return Response(
            JobRead.from_model(job), status_code=HTTP_202_ACCEPTED if created else HTTP_200_OK
        )

    @post(
        "/batch",
        operation_id="SubmitJobBatch",
        status_code=HTTP_202_ACCEPTED,
        responses=errors(400, 413),
    )
    async def submit_batch(
        self, request: Request[Caller, None, Any], data: JSONBody[JobBatchCreate]
    ) -> JobBatch:
        """Submit up to 1,000 jobs at once, all or none."""
        rows = [
            new_row(request.user, item, prefix=f"jobs[{index}].")
            for index, item in enumerate(data.jobs)
        ]
        jobs = await submit_new(request.app.state.job_intake, rows)
        return JobBatch(items=[JobRead.from_model(job) for job in jobs])

    @get("/", operation_id="ListJobs", responses=errors(400))
    async def list_jobs(
        self,
        jobs_service: NamedDependency[JobService],
        status: FromQuery[JobStatus | None] = None,
        kind: Annotated[str | None, QueryParameter(max_length=64, pattern=KIND_PATTERN)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
        offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)] = 0,
    ) -> JobPage:
        """List jobs, newest first."""
        items, total = await jobs_service.list_jobs(
            status=status, kind=kind, limit=limit, offset=offset
        )
        return JobPage(
            items=[JobRead.from_model(job) for job in items],
            total=total,
            limit=limit,
            offset=offset,
        )

    @get("/{job_id:uuid}", operation_id="GetJob", responses=errors(404))
    async def get_job(
        self, jobs_service: NamedDependency[JobService], job_id: FromPath[UUID]
    ) -> JobRead:
        """Read one job."""
        return JobRead.from_model(await jobs_service.get_job(job_id))

    @post(
        "/{job_id:uuid}/cancel",
        operation_id="CancelJob",
        status_code=HTTP_202_ACCEPTED,
        responses=errors(404, 409),
    )
    async def cancel(
        self, jobs_service: NamedDependency[JobService], job_id: FromPath[UUID]
    ) -> JobRead:
        """Cancel a job: at once if pending, at its next step if running."""
        return JobRead.from_model(await jobs_service.cancel(job_id))

    @post(
        "/{job_id:uuid}/retry",
        operation_id="RetryJob",
        status_code=HTTP_202_ACCEPTED,
        responses=errors(404, 409),
    )
    async def retry(
        self, jobs_service: NamedDependency[JobService], job_id: FromPath[UUID]
    ) -> JobRead:
        """Run a failed or canceled job again."""
        return JobRead.from_model(await jobs_service.retry(job_id))
