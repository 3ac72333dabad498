"""A webhook receiver the tests run: a real HTTP server in a thread, on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    """One request as the receiver read it; header names in lower case."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Reply:
    """What the receiver answers: a status, headers, after a pause."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


class Receiver:
    """Records every request and answers each path from its script, then with 200."""

    def __init__(self, host: str) -> None:
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._scripts: dict[str, list[Reply]] = {}
        self.server = ThreadingHTTPServer((host, 0), _handler(self))
        self.server.daemon_threads = True
        self.host = host
        self.port = int(self.server.server_address[1])

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def script(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to `path` with `replies`, in order."""
        with self._lock:
            self._scripts[path] = list(replies)

    def received(self, path: str) -> list[Received]:
        with self._lock:
            return [request for request in self._received if request.path == path]

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> Reply:
        with self._lock:
            self._received.append(Received(path, headers, body))
            script = self._scripts.get(path)
            return script.pop(0) if script else Reply()


@contextmanager
def running_receiver(host: str) -> Iterator[Receiver]:
    """A receiver serving on `host` in a background thread for the duration of the block."""
    receiver = Receiver(host)
    # A short poll interval makes shutdown quick: it waits for one poll.
    thread = threading.Thread(target=receiver.server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {name.lower(): value for name, value in self.headers.items()}
            reply = receiver.answer(self.path, headers, body)
            time.sleep(reply.delay_s)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Keep the test output quiet."""

    return Handler
