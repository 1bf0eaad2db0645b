"""The trial's layout defects in a real browser at 1366 px (issue 12): a template's save refused for a delivery to an
unknown integration keeps the header inputs' width; the preview's cells wrap on words; the audit log, with a whole
template change in it, fits the window (the full change list behind a toggle). Fixtures in tests/browser_support.py."""

from __future__ import annotations

from tests.browser_support import log_in, shot, watch_errors

WIDTH = 1366


def test_editor_refusal_preview_and_audit_fit_the_window(console_url, browser) -> None:
    context = browser.new_context(viewport={"width": WIDTH, "height": 900})
    page = context.new_page()
    errors = watch_errors(page)
    log_in(page, console_url, "admin")
    page.goto(f"{console_url}/templates/copy/Standard CSV")
    page.fill("#new_name", "Mon flux")
    page.click('[data-testid="copy-form"] button[type=submit]')
    page.wait_for_url("**/templates/edit/Mon%20flux")
    header = page.locator('tr[data-column="5"] [data-role="header"]')
    width_before = header.bounding_box()["width"]
    assert width_before >= 200  # 16rem at least: a header such as "Google Shopping / (...)" is readable
    header.fill("Titre du produit")
    page.fill("#section-deliveries", '[{"integration": "integ-qui-nexiste-pas", "path": "x/"}]')
    page.wait_for_timeout(100)  # mapping.js listens once the page loaded
    with page.expect_navigation():
        page.click('[data-testid="save"]')
    assert "no integration named" in page.inner_text('[data-error-for="deliveries"]')
    header = page.locator('tr[data-column="5"] [data-role="header"]')
    assert header.input_value() == "Titre du produit"
    assert abs(header.bounding_box()["width"] - width_before) < 2  # no shrinking after an error
    shot(page, "editui-refused-delivery")

    page.fill("#section-deliveries", "")
    with page.expect_navigation():
        page.click('[data-testid="preview"]')
    assert page.url.endswith("#preview")
    cell = page.locator('[data-testid="preview-rows"] tbody td').first
    assert cell.is_visible()
    words = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="preview-rows"] tbody td')].every(td => {
             const range = document.createRange(); range.selectNodeContents(td);
             const longest = Math.max(0, ...td.textContent.split(/\\s+/).map(w => w.length));
             return longest > 30 || td.getBoundingClientRect().width >= Math.min(longest, 12) * 5; })"""
    )
    assert words  # no cell narrower than its words (no "TENT MOD ÈLE" letter breaks)
    shot(page, "editui-preview")
    with page.expect_navigation():
        page.click('[data-testid="save"]')

    page.goto(f"{console_url}/audit/")
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    details = page.locator('[data-testid="audit-details"]').first
    assert not details.locator("table").is_visible()
    details.locator("summary").click()
    assert details.locator("table").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    shot(page, "editui-audit")
    page.select_option("#filter-user", "console:admin")
    with page.expect_navigation():
        page.click('[data-testid="audit-filters"] button[type=submit]')
    actions = page.eval_on_selector_all("tr[data-audit-id]", "rows => rows.map(r => r.dataset.action)")
    assert "login" in actions and "update" in actions  # one identity: the login and the changes
    assert errors == [], errors
    context.close()
