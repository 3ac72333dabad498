"""Write the claims and completions of a worker process's concurrent jobs together.

Every job costs its process two fenced writes, and on PostgreSQL most of a
write's cost is the statement, not the row: opening the job table and its
indexes, the counter trigger's pass, the commit. A group takes every job
whose write arrived while the previous statement was in flight and writes
them in one statement, so an idle worker writes at once, alone, and a busy
one pays for a statement per group instead of per job. Each row keeps its
own fence, so a group changes what is written together, not what is written.

A group that fails for a reason other than an outage is written again one
job at a time, so that one bad value cannot fail its neighbours; an outage
fails the whole group at once, as it would have failed each job.
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from uuid import UUID

from aijobs.database import is_outage
from aijobs.jobs import repository
from aijobs.jobs.repository import Claim, Completion, Finished
from aijobs.resources import autocommit_scope

T = TypeVar("T")
R = TypeVar("R")

#: Jobs in one statement at most; more wait for the next.
MAX_GROUP = 64


class WriteGroup(Generic[T, R]):
    """One statement at a time for all the items that are waiting; each caller gets its answer.

    `write` answers a list of items with one result per item, in their order.
    """

    def __init__(self, write: Callable[[list[T]], Awaitable[list[R]]]) -> None:
        self.write = write
        self.waiting: list[tuple[T, asyncio.Future[R]]] = []
        self.writer: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self.waiting.append((item, future))
        if self.writer is None:
            # A fresh context: the writer serves many jobs, so it must not carry
            # the logging context of the one that happened to start it.
            writing = self._write_while_waiting()
            self.writer = loop.create_task(writing, context=contextvars.Context())

        return await future

    async def _write_while_waiting(self) -> None:
        try:
            while self.waiting:
                group, self.waiting = self.waiting[:MAX_GROUP], self.waiting[MAX_GROUP:]
                await self._write_group(group)
        finally:
            self.writer = None

    async def _write_group(self, group: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self.write([item for item, _ in group])
        except Exception as exc:
            if len(group) == 1 or is_outage(exc) or isinstance(exc, OSError):
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                return

            for entry in group:
                await self._write_group([entry])
            return

        for (_, future), result in zip(group, results, strict=True):
            if not future.done():
                future.set_result(result)


@dataclass(frozen=True)
class _ClaimRequest:
    job_id: UUID
    lease_s: float
    worker_id: str


async def _claim_all(requests: list[_ClaimRequest]) -> list[Claim | None]:
    # A process asks for one lease under one worker id, so this is one statement.
    alike: dict[tuple[float, str], list[UUID]] = {}
    for request in requests:
        alike.setdefault((request.lease_s, request.worker_id), []).append(request.job_id)

    won: dict[UUID, Claim] = {}
    async with autocommit_scope() as connection:
        for (lease_s, worker_id), job_ids in alike.items():
            won |= await repository.claim_many(
                connection, job_ids, lease_s=lease_s, worker_id=worker_id
            )
    return [won.get(request.job_id) for request in requests]


async def _complete_all(completions: list[Completion]) -> list[Finished | None]:
    async with autocommit_scope() as connection:
        written = await repository.complete_many(connection, completions)
    return [written.get(done.job_id) for done in completions]


@dataclass
class _Groups:
    claims: WriteGroup[_ClaimRequest, Claim | None] = field(
        default_factory=lambda: WriteGroup(_claim_all)
    )
    completions: WriteGroup[Completion, Finished | None] = field(
        default_factory=lambda: WriteGroup(_complete_all)
    )


# Futures belong to the loop they were made on: one set of groups per loop.
_groups: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Groups] = weakref.WeakKeyDictionary()


def _loop_groups() -> _Groups:
    loop = asyncio.get_running_loop()
    groups = _groups.get(loop)
    if groups is None:
        groups = _groups[loop] = _Groups()
    return groups


async def claim_job(job_id: UUID, *, lease_s: float, worker_id: str) -> Claim | None:
    """`repository.claim`, written together with the other claims waiting meanwhile."""
    return await _loop_groups().claims.submit(_ClaimRequest(job_id, lease_s, worker_id))


async def complete_job(
    job_id: UUID, attempt: int, *, result: dict[str, Any], usage: dict[str, int]
) -> Finished | None:
    """Write a completed attempt, together with the other completions waiting meanwhile."""
    return await _loop_groups().completions.submit(Completion(job_id, attempt, result, usage))
