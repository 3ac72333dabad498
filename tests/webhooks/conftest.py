"""Fixtures of the webhook tests: receivers on loopback and one worker for them all."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import WorkerProcess, running_worker
from tests.webhooks.receiver import Receiver, running_receiver

#: Where the receiver listens: allowed by WEBHOOK_ALLOWED_NETWORKS (tests/conftest.py).
RECEIVER_HOST = "127.0.0.2"
#: Loopback outside WEBHOOK_ALLOWED_NETWORKS: nothing may ever reach it.
TRAP_HOST = "127.0.0.1"
#: Short backoffs and a small budget, so that retries and giving up take a second.
WORKER_ENV = {
    "WEBHOOK_MAX_ATTEMPTS": "3",
    "WEBHOOK_MIN_BACKOFF_MS": "50",
    "WEBHOOK_MAX_BACKOFF_MS": "200",
    "WEBHOOK_TIMEOUT_S": "2",
    "JOB_MAX_AGE_S": "5",
}
MAX_ATTEMPTS = int(WORKER_ENV["WEBHOOK_MAX_ATTEMPTS"])


@pytest.fixture(scope="package")
def receiver() -> Iterator[Receiver]:
    with running_receiver(RECEIVER_HOST) as server:
        yield server


@pytest.fixture(scope="package")
def trap() -> Iterator[Receiver]:
    with running_receiver(TRAP_HOST) as server:
        yield server


@pytest.fixture(scope="package")
def worker(database: str) -> Iterator[WorkerProcess]:
    with running_worker(WORKER_ENV) as process:
        yield process


@pytest.fixture
def path() -> str:
    """A path of its own for each test, so that tests never read each other's requests."""
    return f"/hooks/{uuid.uuid4()}"


@pytest.fixture(scope="package")
def api(client: Any) -> Any:
    """The session's client of the real app, under the name these tests use."""
    return client
