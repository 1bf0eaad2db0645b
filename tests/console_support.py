"""Helpers of the console tests: an app on the test's database and Redis, users of each role, CSRF-aware login; the
`console` (settings, app) and `client` fixtures (tests/conftest.py loads this module as a plugin)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from admin import create_app
from engine.services.users import create_user
from engine.settings import Settings

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def console_app(settings: Settings, **changes: Any) -> Flask:
    """The console on the test's (already open) database: plain-HTTP cookies, a fixed session key, English labels
    (tests/test_console_i18n.py checks the French ones)."""
    values = {"admin_secure_cookies": False, "admin_session_key": "test-session-key", "admin_locale": "en", **changes}
    app = create_app(settings.with_(**values), open_db=False)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def console(sqlite_db: Settings, redis_url: str) -> Iterator[tuple[Settings, Flask]]:
    settings = sqlite_db.with_(redis_url=redis_url)
    make_users()
    yield settings, console_app(settings)


@pytest.fixture
def client(console: tuple[Settings, Flask]) -> FlaskClient:
    return console[1].test_client()


def make_users() -> None:
    for role in ("reader", "manager", "admin"):
        create_user(role, role, PASSWORD)


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path)
    match = CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token in {path}"
    return match.group(1)


def log_in(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    token = csrf_token(client)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})
