"""A loopback peer that speaks just enough of PostgreSQL's protocol to say it is starting up."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SSL_REQUEST_CODE = 80877103


def _error_response(sqlstate: str, message: str) -> bytes:
    fields = b"".join(
        code + value.encode() + b"\0"
        for code, value in ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", sqlstate), (b"M", message))
    )
    body = fields + b"\0"
    return b"E" + struct.pack("!I", len(body) + 4) + body


def _read_packet(connection: socket.socket) -> bytes:
    header = connection.recv(4, socket.MSG_WAITALL)
    if len(header) < 4:
        return b""
    (length,) = struct.unpack("!I", header)
    return connection.recv(length - 4, socket.MSG_WAITALL)


def _answer(connection: socket.socket) -> None:
    with connection:
        packet = _read_packet(connection)
        if packet[:4] == struct.pack("!I", SSL_REQUEST_CODE):
            connection.sendall(b"N")
            packet = _read_packet(connection)
        if packet:
            connection.sendall(_error_response("57P03", "the database system is starting up"))


@contextmanager
def starting_postgres() -> Iterator[int]:
    """Listen on a free loopback port; every client is told the server is starting up."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=_answer, args=(connection,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        listener.close()
