"""A webhook receiver on 127.0.0.1 that checks PM Exports' signature as a real receiver would: HMAC-SHA256 of
"<X-PM-Timestamp>.<raw body>" with the shared secret, compared in constant time, timestamp within 5 minutes.
It answers 401 to a bad signature, 204 to a good one on /hook, and on purpose 500 on /fail, 429 with a
Retry-After on /busy, 410 on /gone and a redirect on /moved. Every request is logged (path, headers, body,
signature verdict)."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

MAX_SKEW_SECONDS = 300


@dataclass(frozen=True)
class Delivered:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_valid: bool

    @property
    def event(self) -> dict[str, Any]:
        value = orjson.loads(self.body)
        assert isinstance(value, dict)
        return value


def signature_valid(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver's check: the signature header matches the HMAC and the timestamp is recent."""
    timestamp = headers.get("x-pm-timestamp", "")
    given = headers.get("x-pm-signature", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_SKEW_SECONDS:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given)


class WebhookReceiver:
    """`start()` binds `port` (0: a free one, kept for the next start); `url(path)` is an address to configure;
    `log` lists what arrived."""

    def __init__(self, secret: str = "whsec-test-signing-secret", retry_after: int = 120, port: int = 0) -> None:
        self.secret = secret
        self.port = port
        self.retry_after = retry_after
        self.log: list[Delivered] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def url(self, path: str = "/hook") -> str:
        assert self.port, "start() the receiver first (or give it a port)"
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                valid = signature_valid(receiver.secret, headers, body)
                with receiver._lock:
                    receiver.log.append(Delivered(self.path, headers, body, valid))
                extra: dict[str, str] = {}
                if self.path == "/fail":
                    status = 500
                elif self.path == "/busy":
                    status, extra = 429, {"Retry-After": str(receiver.retry_after)}
                elif self.path == "/gone":
                    status = 410
                elif self.path == "/moved":
                    status, extra = 302, {"Location": "/hook"}
                else:
                    status = 204 if valid else 401
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="test-webhook", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
