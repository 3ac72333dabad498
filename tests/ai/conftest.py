"""Fixtures of the AI tests: a DATA_DIR, a fake OpenAI server, settings from the env."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aijobs.settings import Settings, get_settings

from .fake_openai import FakeOpenAI

#: The key the tests give the OpenAI provider; it must never show in an error.
API_KEY = "sk-test-0123456789abcdefSECRET"

Configure = Callable[..., Settings]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """Return an empty DATA_DIR inside the test's own temporary directory."""
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """Run a fake OpenAI server on 127.0.0.1 for one test, then stop it."""
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Iterator[Configure]:
    """Return a function that sets environment settings and re-reads them."""

    def apply(**values: str | Path) -> Settings:
        for name, value in values.items():
            monkeypatch.setenv(name.upper(), str(value))
        get_settings.cache_clear()
        return get_settings()

    yield apply
    # Runs before monkeypatch restores the environment: the next reader re-reads it.
    get_settings.cache_clear()


@pytest.fixture
def local_settings(configure: Configure, data_dir: Path) -> Settings:
    """Settings with no API key (the local summariser) and the test's DATA_DIR."""
    return configure(data_dir=data_dir, openai_api_key="")


@pytest.fixture
def openai_settings(configure: Configure, data_dir: Path, fake_openai: FakeOpenAI) -> Settings:
    """Settings pointing the OpenAI provider at the fake server, with a tiny timeout."""
    return configure(
        data_dir=data_dir,
        openai_api_key=API_KEY,
        openai_base_url=fake_openai.base_url,
        openai_model="fake-model",
        openai_timeout_s="0.5",
    )
