"""The console in a real browser: Playwright driving Debian's Chromium against `pm-exports admin` run as a real
process, with a real worker and Redis. `make screenshots` keeps a screenshot of each page in var/screenshots.

Without the `playwright` package or /usr/bin/chromium these tests are skipped with a message (in CI they fail).
Never `playwright install`: the browser is the system's."""

from __future__ import annotations

import hashlib
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


def _need_browser() -> Any:
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


def _free_port() -> int:
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
    for role in ("reader", "admin"):
        create_user(role, role, PASSWORD)
    address = f"127.0.0.1:{_free_port()}"
    workers = Workers(settings)
    env = {**workers.env, "PM_EXPORTS_ADMIN_ADDRESS": address, "PM_EXPORTS_LOG_FORMAT": "json"}
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
    sync_playwright = _need_browser()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def _shot(page: Any, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def _log_in(page: Any, url: str, username: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector('[data-testid="whoami"]')


def test_run_an_export_watch_it_reach_100_percent_and_download_the_file(console_url, browser, tmp_path) -> None:
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("response", lambda response: errors.append(response.url) if response.status >= 400 else None)
    page.goto(f"{console_url}/login")
    _shot(page, "login")
    page.fill("#username", "admin")
    page.fill("#password", "a wrong password!")
    page.click("button[type=submit]")
    assert "wrong username or password" in page.inner_text('[data-testid="login-error"]')
    _log_in(page, console_url, "admin")
    _shot(page, "dashboard")
    page.select_option("#export-template", "Standard CSV")
    page.click('[data-testid="export-now"] button[type=submit]')
    page.wait_for_url("**/jobs/*")
    live = page.locator('[data-final="succeeded"] progress[data-role="bar"][value="100"]')
    live.wait_for(timeout=60_000)  # the bar, fed by the job's event stream, reached 100 % without a reload
    assert page.inner_text('[data-role="percent"]') == "100 %"
    assert page.inner_text('[data-role="status"]') == "succeeded"
    page.click('[data-role="show-files"]')
    page.wait_for_selector('[data-testid="download"]')
    _shot(page, "job")
    expected = page.inner_text('[data-role="sha256"]').strip()
    with page.expect_download() as download_info:
        page.click('[data-testid="download"]')
    saved = tmp_path / "download.csv"
    download_info.value.save_as(saved)
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == expected
    page.goto(f"{console_url}/jobs/")
    _shot(page, "jobs")
    assert errors == [], f"the browser reported errors (CSP violations among them): {errors}"
    context.close()


def test_a_reader_finds_no_control_that_changes_anything(console_url, browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    _log_in(page, console_url, "reader")
    assert page.locator('[data-testid="export-now"]').count() == 0
    assert page.locator("form[method=post] button:not(:has-text('Log out'))").count() == 0
    page.goto(f"{console_url}/jobs/")
    assert page.locator("form[method=post] button:not(:has-text('Log out'))").count() == 0
    _shot(page, "dashboard-reader")
    page.click("text=Log out")
    page.wait_for_url("**/login")
    page.goto(f"{console_url}/jobs/")
    assert "/login" in page.url
    context.close()
