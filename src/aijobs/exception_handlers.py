"""One place that turns domain and infrastructure errors into HTTP answers."""

from __future__ import annotations

import re
from typing import Any

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import TooManyRequestsException, ValidationException
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_429_TOO_MANY_REQUESTS,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import DBAPIError, OperationalError

from aijobs.database import is_outage
from aijobs.errors import (
    Conflict,
    DomainError,
    IdempotencyMismatch,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
)

logger = structlog.get_logger(__name__)

#: msgspec's wording for a field the schema does not know.
UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")

STATUS_BY_ERROR: dict[type[DomainError], int] = {
    InvalidInput: HTTP_400_BAD_REQUEST,
    NotFound: HTTP_404_NOT_FOUND,
    Conflict: HTTP_409_CONFLICT,
    IdempotencyMismatch: HTTP_422_UNPROCESSABLE_ENTITY,
    ServiceUnavailable: HTTP_503_SERVICE_UNAVAILABLE,
}


def _answer(
    status_code: int, detail: str, extra: Any = None, headers: dict[str, str] | None = None
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"status_code": status_code, "detail": detail}
    if extra is not None:
        body["extra"] = extra

    return Response(body, status_code=status_code, media_type=MediaType.JSON, headers=headers)


def domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    status_code = next(
        (code for kind, code in STATUS_BY_ERROR.items() if isinstance(exc, kind)),
        HTTP_400_BAD_REQUEST,
    )
    extra = [{"key": exc.field, "message": exc.detail}] if isinstance(exc, InvalidInput) else None
    return _answer(status_code, exc.detail, extra)


def validation_error(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    """Name the first bad field in `detail`; keep Litestar's list in `extra`."""
    errors = exc.extra if isinstance(exc.extra, list) else []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    key, message = first.get("key"), first.get("message")
    unknown = UNKNOWN_FIELD.search(str(message or ""))
    if unknown and key in (None, "data"):
        key = unknown.group(1)
    elif isinstance(key, str) and key.startswith("data."):
        key = key.removeprefix("data.")
    if key and message:
        detail = f"{key}: {message}"
    elif message:
        detail = str(message)
    else:
        detail = exc.detail

    return _answer(HTTP_400_BAD_REQUEST, detail, errors or None)


def too_many_requests(
    _: Request[Any, Any, Any], exc: TooManyRequestsException
) -> Response[dict[str, Any]]:
    """The key's requests for this minute are spent: say when the next one is welcome."""
    headers = {key: str(value) for key, value in (exc.headers or {}).items()}
    wait_s = max(1, int(headers.get("RateLimit-Reset", "60")))
    headers["Retry-After"] = str(wait_s)
    limit = headers.get("RateLimit-Limit", "the")
    detail = f"rate limit of {limit} requests per minute reached; retry in {wait_s} s"
    return _answer(HTTP_429_TOO_MANY_REQUESTS, detail, headers=headers)


def database_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The database went away: 503, without the driver's text."""
    if not is_outage(exc):
        logger.error("database error", path=request.url.path, error=type(exc).__name__)
        return _answer(HTTP_500_INTERNAL_SERVER_ERROR, "internal server error")

    logger.warning("database unavailable", path=request.url.path, error=type(exc).__name__)
    return _answer(HTTP_503_SERVICE_UNAVAILABLE, "the database is unavailable; try again shortly")


def _raised_by_database_driver(exc: BaseException) -> bool:
    """True when the error came up through SQLAlchemy or a database driver."""
    traceback = exc.__traceback__
    while traceback is not None:
        module = traceback.tb_frame.f_globals.get("__name__", "")
        if module.startswith(("sqlalchemy", "asyncpg", "aiosqlite")):
            return True
        traceback = traceback.tb_next
    return False


def connection_refused(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A connection failed; asyncpg raises these unwrapped when it cannot connect."""
    if _raised_by_database_driver(exc):
        return database_unavailable(request, OperationalError(None, None, exc))

    logger.warning("backing service unavailable", path=request.url.path, error=type(exc).__name__)
    return _answer(
        HTTP_503_SERVICE_UNAVAILABLE, "a backing service is unavailable; try again shortly"
    )


def too_deep(request: Request[Any, Any, Any], exc: RecursionError) -> Response[Any]:
    """msgspec gives up on a body nested thousands deep: the client's fault, not ours."""
    if "deserializing" not in str(exc):
        return internal_error(request, exc)

    return _answer(HTTP_400_BAD_REQUEST, "body: nested too deeply to read")


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """An error nobody expected: logged once with its traceback, answered without it."""
    # asyncpg raises "the database is starting up" and the like unwrapped.
    if is_outage(exc):
        return database_unavailable(request, exc)

    logger.error("unhandled error", path=request.url.path, exc_info=exc)
    return _answer(HTTP_500_INTERNAL_SERVER_ERROR, "internal server error")


exception_handlers: dict[int | type[Exception], Any] = {
    HTTP_500_INTERNAL_SERVER_ERROR: internal_error,
    DomainError: domain_error,
    ValidationException: validation_error,
    TooManyRequestsException: too_many_requests,
    RecursionError: too_deep,
    DBAPIError: database_unavailable,
    ConnectionError: connection_refused,
    RedisConnectionError: connection_refused,
}
