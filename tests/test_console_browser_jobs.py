"""The jobs pages in a real browser (issue 12): a job page that sees its job end drops Cancel and shows the files
without a click, its badge in the lists' colour; the French navbar holds on one line at 1366 px and keeps the brand
on a phone; the report downloads."""

from __future__ import annotations

from tests.browser_support import log_in, shot, watch_errors


def test_a_job_page_shows_the_files_when_its_job_ends(console_url, browser) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    errors = watch_errors(page)
    log_in(page, console_url, "manager")
    page.select_option("#export-template", "Standard CSV")
    page.click('[data-testid="export-now"] button[type=submit]')
    page.wait_for_url("**/jobs/*")
    job_id = page.get_attribute("#job-summary", "data-job-id")
    followed = page.locator("[data-job-events]").count() == 1  # the page opened while the job was queued/running
    if followed:
        assert page.locator('[data-testid="cancel"]').count() == 1
    page.wait_for_selector('[data-testid="download"]', timeout=60_000)  # no click: the page shows them itself
    assert page.locator('[data-testid="cancel"]').count() == 0
    assert page.locator('[data-role="show-files"]').count() == 0
    badge = page.locator('#job-summary [data-role="status"]')
    assert badge.get_attribute("data-status") == "succeeded" and "badge-success" in (badge.get_attribute("class") or "")
    if followed:
        assert page.evaluate(f"sessionStorage.getItem('pmx-ended-{job_id}')") == "1"
    shot(page, "job-ended")
    report = context.request.get(f"{console_url}/jobs/{job_id}/report.csv")  # with the page's session cookie
    assert report.ok and report.text().lstrip("\ufeff").startswith("product_id,sku,ean,outcome,rule,message")
    page.goto(f"{console_url}/jobs/")
    listed = page.locator(f'tr[data-job-id="{job_id}"] [data-role="status"]')
    assert "badge-success" in (listed.get_attribute("class") or "")
    assert errors == [], f"the browser reported errors: {errors}"
    context.close()


def test_the_french_navbar_holds_on_one_line_and_the_brand_shows_on_a_phone(console_url, browser) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    errors = watch_errors(page)
    log_in(page, console_url, "admin")
    with page.expect_navigation():  # its load event: the style sheets apply before anything is measured
        page.click('[data-testid="language"] button[lang="fr"]')
    page.wait_for_selector('html[lang="fr"]')
    assert "administrateur" in page.inner_text('[data-testid="whoami"]')
    nav = page.locator(".console-navbar").bounding_box()
    logout = page.locator('[data-testid="logout"]').bounding_box()
    assert nav is not None and logout is not None
    assert nav["height"] < 70, f"the navbar wraps: {nav['height']} px high"
    assert logout["height"] < 40, "the log-out button wraps"
    shot(page, "navbar-fr-1366")
    for path in ("/templates/", "/schedules/", "/notifications/", "/jobs/"):
        page.goto(f"{console_url}{path}")
        headings = [t.strip() for t in page.locator("h1, h2.h4").all_inner_texts()]
        assert len(headings) == len(set(headings)), f"{path}: the same heading twice: {headings}"
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.locator(".navbar-brand").is_visible()
    shot(page, "navbar-phone")
    assert errors == [], f"the browser reported errors: {errors}"
    context.close()
