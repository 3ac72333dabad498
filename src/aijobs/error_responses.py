"""The error answers each route may give, as its OpenAPI document describes them."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import SecurityRequirement


class ErrorBody(msgspec.Struct):
    """Every error: the status again, one line for people, and details for programs."""

    status_code: int
    detail: str
    extra: Any | None = None


WHY: dict[int, str] = {
    400: "A field breaks a rule; `detail` starts with its path.",
    401: "No API key, or a wrong or revoked one.",
    403: "The key is not an admin key.",
    404: "No such job, or one that belongs to another key.",
    409: "The job's state does not allow it, or the Idempotency-Key is in flight.",
    413: "The body is larger than 1 MiB.",
    422: "The Idempotency-Key was used before with another body.",
    429: "The key's requests for this minute are spent; see Retry-After.",
    503: "The database or the broker is unavailable; try again shortly.",
}

#: What any route behind an API key may answer.
KEYED = (401, 429, 503)

#: The security requirement of routes behind an API key.
API_KEY: list[SecurityRequirement] = [{"ApiKey": []}]


def errors(*codes: int) -> dict[int, ResponseSpec]:
    """Error responses for a keyed route: the usual three plus `codes`."""
    return {
        code: ResponseSpec(data_container=ErrorBody, description=WHY[code], generate_examples=False)
        for code in sorted({*KEYED, *codes})
    }
