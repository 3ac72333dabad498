"""`aijobs keys`: a key is printed once, stored only as a keyed hash, listed and revoked."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from typing import Any

import pytest
from sqlalchemy import text

from aijobs.auth.secrets import webhook_secret
from aijobs.settings import get_settings
from tests.support import ROOT, engine

KEY_LINE = re.compile(r"^aij_[A-Za-z0-9_-]{43}$")


def aijobs_keys(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aijobs", "keys", *args],
        cwd=ROOT,
        env=os.environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def name(database: str) -> str:
    return f"cli-{uuid.uuid4().hex[:8]}"


async def stored_row(name: str) -> dict[str, Any]:
    async with engine().connect() as connection:
        result = await connection.execute(
            text("SELECT * FROM api_key WHERE name = :name"), {"name": name}
        )
        return dict(result.mappings().one())


async def test_create_prints_the_key_alone_on_the_last_line_and_stores_only_a_hash(
    name: str, auth_client: Any
) -> None:
    created = aijobs_keys("create", "--name", name, "--admin")
    key = created.stdout.splitlines()[-1]
    row = await stored_row(name)
    me = await auth_client.get("/me", headers={"Authorization": f"Bearer {key}"})

    assert created.returncode == 0, created.stderr
    assert KEY_LINE.match(key)
    assert f"created admin key {name!r} ({key[:12]}…)" in created.stdout
    assert re.search(r"^webhook signing secret: whsec_[0-9a-f]{64}$", created.stdout, re.M)
    assert key not in " ".join(str(value) for value in row.values())
    assert (row["prefix"], row["role"]) == (key[:12], "admin")
    assert me.json() == {"name": name, "role": "admin", "auth_enabled": True}


async def test_list_shows_name_prefix_role_and_last_use(name: str, auth_client: Any) -> None:
    key = aijobs_keys("create", "--name", name).stdout.splitlines()[-1]
    before = aijobs_keys("list").stdout
    await auth_client.get("/me", headers={"Authorization": f"Bearer {key}"})
    after = aijobs_keys("list").stdout

    header, *rows = before.splitlines()
    line_before = next(line for line in rows if line.startswith(name))
    line_after = next(line for line in after.splitlines() if line.startswith(name))
    assert header.split() == ["name", "prefix", "role", "created", "last", "used", "revoked"]
    assert line_before.split()[1:3] == [key[:12], "user"]
    assert line_before.split()[-2:] == ["-", "-"]
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d  +-$", line_after)
    assert key not in before + after


async def test_a_revoked_key_is_refused_from_then_on(name: str, auth_client: Any) -> None:
    key = aijobs_keys("create", "--name", name).stdout.splitlines()[-1]
    headers = {"Authorization": f"Bearer {key}"}
    before = await auth_client.get("/me", headers=headers)

    revoked = aijobs_keys("revoke", "--name", name)
    after = await auth_client.get("/me", headers=headers)

    assert before.status_code == 200
    assert revoked.returncode == 0
    assert revoked.stdout.strip() == f"revoked key {name!r} ({key[:12]}…)"
    assert after.status_code == 401


@pytest.mark.parametrize(
    ("steps", "error"),
    [
        (
            [["create", "--name", "{name}"], ["create", "--name", "{name}"]],
            "a key named {name!r} already exists",
        ),
        ([["revoke", "--name", "{name}"]], "no key named {name!r}"),
        (
            [
                ["create", "--name", "{name}"],
                ["revoke", "--name", "{name}"],
                ["revoke", "--name", "{name}"],
            ],
            "the key {name!r} is already revoked",
        ),
    ],
)
def test_a_taken_name_or_an_unknown_key_is_one_clear_line(
    name: str, steps: list[list[str]], error: str
) -> None:
    results = [aijobs_keys(*(arg.format(name=name) for arg in step)) for step in steps]

    assert results[-1].returncode == 1
    assert results[-1].stderr.strip() == "aijobs: " + error.format(name=name)


def test_webhook_secret_prints_the_secret_a_key_was_given(name: str) -> None:
    created = aijobs_keys("create", "--name", name).stdout
    given = re.search(r"^webhook signing secret: (whsec_[0-9a-f]{64})$", created, re.M)
    again = aijobs_keys("webhook-secret", "--name", name)
    anonymous = aijobs_keys("webhook-secret")
    unknown = aijobs_keys("webhook-secret", "--name", f"{name}-nobody")

    assert given is not None
    assert again.stdout.strip() == given.group(1)
    assert anonymous.stdout.strip() == webhook_secret(get_settings(), None)
    assert anonymous.stdout.strip() != given.group(1)
    assert (unknown.returncode, unknown.stderr.strip()) == (
        1,
        f"aijobs: no key named '{name}-nobody'",
    )
