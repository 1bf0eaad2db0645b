"""The Templates pages in a real browser, against the console and a worker as real processes: copy "Standard CSV",
change a column in the mapping editor (its header and a transformation), preview, save, run it, watch the progress
bar reach 100 %, download the file and check it against the job page's SHA-256 and the changed header. A reader
finds the editor read-only. Fixtures in tests/browser_support.py; `make screenshots` keeps each page's picture."""

from __future__ import annotations

import csv
import hashlib
import io

from tests.browser_support import EDIT_CONTROLS, log_in, shot, watch_errors


def test_copy_edit_preview_save_run_and_download(console_url, browser, tmp_path) -> None:
    context = browser.new_context(accept_downloads=True, viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    errors = watch_errors(page)
    log_in(page, console_url, "manager")
    page.goto(f"{console_url}/templates/")
    shot(page, "templates")
    page.click('tr[data-template="Standard CSV"] [data-testid="copy"]')
    shot(page, "template-copy")
    page.fill("#new_name", "My CSV")
    page.click('[data-testid="copy-form"] button[type=submit]')
    page.wait_for_url("**/templates/edit/My%20CSV")

    title = page.locator('tr[data-column="5"]')  # ID, SKU, EAN, MPN, Title
    assert title.locator('[data-role="header"]').input_value() == "Title"
    title.locator('[data-role="header"]').fill("Product name")
    with page.expect_navigation():  # a round trip that keeps what was typed; mapping.js listens once it loaded
        title.locator('[data-testid="add-step"]').click()
    title = page.locator('tr[data-column="5"]')
    assert title.locator('[data-role="header"]').input_value() == "Product name"
    title.locator('select[data-role="transform"]').select_option("truncate")
    length = title.locator('[data-arg="length"]')  # shown at once by mapping.js from the engine's vocabulary
    length.fill("12")
    page.click('[data-testid="preview"]')
    page.wait_for_selector('[data-testid="preview-rows"]')
    headers = page.locator('[data-testid="preview-rows"] th').all_inner_texts()
    assert "Product name" in headers and "Title" not in headers
    cells = page.locator('[data-testid="preview-rows"] tbody tr td:nth-child(5)').all_inner_texts()
    assert cells and all(len(cell) <= 12 for cell in cells)
    shot(page, "template-editor-preview")
    page.click('[data-testid="save"]')
    page.wait_for_selector(".alert-success")
    assert "version 2" in page.inner_text(".alert-success")

    page.click('[data-testid="versions"]')
    shot(page, "template-versions")
    page.click('[data-testid="show-diff"]')
    diff = page.inner_text('[data-testid="diff"]')
    assert '-      "header": "Title"' in diff and '+      "header": "Product name"' in diff
    shot(page, "template-diff")

    page.goto(f"{console_url}/templates/edit/My%20CSV")
    page.click('[data-testid="export-now"]')
    page.wait_for_url("**/jobs/*")
    page.wait_for_selector('[data-testid="download"]', timeout=60_000)  # the page shows them when the job ends
    expected = page.inner_text('[data-role="sha256"]').strip()
    with page.expect_download() as download_info:
        page.click('[data-testid="download"]')
    saved = tmp_path / "download.csv"
    download_info.value.save_as(saved)
    content = saved.read_bytes()
    assert hashlib.sha256(content).hexdigest() == expected
    header = next(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert header[4] == "Product name" and "Title" not in header
    assert errors == [], f"the browser reported errors (CSP violations among them): {errors}"
    context.close()


def test_a_reader_sees_templates_without_edit_controls(console_url, browser) -> None:
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    errors = watch_errors(page)
    log_in(page, console_url, "reader")
    page.goto(f"{console_url}/templates/")
    assert page.locator(EDIT_CONTROLS).count() == 0
    page.click('tr[data-template="Standard CSV"] a')
    assert page.locator(EDIT_CONTROLS).count() == 0
    assert page.locator('[data-role="header"]').first.is_disabled()
    page.click('[data-testid="preview-saved"]')
    page.wait_for_selector('[data-testid="preview-rows"]')
    shot(page, "template-editor-reader")
    page.click('[data-testid="versions"]')
    assert page.locator(EDIT_CONTROLS).count() == 0
    assert errors == [], f"the browser reported errors: {errors}"
    context.close()
