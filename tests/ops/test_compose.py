"""compose.yaml is valid Compose, and its services run what the app really has.

The schema is the Compose Specification's JSON schema (Apache-2.0, from the
compose-spec project) exactly as the ecs-composex 1.1.9 wheel on PyPI ships
it, at ecs_composex/specs/compose-spec.json: no PyPI package publishes the
schema on its own, and docker-compose 1.29.2's copy predates `name` and the
long form of `env_file`.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest

from aijobs.settings import Settings
from aijobs.system.controllers import HealthController
from tests.conftest import ROOT
from tests.ops.support import aijobs_commands, aijobs_help, compose

SCHEMA = json.loads((ROOT / "tests" / "ops" / "compose-spec.json").read_text())
#: Services built from our image, and those among them that keep running.
APP_SERVICES = ("migrate", "api", "worker", "scheduler")
LONG_RUNNING = ("api", "worker", "scheduler")


def schema_errors(document: dict[str, Any]) -> list[str]:
    validator = jsonschema.validators.validator_for(SCHEMA)(SCHEMA)
    return [f"{error.json_path}: {error.message}" for error in validator.iter_errors(document)]


def services() -> dict[str, Any]:
    found: dict[str, Any] = compose()["services"]
    return found


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    assert schema_errors(compose()) == []


def test_the_schema_catches_a_misspelt_key() -> None:
    broken = copy.deepcopy(compose())
    broken["services"]["api"]["healthcheck"]["intervall"] = "10s"

    assert schema_errors(broken) != []


@pytest.mark.parametrize("service", APP_SERVICES)
def test_every_app_service_runs_a_real_aijobs_command(service: str) -> None:
    program, command, *options = services()[service]["command"]

    assert program == "aijobs"
    assert command in aijobs_commands()
    for option in options:
        assert option.split("=")[0] in aijobs_help(command)


def test_the_api_is_published_on_the_port_it_listens_on() -> None:
    api = services()["api"]
    (published,) = api["ports"]

    assert published.rsplit(":", 1)[1] == "8000"
    assert api["environment"]["PORT"] == "8000"
    assert Settings.model_fields["port"].default == 8000
    assert api["environment"]["HOST"] == "0.0.0.0"


def test_postgres_and_redis_are_not_published_and_keep_their_data_in_volumes() -> None:
    for name, mount in (("postgres", "/var/lib/postgresql/data"), ("redis", "/data")):
        service = services()[name]

        assert "ports" not in service
        (volume,) = service["volumes"]
        source, target = volume.split(":")
        assert target == mount
        assert source in compose()["volumes"]


def test_redis_persists_its_queue_and_never_evicts_it() -> None:
    command = services()["redis"]["command"]

    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"


def test_the_app_reaches_the_database_and_redis_by_their_service_names() -> None:
    for name in APP_SERVICES:
        environment = services()[name]["environment"]

        assert "@postgres:5432/" in environment["DATABASE_URL"]
        assert environment["DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert environment["REDIS_URL"].startswith("redis://redis:6379/")


def test_env_file_is_read_when_present_and_not_required() -> None:
    for name in APP_SERVICES:
        assert services()[name]["env_file"] == [{"path": ".env", "required": False}]


def test_the_long_running_services_wait_for_healthy_servers_and_the_migration() -> None:
    for name in LONG_RUNNING:
        service = services()[name]

        assert service["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }
        assert service["restart"] == "unless-stopped"
        assert service["healthcheck"]["test"][:4] == ["CMD", "python", "-m", "aijobs.healthcheck"]


def test_the_migration_runs_once_after_postgres_is_healthy() -> None:
    migrate = services()["migrate"]

    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert migrate["restart"] == "no"
    assert migrate["healthcheck"] == {"disable": True}


def test_every_service_has_a_healthcheck_or_is_a_one_shot() -> None:
    for name, service in services().items():
        assert "test" in service["healthcheck"] or name == "migrate", name


def test_the_api_healthcheck_probes_the_liveness_route() -> None:
    from aijobs.healthcheck import CHECKS

    probe = services()["api"]["healthcheck"]["test"][-1]

    assert probe in CHECKS
    assert HealthController.path == "/health"


def test_there_is_exactly_one_scheduler_and_workers_can_scale() -> None:
    assert services()["scheduler"]["deploy"]["replicas"] == 1
    assert "container_name" not in services()["worker"]
    assert "ports" not in services()["worker"]


@pytest.mark.parametrize(
    ("service", "profile", "port"), [("web", "web", "5173"), ("locust", "load", "8089")]
)
def test_the_dev_tools_run_only_in_their_profiles(service: str, profile: str, port: str) -> None:
    tool = services()[service]

    assert tool["profiles"] == [profile]
    assert tool["ports"] == [f"{port}:{port}"]
    assert tool["depends_on"] == {"api": {"condition": "service_healthy"}}


def test_locust_runs_the_projects_locustfile_against_the_api() -> None:
    locust = services()["locust"]

    assert "./load:/mnt/load:ro" in locust["volumes"]
    assert (ROOT / "load" / "locustfile.py").is_file()
    assert locust["command"][locust["command"].index("--host") + 1] == "http://api:8000"
