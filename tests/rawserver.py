"""A raw TCP server on 127.0.0.1 that answers HTTP requests with exact bytes.

Why not aiohttp: the tests that use it need answers no HTTP library will send (a lying
Content-Length, a header of 5,000 digits, a hang-up before the status line).  ``answer`` is
called with the connection's number (1-based) and each request's head; it returns the bytes to
send, or None to close the connection without an answer.  A connection stays open for the
next request unless the answer says ``Connection: close``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

Answer = Callable[[int, bytes], "bytes | None"]


class RawServer:
    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[bytes] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str) -> str:
        return self.base + path

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                number = self.connections
            threading.Thread(target=self._serve, args=(connection, number), daemon=True).start()

    def _serve(self, connection: socket.socket, number: int) -> None:
        with connection:
            connection.settimeout(5)
            pending = b""
            try:
                while True:
                    while b"\r\n\r\n" not in pending:
                        data = connection.recv(65536)
                        if not data:
                            return
                        pending += data
                    request, pending = pending.split(b"\r\n\r\n", 1)
                    with self._lock:
                        self.requests.append(request)
                    reply = self.answer(number, request)
                    if reply is None:
                        return
                    connection.sendall(reply)
                    if b"connection: close" in reply.lower():
                        return
            except OSError:
                return

    def close(self) -> None:
        self._listener.close()


def request_path(request: bytes) -> bytes:
    """The path of a request head (``GET /page HTTP/1.1`` -> ``/page``)."""
    parts = request.split(b" ", 2)
    return parts[1] if len(parts) > 1 else b""
