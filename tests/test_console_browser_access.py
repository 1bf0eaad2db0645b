"""The console's integrations and API keys in a real browser: create an SFTP integration with a password, find it
masked after a reload (and absent from the page source), test the connection against a real SFTP server, trust
its host key; create an API key and see it once. Fixtures in tests/browser_support.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser_support import EDIT_CONTROLS, log_in, shot, watch_errors
from tests.servers.sftp import SftpServer


def test_an_sftp_integration_keeps_its_secret_masked_tests_and_trusts_the_host_key(
    console_url: str, browser: Any, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors = watch_errors(page)
    with SftpServer(tmp_path / "root") as server:
        log_in(page, console_url, "admin")
        page.click('a[href="/integrations/"]')
        shot(page, "integrations-empty")
        page.click('[data-testid="new-integration"]')
        shot(page, "integration-kinds")
        page.click('[data-kind="sftp"]')
        page.fill("#f-name", "Supplier SFTP")
        page.fill("#f-host", "127.0.0.1")
        page.fill("#f-port", str(server.port))
        page.fill("#f-username", server.user)
        page.fill("#f-password", server.password)
        shot(page, "integration-new")
        page.click('[data-testid="save-integration"]')
        page.wait_for_selector('[data-testid="integration-settings"]')
        assert page.get_attribute('[data-field="password"] td', "data-secret") == "set"

        page.click('[data-testid="edit-integration"]')
        page.reload()
        password = page.locator("#f-password")
        assert password.is_disabled() and password.input_value() == ""
        assert password.get_attribute("placeholder") == "•••••• (kept)"
        assert server.password not in page.content()
        shot(page, "integration-edit")
        page.click('[data-testid="replace-password"]')
        assert password.is_enabled()  # access.js: "Replace" opens the field; left empty it would keep the secret
        page.go_back()

        page.click('[data-testid="test-connection"]')
        probe = page.locator('[data-testid="probe"]')
        probe.wait_for()
        fingerprint = "ssh-ed25519 " + server.host_key.get_fingerprint("sha256")
        assert probe.get_attribute("data-ok") == "yes" and "Connected in" in probe.inner_text()
        assert page.inner_text('[data-detail="host_key"]') == fingerprint
        shot(page, "integration-tested")
        page.click('[data-testid="trust-key"]')
        page.wait_for_selector("text=Trusted: host_key.")
        assert page.inner_text('[data-field="host_key"] td') == fingerprint
        page.click('[data-testid="test-connection"]')
        assert page.inner_text('[data-detail="trusted"]') == "yes"
        assert server.password not in page.content()

        page.goto(f"{console_url}/integrations/")
        assert page.get_attribute('[data-integration="Supplier SFTP"] [data-test-ok]', "data-test-ok") == "yes"
        shot(page, "integrations")
    assert errors == [], f"the browser reported errors (CSP violations among them): {errors}"

    reader = context.new_page()
    context.clear_cookies()
    log_in(reader, console_url, "reader")
    reader.goto(f"{console_url}/integrations/")
    reader.click("text=Supplier SFTP")
    assert reader.locator(EDIT_CONTROLS).count() == 0
    assert reader.locator('a[href="/api-keys/"]').count() == 0
    context.close()


def test_an_api_key_is_shown_once(console_url: str, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors = watch_errors(page)
    log_in(page, console_url, "admin")
    page.click('a[href="/api-keys/"]')
    page.fill("#key-name", "Odoo production")
    page.select_option("#key-role", "manager")
    page.click('[data-testid="create-key"] button[type=submit]')
    key = page.inner_text('[data-role="new-key"]').strip()
    assert key.startswith("pmx_")
    shot(page, "api-key-created")
    page.goto(f"{console_url}/api-keys/")
    assert key not in page.content() and "Odoo production" in page.content()
    assert page.inner_text("[data-key-prefix] code").startswith(f"pmx_{key.split('_')[1]}_")
    shot(page, "api-keys")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click('[data-testid="revoke"]')
    page.wait_for_selector('[data-revoked="yes"]')
    page.click('a[href="/users/"]')
    shot(page, "users")
    page.click('a[href="/audit/"]')
    assert page.locator('[data-kind="api_key"][data-action="revoke"]').count() == 1
    shot(page, "audit")
    assert errors == [], f"the browser reported errors (CSP violations among them): {errors}"
    context.close()
