"""The Containerfile builds one non-root image whose commands are real."""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from aijobs.healthcheck import CHECKS
from tests.conftest import ROOT
from tests.ops.support import aijobs_commands, compose
from tests.support import free_port

Instruction = tuple[str, str]


def instructions() -> list[Instruction]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = (ROOT / "Containerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    pairs = [line.strip().split(None, 1) for line in joined.splitlines() if line.strip()]
    return [(pair[0].upper(), pair[1] if len(pair) > 1 else "") for pair in pairs]


def stages() -> dict[str, list[Instruction]]:
    """The build stages by their `AS` name, each with its instructions."""
    found: dict[str, list[Instruction]] = {}
    current: list[Instruction] = []
    for instruction, arguments in instructions():
        if instruction == "FROM":
            current = []
            found[arguments.split()[-1]] = current
        current.append((instruction, arguments))
    return found


def runtime() -> list[Instruction]:
    return list(stages().values())[-1]


def arguments_of(stage: list[Instruction], name: str) -> list[str]:
    return [arguments for instruction, arguments in stage if instruction == name]


def env_of(stage: list[Instruction]) -> dict[str, str]:
    pairs = " ".join(arguments_of(stage, "ENV")).split()
    return dict(pair.split("=", 1) for pair in pairs)


def test_python_comes_from_the_lock_without_dev_tools() -> None:
    build = stages()["build"]

    assert any("uv sync --frozen --no-dev" in run for run in arguments_of(build, "RUN"))
    assert "pyproject.toml uv.lock ./" in arguments_of(build, "COPY")


def test_the_dashboard_is_built_by_node_exactly_as_locked() -> None:
    web = stages()["web"]

    assert web[0][1].startswith("node:")
    runs = " && ".join(arguments_of(web, "RUN"))
    assert "npm ci" in runs
    assert "npm run build" in runs


def test_the_runtime_is_slim_python_running_as_a_user() -> None:
    stage = runtime()

    assert re.match(r"python:\$\{PYTHON_VERSION\}-slim AS runtime", stage[0][1])
    (user,) = arguments_of(stage, "USER")
    assert user not in ("root", "0")


def test_the_runtime_holds_code_migrations_and_the_dashboard_build() -> None:
    copies = arguments_of(runtime(), "COPY")
    environment = env_of(runtime())

    assert "--from=build /app/src /app/src" in copies
    assert "alembic.ini ./" in copies
    assert "migrations ./migrations" in copies
    assert f"--from=web /web/dist {environment['WEB_DIST_DIR']}" in copies


def test_every_file_copied_from_the_checkout_exists() -> None:
    for stage in stages().values():
        for copy in arguments_of(stage, "COPY"):
            if copy.startswith("--from"):
                continue
            *sources, _ = copy.split()
            for source in sources:
                assert (ROOT / source).exists(), source


def test_the_image_listens_everywhere_logs_json_and_bakes_in_no_secret() -> None:
    environment = env_of(runtime())

    assert environment["HOST"] == "0.0.0.0"
    assert environment["LOG_FORMAT"] == "json"
    assert "8000" in arguments_of(runtime(), "EXPOSE")
    secret = re.compile(r"KEY|SECRET|PASSWORD|TOKEN", re.IGNORECASE)
    for stage in stages().values():
        for name in [*env_of(stage), *arguments_of(stage, "ARG")]:
            assert not secret.search(name.split("=")[0]), name


def test_the_default_command_is_the_api_as_compose_runs_it() -> None:
    (command,) = arguments_of(runtime(), "CMD")
    program, subcommand = json.loads(command)

    assert program == "aijobs"
    assert subcommand in aijobs_commands()
    assert compose()["services"]["api"]["command"] == [program, subcommand]


def test_the_healthcheck_is_the_python_api_probe() -> None:
    (healthcheck,) = arguments_of(runtime(), "HEALTHCHECK")
    probe = json.loads(healthcheck.split("CMD", 1)[1])

    assert probe == ["python", "-m", "aijobs.healthcheck", "api"]
    assert probe[-1] in CHECKS


@pytest.fixture
def fake_api() -> Iterator[tuple[int, list[str]]]:
    """An HTTP server on a free port that answers 200 and remembers each path."""
    paths: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            paths.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], paths
    server.shutdown()
    server.server_close()


def probe(check: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aijobs.healthcheck", check],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_api_probe_asks_the_liveness_route(fake_api: tuple[int, list[str]]) -> None:
    port, paths = fake_api

    result = probe("api", {"HOST": "0.0.0.0", "PORT": str(port)})

    assert result.returncode == 0, result.stderr
    assert paths == ["/health"]


def test_the_api_probe_fails_in_one_line_when_nothing_answers() -> None:
    result = probe("api", {"HOST": "127.0.0.1", "PORT": str(free_port())})

    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "/health did not answer" in result.stderr
