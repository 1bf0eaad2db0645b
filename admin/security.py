"""The console's protections around every request: the session key, security headers, a database connection per
request, and the per-address limit on failed logins (the per-account lockout is engine.services.users')."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque

from flask import Flask, Response, request

from engine.secrets import read_or_create_key_file
from engine.settings import Settings

SESSION_KEY_FILE = "admin-session.key"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def session_key(settings: Settings) -> bytes:
    """PM_EXPORTS_ADMIN_SESSION_KEY, else the var folder's key file (made with mode 0600 on first use)."""
    if settings.admin_session_key:
        return settings.admin_session_key.encode()
    return read_or_create_key_file(settings.var_dir / SESSION_KEY_FILE)


def init_app(app: Flask) -> None:
    from engine.db import current_database

    @app.before_request
    def _connect() -> None:
        current_database().connect(reuse_if_open=True)

    @app.teardown_request
    def _close(_exc: BaseException | None) -> None:
        db = current_database()
        if not db.is_closed():
            db.close()

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"  # a refused form goes back to its page (errors.py)
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if response.mimetype == "text/html":
            response.headers["Cache-Control"] = "no-store"
        if app.config["SESSION_COOKIE_SECURE"] and request.is_secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        return response


class FailedLoginLimiter:
    """At most `limit` failed logins per client address in `window` seconds, across all usernames (the account
    lockout cannot stop one address trying many names). Keeps at most `max_addresses` addresses in memory."""

    def __init__(self, limit: int = 20, window: float = 600.0, max_addresses: int = 10_000) -> None:
        self.limit, self.window, self.max_addresses = limit, window, max_addresses
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        times = self._failures.get(address) or deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(self, address: str) -> int:
        """Seconds before `address` may try again (0: it may now)."""
        now = time.monotonic()
        with self._lock:
            times = self._recent(address, now)
            if len(times) < self.limit:
                return 0
            return max(1, int(times[0] + self.window - now))

    def failed(self, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            times = self._recent(address, now)
            times.append(now)
            self._failures[address] = times
            self._failures.move_to_end(address)
            while len(self._failures) > self.max_addresses:
                self._failures.popitem(last=False)
