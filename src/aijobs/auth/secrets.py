"""The server secret, and what is derived from it: key hashes and webhook secrets."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path
from uuid import UUID

from aijobs.settings import Settings

#: What every API key starts with, so leaked keys are easy to recognise and scan for.
KEY_PREFIX = "aij_"
#: Characters of a key kept in clear (prefix included) to tell keys apart in listings.
SHOWN_CHARS = 12
#: The file in DATA_DIR that holds the generated server secret (a name, not a secret).
SECRET_FILE = "secret_key"  # noqa: S105


def server_secret(settings: Settings) -> bytes:
    """SECRET_KEY, or the one kept in DATA_DIR, made on first use."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()

    return _secret_from_file(settings.data_dir / SECRET_FILE)


@lru_cache(maxsize=4)
def _secret_from_file(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: when two processes start at once, one writes and both read its secret.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(32))

    secret = path.read_text().strip()
    if not secret:
        raise RuntimeError(f"{path} is empty; delete it or set SECRET_KEY")
    return secret.encode()


def new_key() -> str:
    """A fresh API key: the prefix and 256 bits of randomness."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(settings: Settings, key: str) -> str:
    """The keyed hash stored for `key`; without the server secret it reveals nothing."""
    return hmac.new(server_secret(settings), key.encode(), hashlib.sha256).hexdigest()


def webhook_secret(settings: Settings, owner_id: UUID | None) -> str:
    """The secret that signs webhooks of jobs submitted with key `owner_id` (None: auth off)."""
    subject = b"webhook:" + (owner_id.bytes if owner_id is not None else b"anonymous")
    digest = hmac.new(server_secret(settings), subject, hashlib.sha256).hexdigest()
    return f"whsec_{digest}"
