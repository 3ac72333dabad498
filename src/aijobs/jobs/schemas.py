"""What clients send and what they read back; separate shapes for each."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from sqlalchemy import Row

from aijobs.ai.documents import MAX_INPUT_TEXT_CHARS, MAX_PATH_CHARS
from aijobs.jobs.models import Job, JobStatus
from aijobs.webhooks.policy import MAX_URL_CHARS

#: Most jobs one batch request may create.
MAX_BATCH_JOBS = 1000
#: Largest page of the job list.
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50

#: What a kind's name looks like: a Python-style identifier in lower case.
KIND_PATTERN = r"^[a-z][a-z0-9_]*$"

Kind = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=KIND_PATTERN)]
InputText = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_INPUT_TEXT_CHARS)]
FilePath = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PATH_CHARS)]
WebhookUrl = Annotated[
    str, msgspec.Meta(min_length=1, max_length=MAX_URL_CHARS, pattern=r"^https?://")
]


class JobCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A job as a client submits it: `input_text` or `input_file_path`, not both."""

    kind: Kind = "summarize"
    input_text: InputText | None = None
    input_file_path: FilePath | None = None
    params: dict[str, Any] = msgspec.field(default_factory=dict)
    webhook_url: WebhookUrl | None = None


class JobBatchCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Up to MAX_BATCH_JOBS jobs, created all together or not at all."""

    jobs: Annotated[list[JobCreate], msgspec.Meta(min_length=1, max_length=MAX_BATCH_JOBS)]


class Usage(msgspec.Struct):
    prompt_tokens: int
    completion_tokens: int


class JobRead(msgspec.Struct):
    """A job as clients read it."""

    id: UUID
    kind: str
    status: JobStatus
    progress: int
    progress_message: str | None
    input_file_path: str | None
    input_text: str | None
    params: dict[str, Any]
    webhook_url: str | None
    webhook_state: str | None
    result: dict[str, Any] | None
    error_message: str | None
    attempts: int
    cancel_requested: bool
    usage: Usage
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime

    @classmethod
    def from_model(cls, job: Job | Row[Any]) -> JobRead:
        """From an ORM job or a row of the job table, which have the same attributes."""
        usage = job.usage or {}
        return cls(
            id=job.id,
            kind=job.kind,
            status=JobStatus(job.status),
            progress=job.progress,
            progress_message=job.progress_message,
            input_file_path=job.input_file_path,
            input_text=job.input_text,
            params=job.params or {},
            webhook_url=job.webhook_url,
            webhook_state=job.webhook_state,
            result=job.result,
            error_message=job.error_message,
            attempts=job.attempts,
            cancel_requested=job.cancel_requested,
            usage=Usage(
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
            ),
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            updated_at=job.updated_at,
        )


class JobPage(msgspec.Struct):
    """One page of the job list, newest first."""

    items: list[JobRead]
    total: int
    limit: int
    offset: int


class JobBatch(msgspec.Struct):
    items: list[JobRead]
