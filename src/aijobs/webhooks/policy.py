"""Which webhook URLs and addresses aijobs may send to.

Webhooks let any client make the server send a request, so the rules keep
those requests away from the server's own network: https only, and no
address that is not globally routable unless the operator allows its
network in WEBHOOK_ALLOWED_NETWORKS. The URL is checked at submit; every
address it resolves to is checked again at delivery (see transport.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from urllib.parse import SplitResult, urlsplit

from aijobs.errors import InvalidInput
from aijobs.settings import Settings

#: Longest webhook URL accepted, in characters; the column holds as many.
MAX_URL_CHARS = 2048

IPAddress = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

#: What `localhost` resolves to; http to it needs one of these allowed.
LOOPBACK = (ip_address("127.0.0.1"), ip_address("::1"))

HTTPS_ONLY = "must use https (http only to a loopback address in WEBHOOK_ALLOWED_NETWORKS)"


def allowed_networks(settings: Settings) -> tuple[Network, ...]:
    """WEBHOOK_ALLOWED_NETWORKS, parsed once."""
    return _parse_networks(tuple(settings.webhook_allowed_networks))


@lru_cache(maxsize=8)
def _parse_networks(networks: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ip_network(network, strict=False) for network in networks)


def _unwrapped(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped or 6to4 IPv6 address, else the address."""
    if isinstance(address, IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is not None:
            return inner
    return address


def is_blocked(address: IPAddress) -> bool:
    """True for an address that is not globally routable: private, loopback and the like."""
    address = _unwrapped(address)
    # is_global leaves out multicast and the reserved IPv6 ::/8 (IPv4-compatible).
    return not address.is_global or address.is_multicast or address.is_reserved


def is_allowed(address: IPAddress, networks: Sequence[Network]) -> bool:
    """True when a webhook may be sent to `address`."""
    address = _unwrapped(address)
    return not is_blocked(address) or any(address in network for network in networks)


def url_problem(url: str, networks: Sequence[Network]) -> str | None:
    """Why `url` may not receive webhooks, in a few words; None when it may."""
    if len(url) > MAX_URL_CHARS:
        return f"longer than {MAX_URL_CHARS} characters"
    if not url.isascii() or any(char.isspace() or not char.isprintable() for char in url):
        return "must be ASCII without spaces (write a non-ASCII host name in punycode)"

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is what raises on a bad one
    except ValueError:
        return "is not a valid URL"

    if parts.scheme not in ("https", "http"):
        return HTTPS_ONLY
    if not parts.hostname:
        return "has no host"
    if "@" in parts.netloc:
        return "must not contain a user name or password"

    return _host_problem(parts, networks)


def _host_problem(parts: SplitResult, networks: Sequence[Network]) -> str | None:
    host = parts.hostname or ""
    try:
        literal: IPAddress | None = ip_address(host)
    except ValueError:
        literal = None

    if literal is not None and not is_allowed(literal, networks):
        return f"address {literal} is not allowed (private, loopback or reserved)"

    if parts.scheme == "http" and not _loopback_allowed(host, literal, networks):
        return HTTPS_ONLY

    return None


def _loopback_allowed(host: str, literal: IPAddress | None, networks: Sequence[Network]) -> bool:
    """True for `localhost` or a loopback address, when loopback is allowed."""
    if literal is not None:
        return _unwrapped(literal).is_loopback and is_allowed(literal, networks)
    if host == "localhost":
        return any(is_allowed(address, networks) for address in LOOPBACK)
    return False


def check_webhook_url(url: str, settings: Settings) -> None:
    """Refuse a URL that may not receive webhooks, naming the rule it breaks."""
    problem = url_problem(url, allowed_networks(settings))
    if problem is not None:
        raise InvalidInput("webhook_url", problem)
