"""Settings: a bad value stops the process with one line naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aijobs.cli import given
from aijobs.settings import Settings, SettingsError, load_settings
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("JOB_MAX_RETRIES", "many"),
        ("JOB_LEASE_S", "0"),
        ("PORT", "70000"),
        ("LOG_FORMAT", "xml"),
        ("DATABASE_URL", "mysql://localhost/jobs"),
    ],
)
def test_a_bad_value_stops_the_command_with_one_line_naming_it(name: str, value: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "aijobs", "migrate"],
        cwd=ROOT,
        env={**os.environ, name: value},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert name in lines[0]


def test_load_settings_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKER_THREADS", "0")

    with pytest.raises(SettingsError, match="WORKER_THREADS"):
        load_settings()


def test_a_plain_postgres_url_gets_the_async_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db/jobs")

    assert load_settings().database_url == "postgresql+asyncpg://u@db/jobs"


def test_without_redis_the_settings_say_embedded() -> None:
    assert Settings(redis_url=None).embedded
    assert not Settings(redis_url="redis://127.0.0.1:6379/0").embedded


def test_the_worker_refuses_to_start_without_redis() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "aijobs", "worker"],
        cwd=ROOT,
        env={**os.environ, "REDIS_URL": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    assert "REDIS_URL" in result.stderr


#: Settings .env.example leaves empty on purpose: their default depends on the command.
LEFT_TO_THE_COMMAND = {"AUTH_ENABLED"}


def test_env_example_lists_every_setting_with_its_default() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    assignments = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))

    for name, field in Settings.model_fields.items():
        assert name.upper() in assignments, f"{name.upper()} is missing from .env.example"
        unset = field.default is None or field.default_factory is not None
        default = "" if unset or name.upper() in LEFT_TO_THE_COMMAND else str(field.default)
        assert assignments[name.upper()] == default, name.upper()


def test_an_empty_optional_setting_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "")
    monkeypatch.setenv("OPENAI_API_KEY", "")

    settings = load_settings()

    assert settings.redis_url is None
    assert settings.openai_api_key is None


def test_an_empty_variable_overrides_env_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # `aijobs dev` forces embedded mode by emptying REDIS_URL, whatever .env names.
    (tmp_path / ".env").write_text("REDIS_URL=redis://127.0.0.1:6379/5\nAUTH_ENABLED=\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REDIS_URL", "")
    monkeypatch.delenv("AUTH_ENABLED")

    settings = load_settings()

    assert settings.redis_url is None
    assert settings.auth_enabled is True


@pytest.mark.parametrize(
    ("environment", "env_file", "expected"),
    [(None, "", False), (None, "AUTH_ENABLED=\n", False), (None, "AUTH_ENABLED=true\n", True),
     ("", "AUTH_ENABLED=false\n", True), ("false", "", True)],
)  # fmt: skip
def test_dev_leaves_auth_to_a_setting_that_has_a_value(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    environment: str | None,
    env_file: str,
    expected: bool,
) -> None:
    (tmp_path / ".env").write_text(env_file)
    monkeypatch.chdir(tmp_path)
    if environment is None:
        monkeypatch.delenv("AUTH_ENABLED")
    else:
        monkeypatch.setenv("AUTH_ENABLED", environment)

    assert given("AUTH_ENABLED") is expected
