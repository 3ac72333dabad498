"""Checks a job request must pass before a row is written."""

from __future__ import annotations

from typing import Any

import msgspec

from aijobs.ai.documents import resolve_document_path, validate_input_text
from aijobs.errors import InvalidInput
from aijobs.jobs.registry import load_kinds
from aijobs.jobs.schemas import JobCreate
from aijobs.settings import get_settings
from aijobs.webhooks.policy import check_webhook_url

#: Largest `params` object accepted, in bytes of its JSON.
MAX_PARAMS_BYTES = 16 * 1024
#: Deepest nesting of objects and arrays in `params`; the object itself is level 1.
MAX_PARAMS_DEPTH = 8


def validate_job(data: JobCreate, prefix: str = "") -> dict[str, Any]:
    """Check one job request; return its params normalised by the kind's struct."""
    kinds = load_kinds()
    kind = kinds.get(data.kind)
    if kind is None:
        known = ", ".join(sorted(kinds))
        raise InvalidInput(f"{prefix}kind", f"unknown kind {data.kind!r}; known kinds: {known}")

    # Encoded once: the NUL check and the size limit both read the JSON.
    params_json = msgspec.json.encode(data.params)
    _refuse_nul(data, params_json, prefix)

    has_text, has_file = data.input_text is not None, data.input_file_path is not None
    if has_text and has_file:
        raise InvalidInput(f"{prefix}input_text", "give input_text or input_file_path, not both")

    if kind.needs_input and not (has_text or has_file):
        needs = f"kind {data.kind!r} needs input_text or input_file_path"
        raise InvalidInput(f"{prefix}input_text", needs)

    try:
        if data.input_text is not None:
            validate_input_text(data.input_text)
        if data.input_file_path is not None:
            resolve_document_path(get_settings().data_dir, data.input_file_path)
        if data.webhook_url is not None:
            check_webhook_url(data.webhook_url, get_settings())
    except InvalidInput as exc:
        raise InvalidInput(f"{prefix}{exc.field}", exc.detail.split(": ", 1)[1]) from None

    if len(params_json) > MAX_PARAMS_BYTES:
        raise InvalidInput(f"{prefix}params", f"larger than {MAX_PARAMS_BYTES} bytes")

    if _nested_deeper_than(data.params, MAX_PARAMS_DEPTH):
        raise InvalidInput(f"{prefix}params", f"nested deeper than {MAX_PARAMS_DEPTH} levels")

    try:
        params = msgspec.convert(data.params, kind.params_type)
    except msgspec.ValidationError as exc:
        where, message = _split_msgspec_error(exc)
        raise InvalidInput(f"{prefix}params{where}", message) from None

    return msgspec.to_builtins(params)  # type: ignore[no-any-return]


def _refuse_nul(data: JobCreate, params_json: bytes, prefix: str) -> None:
    """PostgreSQL stores no NUL character in text or JSON, and paths cannot hold one."""
    texts = {
        "input_text": data.input_text,
        "input_file_path": data.input_file_path,
        "webhook_url": data.webhook_url,
        "params": params_json.decode(),
    }
    for field, value in texts.items():
        if value is not None and ("\x00" in value or "\\u0000" in value):
            raise InvalidInput(f"{prefix}{field}", "contains a NUL character")


def _nested_deeper_than(value: Any, limit: int) -> bool:
    """True when objects and arrays nest past `limit`; a loop, so no input can recurse deep."""
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if not isinstance(item, dict | list):
            continue
        if level > limit:
            return True
        stack.extend((child, level + 1) for child in children)
    return False


def _split_msgspec_error(exc: msgspec.ValidationError) -> tuple[str, str]:
    """Split "Expected `int`, got `str` - at `$.steps`" into (".steps", "Expected…")."""
    text = str(exc)
    message, _, where = text.rpartition(" - at `$")
    if not message:
        return "", text

    return where.rstrip("`"), message
