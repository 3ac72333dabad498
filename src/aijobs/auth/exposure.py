"""The one place auth may be off: an API that only this machine can reach."""

from __future__ import annotations

from ipaddress import ip_address

from aijobs.settings import Settings, SettingsError


def is_loopback(host: str) -> bool:
    try:
        return ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def check_exposure(settings: Settings) -> None:
    """Refuse to serve without auth on an address other machines can reach."""
    if settings.auth_enabled or is_loopback(settings.host):
        return

    raise SettingsError(
        f"invalid setting AUTH_ENABLED: auth may be off only while the API listens on "
        f"loopback (127.0.0.1, ::1 or localhost), and HOST is {settings.host}; "
        f"create a key with `aijobs keys create` and set AUTH_ENABLED=true"
    )
