"""Fixtures of the console's browser tests: `pm-exports admin` and a worker as real processes on the test's database
and Redis, Debian's Chromium driven by Playwright, logging in, and screenshots for `make screenshots`.

Without the `playwright` package or /usr/bin/chromium the browser tests are skipped with a message (in CI they fail).
Never `playwright install`: the browser is the system's. tests/conftest.py loads this module as a plugin, so any
test may ask for the `console_url` and `browser` fixtures."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.services.users import create_user
from engine.settings import Settings
from tests.console_support import PASSWORD
from tests.job_support import Workers
from tests.small_catalog import build_small_catalog

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = os.environ.get("PM_EXPORTS_SCREENSHOTS", "")  # a folder: keep a screenshot of each page there


def need_browser() -> Any:
    missing = []
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing.append("the playwright package (pip install -e '.[dev]')")
        sync_playwright = None
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install -y chromium)")
    if missing:
        reason = f"browser tests need {' and '.join(missing)}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return sync_playwright


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(address: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{address}/login", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture
def console_url(sqlite_db: Settings, redis_url: str) -> Iterator[str]:
    """`pm-exports admin` and one worker as real processes on the test's database and Redis."""
    settings = sqlite_db.with_(redis_url=redis_url)
    build_small_catalog()
    for role in ("reader", "manager", "admin"):
        create_user(role, role, PASSWORD)
    address = f"127.0.0.1:{free_port()}"
    workers = Workers(settings)
    env = {
        **workers.env,
        "PM_EXPORTS_ADMIN_ADDRESS": address,
        "PM_EXPORTS_LOG_FORMAT": "json",
        "PM_EXPORTS_ADMIN_LOCALE": "en",
    }
    console = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "admin"],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers.start()
    url = f"http://{address}"
    try:
        deadline = time.monotonic() + 30
        while not _answers(address):
            assert console.poll() is None, f"the console exited with code {console.returncode}"
            assert time.monotonic() < deadline, "the console did not answer within 30 s"
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(console.pid, signal.SIGTERM)
        console.wait(timeout=10)
        workers.stop_all()


@pytest.fixture
def browser() -> Iterator[Any]:
    sync_playwright = need_browser()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def shot(page: Any, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def log_in(page: Any, url: str, username: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector('[data-testid="whoami"]')


def watch_errors(page: Any) -> list[str]:
    """The errors the browser reports on `page` from now on: console errors (CSP violations among them) and the URL
    of every response with a 4xx or 5xx status. A test ends asserting the list is empty."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("response", lambda response: errors.append(response.url) if response.status >= 400 else None)
    return errors


EDIT_CONTROLS = "form[method=post]:not([data-safe]) button"  # every control that changes something (not log out)
