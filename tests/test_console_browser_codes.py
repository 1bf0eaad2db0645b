"""Error pages in a real browser: a logged-in user who meets a 404 or a 403 stays in the console's frame (menu,
user, language switch), the page loads its scripts and styles under the CSP without a console error, and the menu
still works from there."""

from __future__ import annotations

from tests.browser_support import log_in, shot


def test_an_error_page_keeps_the_frame_and_its_menu_works(console_url, browser) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    failed: list[str] = []
    page.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)
    log_in(page, console_url, "reader")
    answer = page.goto(f"{console_url}/schedules/nope")
    assert answer is not None and answer.status == 404
    assert page.locator('[data-testid="error-page"][data-status="404"]').is_visible()
    assert page.locator('[data-testid="whoami"]').is_visible() and page.locator(".console-navbar").is_visible()
    shot(page, "error-in-frame")
    answer = page.goto(f"{console_url}/users/")
    assert answer is not None and answer.status == 403
    assert page.locator('[data-testid="error-page"][data-status="403"]').is_visible()
    assert page.locator('.console-navbar a[href="/users/"]').count() == 0  # a reader's menu: no admin page
    with page.expect_navigation():
        page.click('.console-navbar a[href="/schedules/"]')
    assert page.url.endswith("/schedules/")
    # the two error pages themselves are the only 4xx answers; the browser reported no error of its own
    assert failed == [f"{console_url}/schedules/nope", f"{console_url}/users/"], failed
    assert [e for e in errors if "404" not in e and "403" not in e] == [], errors
    context.close()
