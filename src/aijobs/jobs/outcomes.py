"""How the runner classifies what ended an attempt, and how long it backs off."""

from __future__ import annotations

from dramatiq.common import compute_backoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError

from aijobs.database import is_outage
from aijobs.jobs.errors import TransientJobError
from aijobs.settings import Settings

#: Longest Retry-After from a provider that is honoured, in seconds.
MAX_RETRY_AFTER_S = 3600


def is_transient(exc: BaseException) -> bool:
    """True for errors that a later attempt may not meet: outages, timeouts."""
    if isinstance(exc, TransientJobError) or is_outage(exc):
        return True

    return isinstance(exc, OSError | RedisConnectionError | RedisTimeoutError)


def describe(exc: BaseException) -> str:
    """A one-line reason fit for `error_message`: no driver dumps, no secrets."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str):
        return reason

    cause = exc.orig if isinstance(exc, DBAPIError) else exc
    if is_outage(exc):
        return f"database unavailable ({type(cause).__name__})"

    # The driver's text may quote the row's values; the type alone is enough.
    if isinstance(exc, DBAPIError):
        return f"database error ({type(cause).__name__})"

    return f"{type(exc).__name__}: {exc}"[:500]


def backoff_ms(settings: Settings, retry_number: int, exc: BaseException | None = None) -> int:
    """Exponential backoff with jitter for retry `retry_number` (0 for the first)."""
    _, delay = compute_backoff(
        retry_number, factor=settings.job_min_backoff_ms, max_backoff=settings.job_max_backoff_ms
    )
    retry_after_s = getattr(exc, "retry_after_s", None)
    if retry_after_s:
        delay = max(delay, int(min(retry_after_s, MAX_RETRY_AFTER_S) * 1000))

    return int(delay)
