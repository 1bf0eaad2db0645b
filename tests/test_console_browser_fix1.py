"""Trial 2's defects in a real browser: reloading the page that showed a new API key (a POST's answer) creates no
second key and says so; a huge paste into the editor's Description stops at the service's limit, so the save keeps
every other edit (no 413 page). Fixtures in tests/browser_support.py."""

from __future__ import annotations

from typing import Any

from engine.services.templates import DESCRIPTION_LIMIT
from tests.browser_support import log_in, shot, watch_errors


def _open(browser, console_url: str, username: str, path: str) -> tuple[Any, list[str]]:
    """A page at 1366 px logged in as `username` and showing `path`, with the errors the browser reports."""
    page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    errors = watch_errors(page)
    log_in(page, console_url, username)
    page.goto(f"{console_url}{path}")
    return page, errors


def test_reloading_a_new_key_creates_no_second_key(console_url, browser) -> None:
    page, errors = _open(browser, console_url, "admin", "/api-keys/")
    page.fill("#key-name", "cle-reload")
    with page.expect_navigation():
        page.click('[data-testid="create-key"] button[type=submit]')
    assert page.locator('[data-role="new-key"]').inner_text().startswith("pmx_")
    page.reload()  # the browser sends the same form again
    assert page.url.endswith("/api-keys/") and page.locator('[data-role="new-key"]').count() == 0
    assert "already created and shown once" in page.inner_text("body")
    assert page.locator("td", has_text="cle-reload").count() == 1
    shot(page, "api-key-reloaded")
    assert errors == []


def test_a_huge_paste_into_the_description_stops_at_the_limit_and_keeps_the_edits(console_url, browser) -> None:
    page, errors = _open(browser, console_url, "manager", "/templates/copy/Standard CSV")
    page.fill("#new_name", "Coller")
    page.click('[data-testid="copy-form"] button[type=submit]')
    page.wait_for_url("**/templates/edit/Coller")
    page.locator('tr[data-column="1"] [data-role="header"]').fill("Titre modifié 2")
    page.fill("#description", "")
    page.focus("#description")
    page.keyboard.insert_text("x" * 200_000)  # as a paste: the browser keeps what maxlength allows
    assert len(page.input_value("#description")) == DESCRIPTION_LIMIT
    with page.expect_navigation():
        page.click('[data-testid="save"]')
    assert page.locator(".alert-success").count() == 1
    assert page.locator('tr[data-column="1"] [data-role="header"]').input_value() == "Titre modifié 2"
    assert page.input_value("#description") == "x" * DESCRIPTION_LIMIT
    with page.expect_navigation():
        page.locator('tr[data-column="1"] [data-testid="add-step"]').click()
    page.locator('tr[data-column="1"] select[data-role="transform"]').select_option("truncate")
    assert page.locator('tr[data-column="1"] [data-arg="ellipsis"]').get_attribute("maxlength")  # set by mapping.js
    assert errors == []
