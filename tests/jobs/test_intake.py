"""The intake writes concurrent submits together, and keeps each request's outcome its own."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import dramatiq
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from aijobs.broker_pipeline import PipelinedSender
from aijobs.database import create_engine
from aijobs.jobs import dispatch
from aijobs.jobs import intake as intake_module
from aijobs.jobs.dispatch import JOB_QUEUE
from aijobs.jobs.intake import JobIntake
from aijobs.jobs.models import JobStatus
from aijobs.jobs.repository import utcnow
from aijobs.settings import get_settings
from tests import support
from tests.support import execute, job_row

pytestmark = pytest.mark.usefixtures("app")

POISON = "refused by the database"


def row(text: str) -> dict[str, Any]:
    """A new job's columns as JobService passes them to the intake."""
    return {
        "owner_id": None,
        "kind": "simulate",
        "status": JobStatus.PENDING,
        "input_text": text,
        "input_file_path": None,
        "params": {"steps": 0},
        "webhook_url": None,
        "idempotency_key": None,
        "request_hash": None,
        "enqueued_at": utcnow(),
    }


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    """An autocommit engine, as the API gives its intake."""
    engine = create_engine(get_settings(), autocommit=True)
    yield engine
    await engine.dispose()


@pytest.fixture
def inserts(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every INSERT into the job table that the engine runs."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO JOB "):
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine.sync_engine, "before_cursor_execute", count)


@pytest.fixture
async def poison_trigger() -> AsyncIterator[None]:
    """A trigger that refuses one input, as a constraint the API cannot foresee would."""
    await execute(
        "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF NEW.input_text = '{POISON}' THEN RAISE check_violation USING MESSAGE = 'poison'; "
        "END IF; RETURN NEW; END $$"
    )
    await execute(
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON job "
        "FOR EACH ROW EXECUTE FUNCTION refuse_poison()"
    )
    yield
    await execute("DROP TRIGGER refuse_poison ON job")
    await execute("DROP FUNCTION refuse_poison()")


async def job_count() -> int:
    async with support.engine().connect() as connection:
        return int((await connection.execute(text("SELECT count(*) FROM job"))).scalar_one())


def queued_job_ids() -> set[str]:
    """Job ids of every run_job message waiting in Redis."""
    broker = dramatiq.get_broker()
    stored = broker.client.hvals(f"{broker.namespace}:{JOB_QUEUE}.msgs")
    return {json.loads(message)["args"][0] for message in stored}


async def test_a_lone_request_is_written_at_once_and_its_message_sent(
    engine: AsyncEngine, inserts: list[str]
) -> None:
    [job] = await JobIntake(engine).add([row("alone")])

    assert (await job_row(str(job.id)))["input_text"] == "alone"
    assert job.status == JobStatus.PENDING
    assert len(inserts) == 1
    assert str(job.id) in queued_job_ids()


async def test_the_largest_group_is_one_statement_and_so_one_transaction(
    engine: AsyncEngine, inserts: list[str], poison_trigger: None
) -> None:
    # The last of MAX_GROUP_ROWS rows is refused: had the group been split
    # into pages, the first pages would have committed on their own.
    rows = [row(f"row {i}") for i in range(intake_module.MAX_GROUP_ROWS - 1)] + [row(POISON)]

    with pytest.raises(Exception, match="poison"):
        await JobIntake(engine).add(rows)

    assert len(inserts) == 1
    assert await job_count() == 0


async def test_concurrent_requests_share_inserts_and_each_gets_its_own_rows(
    engine: AsyncEngine, inserts: list[str]
) -> None:
    intake = JobIntake(engine)
    sizes = [1, 3, 1, 2] * 10

    answers = await asyncio.gather(
        *(
            intake.add([row(f"request {n} row {i}") for i in range(size)])
            for n, size in enumerate(sizes)
        )
    )

    for n, (size, jobs) in enumerate(zip(sizes, answers, strict=True)):
        assert [job.input_text for job in jobs] == [f"request {n} row {i}" for i in range(size)]
    # At most MAX_WRITES groups start before the first finishes; the rest wait and merge.
    assert len(inserts) < len(sizes)
    assert await job_count() == sum(sizes) == len({job.id for jobs in answers for job in jobs})
    assert {str(job.id) for jobs in answers for job in jobs} <= queued_job_ids()


async def test_a_refused_row_fails_only_its_own_request(
    engine: AsyncEngine, poison_trigger: None
) -> None:
    intake = JobIntake(engine)
    texts = ["good 0", "good 1", POISON, "good 2", "good 3"] * 4

    outcomes = await asyncio.gather(
        *(intake.add([row(text)]) for text in texts), return_exceptions=True
    )

    for sent, outcome in zip(texts, outcomes, strict=True):
        if sent == POISON:
            assert isinstance(outcome, Exception)
            assert "poison" in str(outcome)
        else:
            assert not isinstance(outcome, BaseException), outcome
            assert (await job_row(str(outcome[0].id)))["input_text"] == sent


async def test_a_request_whose_rows_are_refused_writes_none_of_them(
    engine: AsyncEngine, poison_trigger: None, inserts: list[str]
) -> None:
    with pytest.raises(Exception, match="poison"):
        await JobIntake(engine).add([row("fine"), row(POISON), row("also fine")])

    assert len(inserts) == 1
    assert await job_count() == 0


async def test_an_unreachable_database_fails_every_waiting_request_at_once(
    unused_tcp_port: int,
) -> None:
    engine = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{unused_tcp_port}/x")
    intake = JobIntake(engine)
    try:
        outcomes = await asyncio.gather(
            *(intake.add([row(f"job {n}")]) for n in range(20)), return_exceptions=True
        )
    finally:
        await engine.dispose()

    assert all(isinstance(outcome, OSError) for outcome in outcomes), outcomes


async def test_a_request_canceled_while_waiting_is_not_written(
    engine: AsyncEngine, inserts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake_module, "MAX_WRITES", 1)
    intake = JobIntake(engine)
    first = asyncio.create_task(intake.add([row("first")]))
    waiting = asyncio.create_task(intake.add([row("canceled")]))
    await asyncio.sleep(0)

    waiting.cancel()
    [job] = await first

    assert job.input_text == "first"
    await asyncio.sleep(0.05)
    assert len(inserts) == 1
    assert await job_count() == 1


async def test_jobs_stay_committed_when_redis_refuses_their_messages(
    engine: AsyncEngine, unused_tcp_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = PipelinedSender(dramatiq.get_broker(), f"redis://127.0.0.1:{unused_tcp_port}/0")
    monkeypatch.setattr(dispatch, "sender_for", lambda *_: dead)

    jobs = await JobIntake(engine).add([row("sent later"), row("by maintenance")])
    await dead.close()

    # Maintenance resends the message of a pending job once it is late.
    assert [(await job_row(str(job.id)))["status"] for job in jobs] == ["pending", "pending"]
    assert not {str(job.id) for job in jobs} & queued_job_ids()
