"""A test HTTP server for the image tests: serves generated images and misbehaving answers on 127.0.0.1.

It is not a fake of any real service, only a CDN that can misbehave on demand: 404s, HTML pages, slow or
trickled answers, redirect chains, chunked bodies, ETag revalidation, errors before success. It logs every
request once answered (method, path, headers, client port, status, body) and counts how many it serves at
once. POST is answered like GET (the outbound HTTP client tests send bodies).
HTTP/1.1 with keep-alive.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Route:
    body: bytes = b""
    content_type: str | None = "image/jpeg"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line
    chunked: bool = False  # Transfer-Encoding: chunked, no Content-Length
    trickle: float = 0.0  # seconds between 100-byte pieces of the body
    etag: str | None = None  # answers 304 to a matching If-None-Match
    fail_first: int = 0  # answer 503 to the first N requests
    close: bool = False  # Connection: close


@dataclass(frozen=True)
class Logged:
    method: str
    path: str
    headers: dict[str, str]
    client_port: int
    status: int
    body: bytes = b""


class ImageServer:
    """Start with `start()` (port 0), register answers with `add()`/`redirect()`, read `log`; `stop()` at the end."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.log: list[Logged] = []
        self.max_concurrent = 0
        self._active = 0
        self._hits: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # setup

    def add(self, path: str, body: bytes = b"", content_type: str | None = "image/jpeg", **kwargs: Any) -> str:
        self.routes[path] = Route(body=body, content_type=content_type, **kwargs)
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        self.routes[path] = Route(status=status, content_type="text/html", headers={"Location": location})
        return self.url(path)

    def url(self, path: str) -> str:
        assert self._httpd is not None, "start() the server first"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def count(self, path: str, status: int | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.log if r.path == path and (status is None or r.status == status))

    # lifecycle

    def start(self) -> ImageServer:
        server = self

        class Handler(_Handler):
            image_server = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="image-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # slow handlers give up at once
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ImageServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # used by the handler

    def _enter(self) -> None:
        with self._lock:
            self._active += 1
            self.max_concurrent = max(self.max_concurrent, self._active)

    def _leave(self) -> None:
        with self._lock:
            self._active -= 1

    def _hit(self, path: str) -> int:
        """Count a request to `path` as it arrives; returns how many there have been (this one included)."""
        with self._lock:
            self._hits[path] = self._hits.get(path, 0) + 1
            return self._hits[path]

    def _record(self, entry: Logged) -> None:
        """Log a request once answered (status 0: no answer, the client gave up or the server stopped)."""
        with self._lock:
            self.log.append(entry)

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the server stops meanwhile; False when it stopped."""
        return not self._stopping.wait(seconds)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    image_server: ImageServer
    status_sent = 0

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._handle(b"")

    def do_POST(self) -> None:
        self._handle(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def _handle(self, body: bytes) -> None:
        server = self.image_server
        server._enter()
        try:
            self._answer(server, body)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            self.close_connection = True  # the client gave up (timeout, size limit): expected in these tests
        finally:
            server._leave()

    def _answer(self, server: ImageServer, body: bytes) -> None:
        path = self.path.split("?")[0]
        hit = server._hit(path)
        headers = dict(self.headers.items())
        self.status_sent = 0
        try:
            self._respond(server, server.routes.get(path), hit)
        finally:
            server._record(Logged(self.command, self.path, headers, self.client_address[1], self.status_sent, body))

    def send_response(self, code: int, message: str | None = None) -> None:
        self.status_sent = code
        super().send_response(code, message)

    def _respond(self, server: ImageServer, route: Route | None, hit: int) -> None:
        if route is None:
            self._send_simple(404, b"<h1>Not found</h1>", "text/html")
            return
        if route.delay and not server._sleep(route.delay):
            return
        if hit <= route.fail_first:
            self._send_simple(503, b"busy", "text/plain", {"Retry-After": "0"})
            return
        if route.etag and self.headers.get("If-None-Match") == route.etag:
            self.send_response(304)
            self.send_header("ETag", route.etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(route.status)
        if route.content_type is not None:
            self.send_header("Content-Type", route.content_type)
        for name, value in route.headers.items():
            self.send_header(name, value)
        if route.etag:
            self.send_header("ETag", route.etag)
        if route.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        if route.chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in _pieces(route.body, 8192):
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        if not route.trickle:
            self.wfile.write(route.body)
            return
        for piece in _pieces(route.body, 100):
            self.wfile.write(piece)
            self.wfile.flush()
            if not server._sleep(route.trickle):
                return

    def _send_simple(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def _pieces(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


__all__ = ["ImageServer", "Logged", "Route"]
