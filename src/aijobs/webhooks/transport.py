"""One webhook POST, sent only to addresses the policy allows, redirects followed by hand.

The host is resolved once, by our own network backend: if any address it
resolves to is blocked, nothing is sent; otherwise the connection goes to
that vetted address itself, so a second lookup cannot swap in another one
(DNS rebinding). httpcore still sends the original host in the Host header
and checks the TLS certificate against it.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import ip_address
from urllib.parse import urljoin, urlsplit

import httpcore

from aijobs.webhooks.policy import IPAddress, Network, is_allowed, url_problem

#: Redirects followed before the delivery counts as failed.
MAX_REDIRECTS = 3
REDIRECTS = frozenset({301, 302, 303, 307, 308})


class Refused(Exception):
    """Nothing was sent to the host: its URL or an address it resolves to is not allowed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Answer:
    """What a delivery came back with: the last status code, and why it failed if it did."""

    status_code: int | None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


class VettedBackend(httpcore.AsyncNetworkBackend):
    """Connect only to addresses the policy allows, and only to those it checked."""

    def __init__(self, networks: Sequence[Network]) -> None:
        self._networks = networks
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        failure: httpcore.ConnectError | None = None
        for address in await self._resolve(host, port):
            try:
                return await self._backend.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                failure = exc

        assert failure is not None  # _resolve returns at least one address
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise Refused("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)

    async def _resolve(self, host: str, port: int) -> list[IPAddress]:
        loop = asyncio.get_running_loop()
        try:
            found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror:
            raise Refused(f"host {host} not found") from None

        addresses = list(dict.fromkeys(ip_address(entry[4][0]) for entry in found))
        if not addresses:
            raise Refused(f"host {host} not found")

        # One blocked address refuses the host: a name listing a public and a
        # private address must not get its request through on either.
        for address in addresses:
            if not is_allowed(address, self._networks):
                raise Refused(f"address {address} is not allowed")
        return addresses


async def post(
    url: str, headers: dict[str, str], body: bytes, *, networks: Sequence[Network], timeout_s: float
) -> Answer:
    """POST `body` to `url` within `timeout_s`; a failure is an Answer with an error, not raised."""
    pool = httpcore.AsyncConnectionPool(network_backend=VettedBackend(networks))
    try:
        async with pool, asyncio.timeout(timeout_s):
            return await _follow(pool, url, headers, body, networks)
    except Refused as exc:
        return Answer(None, exc.reason)
    except (TimeoutError, httpcore.TimeoutException):
        return Answer(None, "timed out")
    except httpcore.ConnectError as exc:
        return Answer(None, _connect_failure(exc))
    except httpcore.ProtocolError:
        return Answer(None, "not a valid HTTP response")
    except httpcore.NetworkError:
        return Answer(None, "connection lost")


async def _follow(
    pool: httpcore.AsyncConnectionPool,
    url: str,
    headers: dict[str, str],
    body: bytes,
    networks: Sequence[Network],
) -> Answer:
    """Send the same signed POST along up to MAX_REDIRECTS redirects, checking every hop."""
    problem = url_problem(url, networks)
    if problem is not None:
        raise Refused(problem)

    redirects = 0
    while True:
        status, location = await _post_once(pool, url, headers, body)
        if status not in REDIRECTS or location is None:
            return Answer(status)
        if redirects == MAX_REDIRECTS:
            return Answer(status, f"more than {MAX_REDIRECTS} redirects")

        redirects += 1
        url = urljoin(url, location)
        problem = url_problem(url, networks)
        if problem is not None:
            return Answer(status, f"redirect refused: {problem}")


async def _post_once(
    pool: httpcore.AsyncConnectionPool, url: str, headers: dict[str, str], body: bytes
) -> tuple[int, str | None]:
    """The status and Location of one POST; the response body is never read."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request_url = httpcore.URL(
        scheme=parts.scheme, host=parts.hostname or "", port=parts.port, target=target
    )
    # netloc keeps the brackets of an IPv6 host that `hostname` drops.
    request_headers = [("Host", parts.netloc), *headers.items()]
    async with pool.stream("POST", request_url, headers=request_headers, content=body) as response:
        location = next(
            (value for name, value in response.headers if name.lower() == b"location"), None
        )
    return response.status, None if location is None else location.decode("latin-1")


def _connect_failure(exc: BaseException) -> str:
    """A short reason a connection failed, from the first cause that says."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate not trusted: {cause.verify_message}"
        if isinstance(cause, ssl.SSLError):
            return "TLS handshake failed"
        cause = cause.__cause__ or cause.__context__
    return "could not connect"
