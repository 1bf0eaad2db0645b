"""The console in a real browser: log in, run an export, watch it reach 100 %, download the file; a reader finds no
control that changes anything. Fixtures in tests/browser_support.py; `make screenshots` keeps each page's picture."""

from __future__ import annotations

import hashlib

from tests.browser_support import EDIT_CONTROLS, log_in, shot, watch_errors


def test_run_an_export_watch_it_reach_100_percent_and_download_the_file(console_url, browser, tmp_path) -> None:
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors = watch_errors(page)
    page.goto(f"{console_url}/login")
    shot(page, "login")
    page.fill("#username", "admin")
    page.fill("#password", "a wrong password!")
    page.click("button[type=submit]")
    assert "wrong username or password" in page.inner_text('[data-testid="login-error"]')
    log_in(page, console_url, "admin")
    shot(page, "dashboard")
    page.select_option("#export-template", "Standard CSV")
    page.click('[data-testid="export-now"] button[type=submit]')
    page.wait_for_url("**/jobs/*")
    # the job's event stream moves the bar; at the end the page shows the files by itself (tests/..._browser_jobs.py)
    page.wait_for_selector('[data-testid="download"]', timeout=60_000)
    assert page.inner_text('[data-role="percent"]') == "100 %"
    assert page.inner_text('#job-summary [data-role="status"]') == "succeeded"
    shot(page, "job")
    expected = page.inner_text('[data-role="sha256"]').strip()
    with page.expect_download() as download_info:
        page.click('[data-testid="download"]')
    saved = tmp_path / "download.csv"
    download_info.value.save_as(saved)
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == expected
    page.goto(f"{console_url}/jobs/")
    shot(page, "jobs")
    assert errors == [], f"the browser reported errors (CSP violations among them): {errors}"
    context.close()


def test_a_reader_finds_no_control_that_changes_anything(console_url, browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    log_in(page, console_url, "reader")
    assert page.locator('[data-testid="export-now"]').count() == 0
    assert page.locator(EDIT_CONTROLS).count() == 0
    page.goto(f"{console_url}/jobs/")
    assert page.locator(EDIT_CONTROLS).count() == 0
    shot(page, "dashboard-reader")
    page.click('[data-testid="logout"]')
    page.wait_for_url("**/login")
    page.goto(f"{console_url}/jobs/")
    assert "/login" in page.url
    context.close()
