"""The benchmark's load generator frames answers right and counts every failure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import http_load
import pytest
from http_load import ResponseError, encode_request, parse_head, run_load

REQUEST = encode_request("GET", "/health", host="127.0.0.1", api_key="k")

#: What the peer sends for request number n (from 1); b"" hangs up instead.
Answer = Callable[[int], bytes]
#: Starts a peer that answers with an Answer; returns its port.
Serve = Callable[[Answer], Awaitable[int]]


def answer(status: int = 200, body: bytes = b"{}", extra: str = "") -> bytes:
    head = f"HTTP/1.1 {status} X\r\ncontent-length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


@pytest.fixture
async def server() -> AsyncIterator[Serve]:
    """Loopback HTTP peers made by the test, each stopped when it ends."""
    servers: list[asyncio.Server] = []

    async def start(reply: Answer) -> int:
        served = 0

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal served
            try:
                while await reader.readuntil(b"\r\n\r\n"):
                    served += 1
                    data = reply(served)
                    if data == b"":
                        return  # hang up without an answer
                    writer.write(data)
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        peer = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(peer)
        return int(peer.sockets[0].getsockname()[1])

    yield start
    for peer in servers:
        peer.close()
        await peer.wait_closed()


def test_a_head_gives_status_length_and_keep_alive() -> None:
    assert parse_head(b"HTTP/1.1 202 Accepted\r\nContent-Length: 12") == (202, 12, True)
    assert parse_head(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nConnection: close") == (
        200,
        0,
        False,
    )
    assert parse_head(b"HTTP/1.0 200 OK\r\nContent-Length: 3") == (200, 3, False)
    assert parse_head(b"HTTP/1.1 204 No Content") == (204, 0, True)


@pytest.mark.parametrize(
    ("head", "reason"),
    [
        (b"SPDY/3 200 OK\r\nContent-Length: 1", "not an HTTP/1.x status line"),
        (b"HTTP/1.1 2x0 OK\r\nContent-Length: 1", "not an HTTP/1.x status line"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked", "Transfer-Encoding"),
        (b"HTTP/1.1 200 OK", "without a valid Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: ten", "without a valid Content-Length"),
        (b"HTTP/1.1 100 Continue", "interim response"),
    ],
)
def test_a_head_that_cannot_be_framed_is_refused(head: bytes, reason: str) -> None:
    with pytest.raises(ResponseError, match=reason):
        parse_head(head)


async def test_every_request_is_answered_timed_and_counted(server: Serve) -> None:
    port = await server(lambda n: answer(202 if n % 2 else 429, b'{"n": %d}' % n))

    result = await run_load("127.0.0.1", port, REQUEST, requests=40, clients=4)

    assert result.requests == 40
    assert result.statuses == {202: 20, 429: 20}
    assert result.errors == 20
    assert result.broken == 0
    assert all(0 < latency < 5 for latency in result.latencies)


async def test_a_response_split_across_reads_is_framed(server: Serve) -> None:
    body = b"x" * 200_000  # larger than one read, so it arrives in pieces
    port = await server(lambda _: answer(200, body))

    result = await run_load("127.0.0.1", port, REQUEST, requests=3, clients=1)

    assert result.statuses == {200: 3}
    assert result.broken == 0


async def test_a_server_that_closes_after_answering_is_connected_to_again(server: Serve) -> None:
    port = await server(lambda _: answer(200, extra="connection: close\r\n"))

    result = await run_load("127.0.0.1", port, REQUEST, requests=5, clients=2)

    assert result.statuses == {200: 5}
    assert result.broken == 0


async def test_a_hang_up_mid_request_fails_that_request_only(server: Serve) -> None:
    port = await server(lambda n: b"" if n == 2 else answer())

    result = await run_load("127.0.0.1", port, REQUEST, requests=6, clients=1)

    assert result.requests == 6
    assert result.broken == 1
    assert result.statuses == {200: 5}


async def test_an_unframeable_answer_fails_and_its_connection_is_replaced(server: Serve) -> None:
    chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
    port = await server(lambda n: chunked if n == 1 else answer())

    result = await run_load("127.0.0.1", port, REQUEST, requests=4, clients=1)

    assert result.broken == 1
    assert result.statuses == {200: 3}


async def test_a_dead_server_fails_every_request_without_waiting(unused_tcp_port: int) -> None:
    result = await run_load("127.0.0.1", unused_tcp_port, REQUEST, requests=10, clients=3)

    assert result.requests == 10
    assert result.broken == 10
    assert result.seconds < 5


async def test_a_request_past_the_timeout_is_given_up(
    server: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http_load, "TIMEOUT_S", 0.3)
    monkeypatch.setattr(http_load, "WATCH_S", 0.05)
    # The first answer is a head promising more body than ever comes.
    port = await server(lambda n: answer(200, b"{}")[:-1] if n == 1 else answer())

    result = await run_load("127.0.0.1", port, REQUEST, requests=3, clients=1)

    assert result.broken == 1
    assert result.statuses == {200: 2}
    assert max(result.latencies) >= 0.3
