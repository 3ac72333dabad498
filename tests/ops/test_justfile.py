"""The justfile's container recipes exist, find an engine, and mirror `just serve`."""

from __future__ import annotations

import json
import os
import re
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.ops.support import compose, just

CONTAINER_RECIPES = (
    "up",
    "down",
    "restart",
    "rebuild",
    "logs",
    "logs-api",
    "logs-worker",
    "logs-web",
    "status",
    "scale-workers",
    "load-test",
    "load-test-down",
    "clean",
    "clean-all",
)
OPERATIONS_RECIPES = ("health", "stats", "load-test-headless", "bench")


@cache
def recipes() -> dict[str, Any]:
    dump = just("--dump", "--dump-format", "json")
    assert dump.returncode == 0, dump.stderr
    found: dict[str, Any] = json.loads(dump.stdout)["recipes"]
    return found


def body(name: str) -> str:
    """A recipe's text, with `{{ VARIABLE }}` where the justfile interpolates."""
    lines = []
    for line in recipes()[name]["body"]:
        parts = [part if isinstance(part, str) else f"{{{{ {part[0][1]} }}}}" for part in line]
        lines.append("".join(parts))
    return "\n".join(lines)


def with_dependencies(name: str) -> list[str]:
    names = [name]
    for dependency in recipes()[name]["dependencies"]:
        names += with_dependencies(dependency["recipe"])
    return names


@pytest.mark.parametrize("name", CONTAINER_RECIPES + OPERATIONS_RECIPES)
def test_every_documented_recipe_exists_with_a_description(name: str) -> None:
    assert name in recipes()
    assert recipes()[name]["doc"], name


def test_scale_workers_and_the_headless_load_test_take_their_arguments() -> None:
    def parameters(name: str) -> list[tuple[str, str | None]]:
        return [(p["name"], p["default"]) for p in recipes()[name]["parameters"]]

    assert parameters("scale-workers") == [("N", None)]
    assert parameters("load-test-headless") == [("USERS", "20"), ("SECONDS", "30")]
    assert "--scale worker={{ N }}" in body("scale-workers")


def test_local_serve_runs_the_same_aijobs_commands_as_compose() -> None:
    local = "\n".join(body(name) for name in with_dependencies("serve"))
    local_commands = set(re.findall(r"\baijobs (\w+)", local))
    services = compose()["services"]
    containers = {
        service["command"][1]
        for service in services.values()
        if service.get("command", [""])[0] == "aijobs"
    }

    assert local_commands == containers == {"migrate", "api", "worker", "scheduler"}


def test_a_container_recipe_without_an_engine_says_so_in_one_line(tmp_path: Path) -> None:
    # A PATH with a shell and nothing else: no docker, podman or podman-compose.
    for tool in ("bash", "sh"):
        found = shutil.which(tool)
        assert found
        os.symlink(found, tmp_path / tool)

    result = just("status", env={"PATH": str(tmp_path)})

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "no container engine: install Docker with its compose plugin, or Podman with podman-compose"
    ]
