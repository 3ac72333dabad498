"""Liveness and readiness, with the real dependencies up and with each one down."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import database_url
from tests.pg_starting import starting_postgres
from tests.support import running_server


@pytest.mark.usefixtures("database")
async def test_health_and_readiness_answer_when_everything_is_up(client: Any) -> None:
    health = await client.get("/health")
    ready = await client.get("/health/ready")

    assert health.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}


@pytest.mark.slow
@pytest.mark.usefixtures("database")
@pytest.mark.parametrize(
    ("setting", "value", "down"),
    [
        ("DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:1/none", "database"),
        ("REDIS_URL", "redis://127.0.0.1:1/0", "broker"),
    ],
)
def test_readiness_is_503_naming_the_part_that_is_down(setting: str, value: str, down: str) -> None:
    with running_server("api", {setting: value}) as server:
        ready = httpx.get(f"{server.url}/health/ready", timeout=10)
        health = httpx.get(f"{server.url}/health", timeout=10)

    assert health.status_code == 200
    assert ready.status_code == 503
    assert ready.json()["detail"] == f"not ready: {down} unavailable"


@pytest.mark.slow
@pytest.mark.usefixtures("database")
def test_the_api_answers_503_not_a_trace_when_the_database_is_down() -> None:
    with running_server("api", {"DATABASE_URL": database_url("none").replace(":5432", ":1")}) as s:
        response = httpx.get(f"{s.url}/jobs", timeout=10)

    assert response.status_code == 503
    assert response.json()["detail"] == "the database is unavailable; try again shortly"
    assert "Traceback" not in response.text


@pytest.mark.slow
@pytest.mark.usefixtures("database")
def test_the_api_answers_503_while_the_database_is_starting_up() -> None:
    with starting_postgres() as port:
        url = database_url("none").replace(":5432", f":{port}")
        with running_server("api", {"DATABASE_URL": url}) as server:
            jobs = httpx.get(f"{server.url}/jobs", timeout=10)
            ready = httpx.get(f"{server.url}/health/ready", timeout=10)

    assert jobs.status_code == 503
    assert jobs.json()["detail"] == "the database is unavailable; try again shortly"
    assert ready.status_code == 503
    assert ready.json()["detail"] == "not ready: database unavailable"
