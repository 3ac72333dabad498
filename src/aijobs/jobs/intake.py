"""Write the new jobs of concurrent requests together: one INSERT, one COMMIT, one send.

Each submit alone costs a transaction and a Redis round trip, and under load
the API spends its time on those. The intake lets a few writes run at once;
requests that arrive meanwhile wait for the next write, which takes them all.
At low load every request is written at once, alone; under load the groups
grow and the cost per job falls. A group is one statement, so it commits
whole or not at all; when a group fails for a reason other than an outage,
each request in it is written again on its own, so that one bad row cannot
fail its neighbours; an outage fails the whole group at once.

The statement is plain Core on an autocommit connection: one round trip, no
BEGIN or COMMIT around it, and rows come back as rows, not ORM objects, whose
construction had cost about as much again as the insert.
"""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import dataclass, field
from typing import Any, cast

import structlog
from sqlalchemy import Row, Table, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from aijobs.database import is_outage
from aijobs.jobs.dispatch import send_jobs
from aijobs.jobs.models import Job

logger = structlog.get_logger(__name__)

#: Writes in flight at once; later requests wait and go in the next group.
MAX_WRITES = 4
#: Rows in one group at most (a request's rows are never split).
MAX_GROUP_ROWS = 1_000

_JOBS = cast(Table, Job.__table__)
#: Every column of each new row, in the order the rows were given.
_INSERT = insert(_JOBS).returning(*_JOBS.c, sort_by_parameter_order=True)


@dataclass
class _Request:
    rows: list[dict[str, Any]]
    done: asyncio.Future[list[Row[Any]]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class JobIntake:
    """Groups concurrent inserts of new jobs; answers each request with its own rows."""

    def __init__(self, engine: AsyncEngine) -> None:
        #: Meant to be an autocommit engine (create_engine(..., autocommit=True));
        #: any other works too but pays for a BEGIN and a COMMIT around each group.
        self.engine = engine
        self.waiting: list[_Request] = []
        # The loop keeps only weak references to tasks; these must not vanish mid-write.
        self.writers: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        """Close the engine's connections; waiting requests must have been answered."""
        await self.engine.dispose()

    async def add(self, rows: list[dict[str, Any]]) -> list[Row[Any]]:
        """Insert `rows` (all or none), commit and send their messages; the new jobs' rows."""
        request = _Request(rows)
        self.waiting.append(request)
        if len(self.writers) < MAX_WRITES:
            # A fresh context: the writer serves many requests, so it must not
            # log under the request id of the one that happened to start it.
            loop = asyncio.get_running_loop()
            writer = loop.create_task(self._write_while_waiting(), context=contextvars.Context())
            self.writers.add(writer)
            writer.add_done_callback(self.writers.discard)

        return await request.done

    async def _write_while_waiting(self) -> None:
        while self.waiting:
            await self._write_group(self._next_group())

    def _next_group(self) -> list[_Request]:
        group: list[_Request] = []
        size = 0
        while self.waiting and (not group or size + len(self.waiting[0].rows) <= MAX_GROUP_ROWS):
            request = self.waiting.pop(0)
            if request.done.cancelled():
                continue  # the client went away before its rows were written

            group.append(request)
            size += len(request.rows)

        return group

    async def _write_group(self, group: list[_Request]) -> None:
        try:
            jobs = await self._insert([row for request in group for row in request.rows])
        except Exception as exc:
            if len(group) == 1 or is_outage(exc) or isinstance(exc, OSError):
                _fail(group, exc)
                return

            logger.warning(
                "grouped insert failed; writing its requests one by one",
                requests=len(group),
                error=type(exc).__name__,
            )
            for request in group:
                await self._write_group([request])
            return

        # Committed: a lost message is resent by maintenance, so sending
        # cannot fail the requests any more.
        await send_jobs([job.id for job in jobs])
        start = 0
        for request in group:
            end = start + len(request.rows)
            if not request.done.done():
                request.done.set_result(jobs[start:end])
            start = end

    async def _insert(self, rows: list[dict[str, Any]]) -> list[Row[Any]]:
        """INSERT … RETURNING every row, in the order given, as one transaction."""
        # On an autocommit engine begin() sends nothing: the statement is its
        # own transaction. The page size keeps a whole group in one statement.
        options = {"insertmanyvalues_page_size": max(len(rows), MAX_GROUP_ROWS)}
        async with self.engine.begin() as connection:
            result = await connection.execute(_INSERT, rows, execution_options=options)
            return list(result.all())


def _fail(group: list[_Request], exc: Exception) -> None:
    for request in group:
        if not request.done.done():
            request.done.set_exception(exc)
