"""`just health`, `just stats` and the API probe against a real local server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.conftest import ROOT
from tests.ops.support import just
from tests.support import ServerProcess, running_server

#: The endpoints `just health` must find answering, with the dashboard when it is built.
ANSWERING = ["/health", "/health/ready", "/admin/stats", "/jobs", "/schema/openapi.json"]


@pytest.fixture(scope="module")
def server(database: str) -> Iterator[ServerProcess]:
    with running_server("api") as api:
        yield api


def test_health_prints_the_code_of_every_endpoint(server: ServerProcess) -> None:
    result = just("health", env={"AIJOBS_URL": server.url})

    codes = {line.split()[-1]: line.split()[0] for line in result.stdout.splitlines()}
    expected = ANSWERING + (["/ui/"] if (ROOT / "web" / "dist" / "index.html").exists() else [])
    assert {path: codes[path] for path in expected} == dict.fromkeys(expected, "200")
    assert "/metrics" in codes


def test_stats_prints_the_admin_stats_as_json(server: ServerProcess) -> None:
    result = just("stats", env={"AIJOBS_URL": server.url})

    assert result.returncode == 0, result.stderr
    assert {"pending", "completed", "total", "queue_depth"} <= json.loads(result.stdout).keys()


def test_the_api_probe_passes_against_the_running_api(server: ServerProcess) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "aijobs.healthcheck", "api"],
        cwd=ROOT,
        env={**os.environ, "PORT": str(server.port)},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
