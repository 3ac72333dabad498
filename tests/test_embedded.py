"""`aijobs dev`: the whole product in one process on SQLite, nothing else running."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import running_server

pytestmark = pytest.mark.slow


def wait_status(client: httpx.Client, job_id: str, statuses: set[str], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/jobs/{job_id}").json()
        if job["status"] in statuses or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


@pytest.fixture
def embedded_env(tmp_path: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'aijobs.db'}",
        "REDIS_URL": "redis://127.0.0.1:1/0",  # ignored: dev is always embedded
        "DATA_DIR": str(tmp_path / "data"),
        "MAINTENANCE_INTERVAL_S": "1",
        "JOB_LEASE_S": "2",
    }


def test_dev_serves_the_api_on_sqlite_and_completes_jobs(embedded_env: dict[str, str]) -> None:
    with running_server("dev", embedded_env) as server, httpx.Client(base_url=server.url) as client:
        body = {"kind": "simulate", "params": {"steps": 3, "step_s": 0.05}}
        created = client.post("/jobs", json=body)
        batch = client.post("/jobs/batch", json={"jobs": [body, body]})
        done = wait_status(client, created.json()["id"], {"completed", "failed"})
        ready = client.get("/health/ready")
        stats = client.get("/admin/stats").json()
        listed = client.get("/jobs", params={"kind": "simulate"}).json()

    assert created.status_code == 202
    assert batch.status_code == 202
    assert done["status"] == "completed", done
    assert done["progress"] == 100
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    assert stats["total"] == 3
    assert stats["workers"] == 1
    assert listed["total"] == 3


def test_dev_seeds_sample_documents_into_an_empty_data_dir(embedded_env: dict[str, str]) -> None:
    with running_server("dev", embedded_env):
        documents = sorted(p.name for p in Path(embedded_env["DATA_DIR"]).iterdir())

    assert documents, "DATA_DIR was left empty"


def test_jobs_left_unfinished_by_a_stopped_dev_process_finish_after_restart(
    embedded_env: dict[str, str],
) -> None:
    # Given a dev process that stops while one job runs and another waits
    with running_server("dev", embedded_env) as server, httpx.Client(base_url=server.url) as client:
        slow = {"kind": "simulate", "params": {"steps": 40, "step_s": 0.25}}
        running = client.post("/jobs", json=slow).json()
        wait_status(client, running["id"], {"processing"})
        server.process.kill()  # type: ignore[union-attr]
        server.process.wait()  # type: ignore[union-attr]

    # When it starts again
    with running_server("dev", embedded_env) as server, httpx.Client(base_url=server.url) as client:
        done = wait_status(client, running["id"], {"completed", "failed"}, timeout=30)

    # Then the interrupted job was taken up again and completed
    assert done["status"] == "completed", done
    assert done["attempts"] == 2
