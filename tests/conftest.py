"""Fixtures: a real PostgreSQL database, a real Redis, the app, worker processes.

The test process configures itself through the environment before anything
reads the settings, exactly as a deployed process would. Tests that need a
server that is not reachable skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.leaks import SERVER_SECRET, leaks, leaks_in_files

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("AIJOBS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
# One database and one Redis namespace per test session, so that runs on the
# same machine (a developer's and CI's, say) never see each other's jobs.
SESSION = f"{os.getpid()}"
TEST_DB = f"aijobs_test_{SESSION}"
TEST_NAMESPACE = f"aijobs-test-{SESSION}"
TEST_REDIS_URL = os.environ.get("AIJOBS_TEST_REDIS", "redis://127.0.0.1:6379/9")
IN_CI = os.environ.get("CI", "").lower() == "true"


def database_url(name: str, driver: str = "postgresql+asyncpg") -> str:
    return urlparse(PG_ADMIN_URL)._replace(scheme=driver, path=f"/{name}").geturl()


# Settings are read once per process; set them before anything imports aijobs.
TEST_ENV = {
    "DATABASE_URL": database_url(TEST_DB),
    "REDIS_URL": TEST_REDIS_URL,
    "REDIS_NAMESPACE": TEST_NAMESPACE,
    "JOB_MAX_RETRIES": "3",
    "JOB_MIN_BACKOFF_MS": "200",
    "JOB_MAX_BACKOFF_MS": "5000",
    "JOB_LEASE_S": "2",
    "JOB_TIME_LIMIT_S": "30",
    "JOB_RESEND_AFTER_S": "60",
    "LOG_LEVEL": "INFO",
    "LOG_FORMAT": "console",
    "DATA_DIR": str(ROOT / "var" / "test-data"),
    "OPENAI_API_KEY": "",
    # The webhook tests' receiver listens here, over http (tests/webhooks/receiver.py).
    "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.2/32",
    # Tests of other parts talk to a loopback API without keys or limits;
    # tests/auth turns both on.
    "AUTH_ENABLED": "false",
    "RATE_LIMIT_PER_MINUTE": "0",
    "AUTH_CACHE_S": "0",
    "SECRET_KEY": SERVER_SECRET,
}
os.environ.update(TEST_ENV)


def reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "", parsed.port or default_port), 1):
            return True
    except OSError:
        return False


def require(url: str, default_port: int, what: str) -> None:
    """Skip when `what` does not answer; under CI=true that is a failure."""
    if reachable(url, default_port):
        return

    message = f"{what} is not reachable at {url}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


async def recreate_database(name: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def drop_database(name: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def services() -> None:
    """PostgreSQL and Redis answer, or the test skips (fails under CI=true)."""
    require(PG_ADMIN_URL, 5432, "PostgreSQL")
    require(TEST_REDIS_URL, 6379, "Redis")


@pytest.fixture(scope="session")
def database(services: None) -> Iterator[str]:
    """A fresh test database migrated to head by `aijobs migrate`; dropped at the end."""
    import redis

    asyncio.run(recreate_database(TEST_DB))
    subprocess.run([sys.executable, "-m", "aijobs", "migrate"], check=True, cwd=ROOT)
    client = redis.Redis.from_url(TEST_REDIS_URL)
    yield TEST_ENV["DATABASE_URL"]
    asyncio.run(drop_database(TEST_DB))
    for key in client.scan_iter(match=f"{TEST_NAMESPACE}:*", count=1000):
        client.delete(key)


@pytest.fixture(scope="session")
def app(database: str):  # type: ignore[no-untyped-def]
    from aijobs.app import create_app

    return create_app()


@pytest.fixture(scope="session")
async def client(app) -> AsyncIterator[object]:  # type: ignore[no-untyped-def]
    """An HTTP client driving the real app (PostgreSQL, Redis broker) in-process."""
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(autouse=True)
async def clean_jobs(request: pytest.FixtureRequest) -> None:
    """Every test that touches the database starts with an empty job table."""
    if "database" not in request.fixturenames:
        return

    from tests.support import execute

    await execute("DELETE FROM job")


#: When this session started; process logs written since then are this session's.
SESSION_STARTED = time.time()
_captured_output: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Keep what every test printed and logged, to look for secrets at the end."""
    _captured_output.extend(content for _, content in report.sections)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any log of it holds an API key, a webhook secret or a provider key."""
    logs = [
        path
        for path in (ROOT / "var").rglob("*.log")
        if path.is_file() and path.stat().st_mtime >= SESSION_STARTED
    ]
    found = leaks_in_files(logs)
    captured = leaks("\n".join(_captured_output))
    if captured:
        found["captured test output"] = captured
    if not found:
        return

    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"secrets found in logs: {found}", red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
