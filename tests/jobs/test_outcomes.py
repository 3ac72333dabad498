"""How the runner classifies errors and sizes its backoff."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from aijobs.jobs.errors import PermanentJobError, TransientJobError
from aijobs.jobs.outcomes import MAX_RETRY_AFTER_S, backoff_ms, describe, is_transient
from aijobs.settings import Settings

SETTINGS = Settings(job_min_backoff_ms=1000, job_max_backoff_ms=60000)


@pytest.mark.parametrize(
    "error",
    [
        TransientJobError("rate limited"),
        ConnectionResetError(),
        TimeoutError(),
        OperationalError("SELECT 1", {}, Exception("gone")),
        asyncpg.CannotConnectNowError("the database system is starting up"),
    ],
)
def test_outages_and_timeouts_are_transient(error: Exception) -> None:
    assert is_transient(error)


@pytest.mark.parametrize("error", [PermanentJobError("bad input"), ValueError("bug"), KeyError()])
def test_bad_input_and_bugs_are_not_transient(error: Exception) -> None:
    assert not is_transient(error)


@pytest.mark.parametrize("retry", [0, 1, 2, 3, 4])
def test_backoff_doubles_each_retry_within_its_jitter(retry: int) -> None:
    base = 1000 * 2**retry

    delays = [backoff_ms(SETTINGS, retry) for _ in range(50)]

    assert all(base <= delay <= 2 * base for delay in delays)


def test_backoff_never_exceeds_the_maximum() -> None:
    assert all(backoff_ms(SETTINGS, 20) <= 60000 for _ in range(50))


def test_a_retry_after_from_the_provider_is_the_least_delay() -> None:
    error = TransientJobError("429", retry_after_s=30)

    assert backoff_ms(SETTINGS, 0, error) >= 30000


def test_an_absurd_retry_after_is_capped() -> None:
    error = TransientJobError("429", retry_after_s=10**9)

    assert backoff_ms(SETTINGS, 0, error) == MAX_RETRY_AFTER_S * 1000


def test_a_database_error_is_described_without_the_driver_text() -> None:
    error = OperationalError("SELECT secret FROM t", {}, ConnectionRefusedError("password=x"))

    assert describe(error) == "database unavailable (ConnectionRefusedError)"


def test_a_server_that_is_starting_up_is_described_as_unavailable() -> None:
    error = asyncpg.CannotConnectNowError("the database system is starting up")

    assert describe(error) == "database unavailable (CannotConnectNowError)"


def test_a_rejected_statement_is_permanent_and_does_not_quote_the_row() -> None:
    error = IntegrityError(
        "INSERT", {}, asyncpg.UniqueViolationError("Key (email)=(a@b.c) already exists")
    )

    assert not is_transient(error)
    assert describe(error) == "database error (UniqueViolationError)"
