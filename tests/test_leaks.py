"""The log scan that ends every test run finds each kind of secret, and nothing else."""

from __future__ import annotations

from pathlib import Path

from aijobs.auth.secrets import new_key, webhook_secret
from aijobs.settings import Settings
from tests.leaks import FAKE_OPENAI_KEY, SERVER_SECRET, leaks, leaks_in_files


def test_keys_and_secrets_are_found_and_reported_shortened(tmp_path: Path) -> None:
    key = new_key()
    secret = webhook_secret(Settings(secret_key=SERVER_SECRET), None)
    log = tmp_path / "api.log"
    log.write_text(f"auth header {key}\\nsigned with {secret}\\nprovider {FAKE_OPENAI_KEY}\\n")

    found = leaks_in_files([log])

    assert found == {str(log): [key[:10] + "…", secret[:10] + "…", FAKE_OPENAI_KEY[:10] + "…"]}


def test_prefixes_and_ordinary_lines_are_not_secrets() -> None:
    line = "key 'ops' (aij_0AiBJu1C…) created; job 019a23c2-2955-7013 completed"

    assert leaks(line) == []
