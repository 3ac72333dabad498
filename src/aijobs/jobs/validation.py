"""Checks a job request must pass before a row is written."""

from __future__ import annotations

from typing import Any

import msgspec

from aijobs.ai.documents import resolve_document_path, validate_input_text
from aijobs.errors import InvalidInput
from aijobs.jobs.registry import load_kinds
from aijobs.jobs.schemas import JobCreate
from aijobs.settings import get_settings

#: Largest `params` object accepted, in bytes of its JSON.
MAX_PARAMS_BYTES = 16 * 1024


def validate_job(data: JobCreate, prefix: str = "") -> dict[str, Any]:
    """Check one job request; return its params normalised by the kind's struct."""
    kinds = load_kinds()
    kind = kinds.get(data.kind)
    if kind is None:
        known = ", ".join(sorted(kinds))
        raise InvalidInput(f"{prefix}kind", f"unknown kind {data.kind!r}; known kinds: {known}")

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
    except InvalidInput as exc:
        raise InvalidInput(f"{prefix}{exc.field}", exc.detail.split(": ", 1)[1]) from None

    if len(msgspec.json.encode(data.params)) > MAX_PARAMS_BYTES:
        raise InvalidInput(f"{prefix}params", f"larger than {MAX_PARAMS_BYTES} bytes")

    try:
        params = msgspec.convert(data.params, kind.params_type)
    except msgspec.ValidationError as exc:
        where, message = _split_msgspec_error(exc)
        raise InvalidInput(f"{prefix}params{where}", message) from None

    return msgspec.to_builtins(params)  # type: ignore[no-any-return]


def _split_msgspec_error(exc: msgspec.ValidationError) -> tuple[str, str]:
    """Split "Expected `int`, got `str` - at `$.steps`" into (".steps", "Expected…")."""
    text = str(exc)
    message, _, where = text.rpartition(" - at `$")
    if not message:
        return "", text

    return where.rstrip("`"), message
