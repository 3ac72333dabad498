"""Auth may be off only on loopback; `aijobs dev` is the one place it is off by default."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from aijobs.auth.exposure import check_exposure
from aijobs.settings import Settings, SettingsError
from tests.support import ROOT, ServerProcess


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_auth_may_be_off_on_loopback(host: str) -> None:
    check_exposure(Settings(auth_enabled=False, host=host))


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "api.example.com"])
def test_auth_off_on_a_reachable_address_is_refused(host: str) -> None:
    with pytest.raises(SettingsError, match=f"auth may be off only .* HOST is {host}"):
        check_exposure(Settings(auth_enabled=False, host=host))

    check_exposure(Settings(auth_enabled=True, host=host))


def test_the_api_refuses_to_start_open_on_every_address() -> None:
    env = {**os.environ, "HOST": "0.0.0.0", "AUTH_ENABLED": "false"}

    result = subprocess.run(
        [sys.executable, "-m", "aijobs", "api"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "aijobs: invalid setting AUTH_ENABLED: auth may be off only while the API listens on "
        "loopback (127.0.0.1, ::1 or localhost), and HOST is 0.0.0.0; create a key with "
        "`aijobs keys create` and set AUTH_ENABLED=true"
    ]


def server_without_auth_setting(command: str) -> ServerProcess:
    """`command` started as a new user would: AUTH_ENABLED set nowhere."""
    server = ServerProcess(command)
    server.env.pop("AUTH_ENABLED")
    return server.start()


@pytest.mark.slow
@pytest.mark.usefixtures("database")
def test_dev_on_loopback_runs_without_auth_and_says_so() -> None:
    server = server_without_auth_setting("dev")
    try:
        me = httpx.get(f"{server.url}/me", timeout=10)
    finally:
        server.stop()

    assert me.json() == {"name": "local", "role": "admin", "auth_enabled": False}


@pytest.mark.slow
@pytest.mark.usefixtures("database")
def test_the_api_wants_a_key_unless_told_otherwise() -> None:
    server = server_without_auth_setting("api")
    try:
        me = httpx.get(f"{server.url}/me", timeout=10)
        health = httpx.get(f"{server.url}/health", timeout=10)
    finally:
        server.stop()

    assert me.status_code == 401
    assert health.status_code == 200
