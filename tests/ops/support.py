"""Helpers of the operations tests: the CLI's commands, just, the metrics wiring."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from functools import cache
from typing import Any

import pytest
import yaml

from tests.conftest import IN_CI, ROOT

#: Where `uv run` puts `just` (rust-just), ahead of anything on PATH.
VENV_BIN = os.path.dirname(sys.executable)


def aijobs_help(*command: str) -> str:
    """`aijobs [COMMAND] --help`, as a user would read it."""
    result = subprocess.run(
        [sys.executable, "-m", "aijobs", *command, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout


@cache
def aijobs_commands() -> frozenset[str]:
    """The subcommands `aijobs --help` lists, one per line under COMMAND."""
    return frozenset(re.findall(r"^ {4}(\w[\w-]*)(?:\s|$)", aijobs_help(), re.MULTILINE))


@cache
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def just_executable() -> str:
    found = shutil.which("just", path=os.pathsep.join([VENV_BIN, os.environ.get("PATH", "")]))
    assert found, "just is a development dependency (rust-just); run the tests through uv"
    return found


def just(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [just_executable(), *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def require_wiring(missing: list[str]) -> None:
    """Skip until the metrics are wired into the app; under CI=true, fail."""
    if not missing:
        return

    message = "metrics not wired yet: " + "; ".join(missing)
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)
