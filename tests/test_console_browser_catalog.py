"""The Catalogue and Queues & workers pages in a real browser, as a reader: search a product, open it, see why a
template excludes it; the queues page shows the running worker. Fixtures in tests/browser_support.py."""

from __future__ import annotations

from tests.browser_support import EDIT_CONTROLS, log_in, shot, watch_errors


def test_search_a_product_open_it_and_see_why_a_template_excludes_it(console_url, browser) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors = watch_errors(page)
    log_in(page, console_url, "reader")
    page.click("nav >> text=Catalogue")
    page.wait_for_selector('[data-testid="products"]')
    page.wait_for_load_state("load")  # catalog.js listens from DOMContentLoaded on: choose after that
    shot(page, "catalog")
    page.select_option('[data-testid="browse-status"]', "draft")  # filters at once (admin/static/catalog.js)
    page.wait_for_url("**/catalog/?*status=draft*")
    assert [row.get_attribute("data-sku") for row in page.locator("[data-sku]").all()] == ["DRAFT-1"]
    page.select_option("#search-field", "sku")
    page.fill('[data-testid="search-q"]', "EMPTY")
    page.click('[data-testid="search-submit"]')
    page.wait_for_url("**/catalog/?*q=EMPTY*")
    rows = page.locator('[data-testid="products"] tbody tr')
    assert rows.count() == 1 and rows.first.get_attribute("data-sku") == "EMPTY-1"
    rows.first.locator('[data-role="open-product"]').click()
    page.wait_for_selector('[data-testid="templates"] table')
    assert page.inner_text('[data-testid="product-title"]') == "Produit sans rien"
    verdict = page.locator('[data-template="Price & Stock"]')
    assert verdict.get_attribute("data-verdict") == "excluded"
    assert verdict.get_attribute("data-rule") == "positive:price"
    assert verdict.locator('[data-role="message"]').inner_text() == "price must be greater than 0"
    assert page.locator('[data-template="Standard CSV"]').get_attribute("data-verdict") == "included"
    assert page.locator('[data-criterion="price"]').get_attribute("data-met") == "no"
    shot(page, "catalog-product")
    assert page.locator(EDIT_CONTROLS).count() == 0

    page.click("nav >> text=Queues & workers")
    page.wait_for_selector('[data-testid="queues"]')
    page.wait_for_selector('[data-testid="workers"] tr[data-worker]')  # the fixture's worker, registered with rq
    assert page.locator('[data-queue="exports"]').count() == 1
    shot(page, "queues")
    assert page.locator(EDIT_CONTROLS).count() == 0
    assert errors == [], f"the browser reported errors (CSP violations among them): {errors}"
    context.close()
