"""Schedules in a real browser: a manager creates "every Monday 06:00 Europe/Paris" with the live preview of its next
5 runs (a bad cron shows the service's error there), pauses and resumes it, runs it now and sees its job succeed;
notifications and the dashboard's next runs; a reader finds no control that changes anything."""

from __future__ import annotations

from tests.browser_support import EDIT_CONTROLS, log_in, shot, watch_errors


def test_a_manager_creates_pauses_resumes_and_runs_a_schedule(console_url, browser) -> None:
    from playwright.sync_api import expect  # here: the module loads (and skips) without playwright

    context = browser.new_context(viewport={"width": 1400, "height": 900}, timezone_id="America/New_York")
    page = context.new_page()
    errors = watch_errors(page)
    log_in(page, console_url, "manager")
    page.goto(f"{console_url}/schedules/")
    with page.expect_navigation():  # waits for the new page's load event: schedules.js is listening by then
        page.click('[data-testid="new-schedule"]')
    page.fill("#f-name", "Monday feed")
    page.select_option("#f-template", "Standard CSV")
    page.select_option("#f-kind", "cron")
    assert page.locator("#f-cron").is_visible() and not page.locator("#f-time").is_visible()
    page.fill("#f-cron", "0 25 * * *")
    error = page.locator('[data-role="preview-error"]')
    error.wait_for(state="visible")
    assert "hour must be 0-23" in error.inner_text()
    page.select_option("#f-kind", "weekly")
    page.fill("#f-time", "06:00")
    for day in ("tue", "wed", "thu", "fri", "sat", "sun"):
        page.uncheck(f"#f-day-{day}")
    page.check("#f-day-mon")
    page.select_option("#f-timezone", "Europe/Paris")
    words = page.locator('[data-role="preview-words"]')
    expect(words).to_have_text("every Monday at 06:00, Europe/Paris")  # the CSP forbids wait_for_function's eval
    assert error.is_hidden() and words.inner_text() == "every Monday at 06:00, Europe/Paris"
    runs = page.locator('[data-testid="preview-runs"] [data-role="fire-time"]')
    assert runs.count() == 5
    for n in range(5):  # each on a Monday at 06:00, Paris time (+01:00 in winter, +02:00 in summer)
        iso = runs.nth(n).get_attribute("data-iso")
        assert iso[11:19] == "06:00:00" and iso[19:] in ("+01:00", "+02:00"), iso
        assert "Monday" in runs.nth(n).inner_text()
    shot(page, "schedule-form")
    page.click('[data-testid="save"]')
    page.wait_for_url("**/schedules/Monday%20feed")
    assert "every Monday at 06:00, Europe/Paris" in page.inner_text('[data-role="words"]')
    assert page.locator('[data-testid="next-runs"] [data-role="fire-time"]').count() == 5
    assert "your time" in page.inner_text('[data-role="next-local"]')
    shot(page, "schedule")

    page.click('[data-testid="pause"]')
    page.wait_for_selector('[data-state="paused"]')
    assert "paused by manager" in page.inner_text('[data-role="paused-reason"]')
    page.click('[data-testid="resume"]')
    page.wait_for_selector('[data-state="active"]')

    page.click('[data-testid="run-now"]')
    page.wait_for_url("**/jobs/*")
    # live from the job's event stream, or already in the page when the job ended before it loaded
    expect(page.locator('#job-summary [data-role="status"]')).to_have_text("succeeded", timeout=60_000)
    assert "Monday feed" in page.inner_text('p[data-role="schedule"]')
    page.goto(f"{console_url}/schedules/Monday%20feed")
    history = page.locator('[data-testid="run-history"] tr[data-trigger="manual"]')
    assert history.count() == 1 and "#" in history.inner_text()

    page.goto(f"{console_url}/schedules/")
    row = page.locator('tr[data-schedule="Monday feed"]')
    assert "every Monday at 06:00, Europe/Paris" in row.inner_text()
    shot(page, "schedules")
    page.goto(f"{console_url}/")
    assert page.locator('[data-testid="next-scheduled-runs"] [data-role="next-run"]').count() >= 1
    page.goto(f"{console_url}/notifications/")
    shot(page, "notifications")
    assert errors == [], f"the browser reported errors (CSP violations among them): {errors}"
    context.close()

    reader = browser.new_context().new_page()
    log_in(reader, console_url, "reader")
    for path in ("/schedules/", "/schedules/Monday%20feed", "/notifications/"):
        reader.goto(f"{console_url}{path}")
        assert reader.locator(EDIT_CONTROLS).count() == 0, path
    reader.context.close()
