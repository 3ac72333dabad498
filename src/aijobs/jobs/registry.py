"""The registry of job kinds: a kind is one module that registers one handler.

Kind modules live in `aijobs.kinds`; every module there is imported by
`load_kinds()`, so adding a kind touches nothing outside its own module.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

import msgspec


class JobContext(Protocol):
    """What a running handler may do to its own job row (all writes are fenced)."""

    job_id: UUID
    attempt: int

    async def progress(self, percent: int, message: str | None = None) -> None:
        """Record progress; raises JobCanceled or LeaseLost when the job must stop."""

    async def check_cancel(self) -> None:
        """Raise JobCanceled if a cancel was requested, LeaseLost if the lease is gone."""

    async def add_usage(self, *, prompt_tokens: int, completion_tokens: int) -> None:
        """Add the token counts of one model call to the job's usage."""


@dataclass(frozen=True, slots=True)
class JobInput:
    """The input of one job, as the client submitted it."""

    input_text: str | None
    input_file_path: str | None
    params: Any  # an instance of the kind's params struct


Handler = Callable[[JobContext, JobInput], Coroutine[Any, Any, dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class JobKind:
    """A registered kind: its name, the struct its params decode into, its handler."""

    name: str
    params_type: type[msgspec.Struct]
    handler: Handler
    needs_input: bool


_kinds: dict[str, JobKind] = {}
_loaded = False


def register_kind(
    name: str, *, params: type[msgspec.Struct], needs_input: bool = True
) -> Callable[[Handler], Handler]:
    """Register the decorated coroutine as the handler of kind `name`."""

    def decorate(handler: Handler) -> Handler:
        if name in _kinds:
            raise RuntimeError(f"job kind {name!r} is registered twice")

        _kinds[name] = JobKind(name, params, handler, needs_input)
        return handler

    return decorate


def load_kinds() -> Mapping[str, JobKind]:
    """Import every module of `aijobs.kinds` once and return the registry."""
    global _loaded
    if _loaded:
        return _kinds

    package = importlib.import_module("aijobs.kinds")
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")

    _loaded = True
    return _kinds


def get_kind(name: str) -> JobKind | None:
    """Return the registered kind called `name`, or None."""
    return load_kinds().get(name)
