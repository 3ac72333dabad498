"""Secrets that must never reach a log line: API keys, webhook secrets, provider keys."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from tests.ai.conftest import API_KEY as FAKE_OPENAI_KEY

#: SECRET_KEY of every test process.
SERVER_SECRET = "test-server-secret"

PATTERNS = [
    re.compile(r"aij_[A-Za-z0-9_-]{43}"),
    re.compile(r"whsec_[0-9a-f]{64}"),
    re.compile(re.escape(FAKE_OPENAI_KEY)),
    re.compile(re.escape(SERVER_SECRET)),
]


def leaks(text: str) -> list[str]:
    """Every secret-shaped string in `text`, shortened so the report does not leak it again."""
    return [match.group()[:10] + "…" for pattern in PATTERNS for match in pattern.finditer(text)]


def leaks_in_files(paths: Iterable[Path]) -> dict[str, list[str]]:
    found = {}
    for path in paths:
        hits = leaks(path.read_text(errors="replace"))
        if hits:
            found[str(path)] = hits
    return found
