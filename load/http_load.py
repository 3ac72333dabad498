"""A lean HTTP/1.1 load generator: one keep-alive connection per simulated client.

httpx spends about a millisecond of CPU on each request, which on a small
machine is more than the API it measures. Here each simulated client is an
asyncio Protocol on its own connection: it writes a request encoded once up
front, frames the response by its status line, headers and Content-Length,
and writes the next request from the same callback. No task or future is
made per request, and of the headers only the framing ones are looked at.

It speaks only what the benchmark needs: one request in flight per
connection, and responses framed by Content-Length. A response framed any
other way (chunked, or delimited by the server closing) cannot be read to its
end here; it counts as an error and its connection is replaced instead of
waiting on it. A request whose connection closes under it counts as an error
too, and the client connects again for the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass
from typing import cast

#: Longest a request may wait for its whole response, in seconds.
TIMEOUT_S = 10.0
#: How often requests are checked against TIMEOUT_S, in seconds.
WATCH_S = 0.5
#: Longest status line and header block accepted, in bytes.
MAX_HEAD_BYTES = 64 * 1024
#: Statuses that never have a body, whatever their headers say (RFC 9110).
BODYLESS = frozenset({204, 304})


class ResponseError(Exception):
    """A response this client cannot frame; its connection is given up."""


@dataclass(frozen=True)
class LoadResult:
    """What one run measured; `latencies` holds every request, failed ones too."""

    latencies: list[float]
    statuses: Counter[int]
    broken: int
    seconds: float
    cpu_seconds: float

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def errors(self) -> int:
        """Requests answered with a status of 400 or more, or not answered at all."""
        return self.broken + sum(n for status, n in self.statuses.items() if status >= 400)


def encode_request(
    method: str, target: str, *, host: str, api_key: str, body: bytes = b""
) -> bytes:
    """The bytes of one request, built once and written again for every send."""
    head = (
        f"{method} {target} HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        f"Authorization: Bearer {api_key}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + body


def parse_head(head: bytes) -> tuple[int, int, bool]:
    """Status, body length and whether the server keeps the connection open."""
    status_line, *fields = head.split(b"\r\n")
    version, _, rest = status_line.partition(b" ")
    if not version.startswith(b"HTTP/1.") or not rest[:3].isdigit():
        raise ResponseError(f"not an HTTP/1.x status line: {status_line[:80]!r}")

    status = int(rest[:3])
    length: int | None = None
    keep_alive = version != b"HTTP/1.0"
    for field in fields:
        name, _, value = field.partition(b":")
        name = name.lower()
        if name == b"content-length":
            length = int(value) if value.strip().isdigit() else -1
        elif name == b"transfer-encoding":
            raise ResponseError("a Transfer-Encoding body cannot be framed here")
        elif name == b"connection":
            keep_alive = b"close" not in value.lower()

    if status < 200:
        raise ResponseError(f"interim response {status}, which was never asked for")
    if status in BODYLESS:
        return status, 0, keep_alive
    if length is None or length < 0:
        raise ResponseError("a response without a valid Content-Length cannot be framed here")
    return status, length, keep_alive


class _Run:
    """What the clients of one run share: the requests left and what they measured."""

    def __init__(self, request: bytes, requests: int) -> None:
        self.request = request
        self.remaining = requests
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.broken = 0
        self.live: set[_Connection] = set()

    def take(self) -> bool:
        if self.remaining <= 0:
            return False

        self.remaining -= 1
        return True

    def answered(self, started: float, status: int) -> None:
        self.latencies.append(time.perf_counter() - started)
        self.statuses[status] += 1

    def failed(self, started: float) -> None:
        self.latencies.append(time.perf_counter() - started)
        self.broken += 1


class _Connection(asyncio.Protocol):
    """One client's connection: send, frame the response, record it, send again."""

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        # While the head is awaited this is -1; then the body bytes still to come.
        self.body_left = -1
        self.status = 0
        self.keep_alive = True
        # When the request in flight was sent; 0.0 when none is.
        self.started = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.run.live.add(self)
        self._send()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        try:
            if not self.started:
                raise ResponseError("bytes arrived with no request in flight")
            if not self._framed():
                return
            if self.buffer:
                raise ResponseError("bytes arrived past the end of the response")
        except ResponseError:
            self.give_up()
            return

        self.run.answered(self.started, self.status)
        self.started = 0.0
        if self.keep_alive:
            self._send()
        else:
            self._close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.started:
            self.run.failed(self.started)
            self.started = 0.0
        self.run.live.discard(self)
        self.closed.set_result(None)

    def give_up(self) -> None:
        """Count the request in flight as failed and drop the connection at once."""
        if self.started:
            self.run.failed(self.started)
            self.started = 0.0
        if self.transport is not None:
            self.transport.abort()

    def _send(self) -> None:
        if not self.run.take():
            self._close()
            return

        self.started = time.perf_counter()
        assert self.transport is not None
        self.transport.write(self.run.request)

    def _close(self) -> None:
        assert self.transport is not None
        self.transport.close()

    def _framed(self) -> bool:
        """Whether a whole response is in the buffer; if so it is taken out of it."""
        if self.body_left < 0:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD_BYTES:
                    raise ResponseError("the response head is too long")
                return False

            self.status, self.body_left, self.keep_alive = parse_head(bytes(self.buffer[:end]))
            del self.buffer[: end + 4]

        if len(self.buffer) < self.body_left:
            return False

        del self.buffer[: self.body_left]
        self.body_left = -1
        return True


async def _client(run: _Run, host: str, port: int) -> None:
    """Keep one connection busy until the run's requests are all taken."""
    loop = asyncio.get_running_loop()
    while run.remaining > 0:
        started = time.perf_counter()
        try:
            _, connection = await loop.create_connection(lambda: _Connection(run), host, port)
        except OSError:
            # The request it was for fails, so a dead server ends the run.
            if run.take():
                run.failed(started)
            continue

        await connection.closed


async def _watch(run: _Run) -> None:
    """Give up on requests older than TIMEOUT_S; one timer for the run, not one each."""
    while True:
        await asyncio.sleep(WATCH_S)
        oldest = time.perf_counter() - TIMEOUT_S
        for connection in list(run.live):
            if 0.0 < connection.started < oldest:
                connection.give_up()


async def run_load(
    host: str, port: int, request: bytes, *, requests: int, clients: int
) -> LoadResult:
    """Send `request` `requests` times from `clients` connections, each request timed.

    `cpu_seconds` is the CPU time of this thread over the run: the event loop
    does all of the generator's work, and other threads of the process (such
    as a monitor sampling /proc) are not part of the load.
    """
    run = _Run(request, requests)
    cpu_started = time.thread_time()
    started = time.perf_counter()
    watch = asyncio.create_task(_watch(run))
    try:
        await asyncio.gather(*(_client(run, host, port) for _ in range(clients)))
    finally:
        watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch

    return LoadResult(
        latencies=run.latencies,
        statuses=run.statuses,
        broken=run.broken,
        seconds=time.perf_counter() - started,
        cpu_seconds=time.thread_time() - cpu_started,
    )
