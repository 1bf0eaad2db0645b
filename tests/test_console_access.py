"""The console's integrations, API keys, users and audit log through Flask's test client, and the security checks
that walk every route of the app (so pages added later are covered too): a reader's POST to any state-changing
route is refused and changes nothing; no integration secret appears in any page, header or log line."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from engine.db import current_database
from engine.destinations.base import FieldSpec
from engine.logs import CHATTY_LIBRARIES, quiet_chatty_libraries
from engine.models import AuditEntry, Integration
from engine.services.apikeys import authenticate
from engine.services.audit import list_audit
from engine.services.integrations import get_integration, integration_kinds, kind_fields
from engine.services.users import authenticate_user, get_user
from engine.settings import Settings
from tests.console_support import console_app, csrf_token, log_in, make_users
from tests.servers.sftp import SftpServer

XSS = "<script>alert(1)</script>"
SAFE_POSTS = {"auth.login", "auth.logout", "language", "notifications.read"}  # data-safe forms: anyone may send them
SKIPPED_ENDPOINTS = {"jobs.events"}  # a stream, not a page


@pytest.fixture
def console(sqlite_db: Settings, redis_url: str) -> Iterator[tuple[Settings, Flask]]:
    settings = sqlite_db.with_(redis_url=redis_url, allow_private_networks=True)
    make_users()
    yield settings, console_app(settings)


@pytest.fixture
def client(console: tuple[Settings, Flask]) -> FlaskClient:
    return console[1].test_client()


def as_user(client: FlaskClient, username: str) -> str:
    """Log `client` in as `username`; returns a CSRF token of its session."""
    assert log_in(client, username).status_code == 302
    return csrf_token(client, "/")


def once() -> str:
    """A fresh one-time token, as the forms that show a secret once carry (admin/once.py)."""
    return secrets.token_urlsafe(16)


def sample_value(spec: FieldSpec) -> Any:
    """A valid form value for a setting, whatever its kind."""
    if spec.kind == "int":
        return str(spec.minimum if spec.minimum is not None else spec.default or 1)
    if spec.kind == "bool":
        return "true"
    if spec.kind == "choice":
        return spec.choices[0]
    if spec.kind == "text_list":
        return "ops@example.com\nbuyer@example.com"
    if spec.name == "folder":
        return "/srv/value-of-folder"  # a local folder must be absolute
    return f"value-of-{spec.name}"


def integration_form(kind: str, name: str, token: str, secret_values: dict[str, str]) -> dict[str, Any]:
    form: dict[str, Any] = {"csrf_token": token, "kind": kind, "name": name}
    for spec in kind_fields(kind):
        key = f"{'secrets' if spec.secret else 'settings'}.{spec.name}"
        if spec.secret:
            form[key] = secret_values.setdefault(spec.name, f"s3cr3t-{kind}-{spec.name}-{secrets.token_hex(8)}")
        elif spec.required or spec.kind in ("int", "bool", "text_list"):
            form[key] = sample_value(spec)
    return form


def create_every_kind(client: FlaskClient, token: str) -> dict[str, str]:
    """One integration of each kind, created through the console with known secret values; returns them."""
    known: dict[str, str] = {}
    for kind in integration_kinds():
        values: dict[str, str] = {}
        response = client.post("/integrations/new", data=integration_form(kind, f"{kind} link", token, values))
        assert response.status_code == 302, response.get_data(as_text=True)
        known.update({f"{kind}.{name}": value for name, value in values.items()})
    return known


def table_contents() -> str:
    """A digest of every row of every table: equal digests mean nothing was written."""
    db = current_database()
    digest = hashlib.sha256()
    for table in sorted(db.get_tables()):
        for row in db.execute_sql(f'SELECT * FROM "{table}" ORDER BY 1').fetchall():
            digest.update(repr((table, row)).encode())
    return digest.hexdigest()


def fill(rule: Rule, known: dict[str, list[Any]]) -> list[str]:
    """The URLs of `rule` with its arguments filled from `known` (each value), else 1 or "x"."""
    urls = [""]
    for arg in sorted(rule.arguments):
        converter = type(rule._converters[arg]).__name__
        values = known.get(arg) or ([1] if converter == "IntegerConverter" else ["x"])
        urls = [f"{prefix}&{arg}={value}" for prefix in urls for value in values]
    built = []
    for combination in urls:
        args = dict(part.split("=", 1) for part in combination.split("&") if part)
        built.append(rule.build({k: int(v) if v.isdigit() else v for k, v in args.items()})[1])
    return built


def app_rules(app: Flask, method: str) -> list[Rule]:
    return [
        rule
        for rule in app.url_map.iter_rules()
        if method in (rule.methods or set())
        and not rule.endpoint.endswith("static")
        and rule.endpoint not in SKIPPED_ENDPOINTS
    ]


# -- the generic checks over every route -------------------------------------------------------------------------


def test_a_reader_post_to_every_state_changing_route_is_refused_and_changes_nothing(
    client: FlaskClient, console: tuple[Settings, Flask]
) -> None:
    admin = console[1].test_client()
    create_every_kind(admin, as_user(admin, "admin"))
    known = {
        "integration_id": [i.id for i in Integration.select()],
        "username": ["admin", "reader"],
        "key_id": [1],
        "lang": ["en"],
        "template_name": ["Standard CSV", "x"],
    }
    token = as_user(client, "reader")
    rules = [rule for rule in app_rules(console[1], "POST") if rule.endpoint not in SAFE_POSTS]
    endpoints = {rule.endpoint for rule in rules}
    assert {"integrations.create", "integrations.test", "apikeys.create", "users.role", "jobs.run"} <= endpoints
    before = table_contents()
    form = {"name": "x", "kind": "local", "role": "admin", "template": "Standard CSV", "settings.folder": "/tmp"}
    for rule in rules:
        for url in fill(rule, known):
            refused = client.post(url, data={**form, "csrf_token": token})
            assert refused.status_code == 403, f"{rule.endpoint} {url}: {refused.status_code}"
            without_token = client.post(url, data=form)
            assert without_token.status_code in (400, 403), f"{rule.endpoint} {url}: {without_token.status_code}"
    assert table_contents() == before


def test_no_secret_appears_in_any_page_header_or_log_line(
    client: FlaskClient,
    console: tuple[Settings, Flask],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in CHATTY_LIBRARIES:  # restored after the test
        monkeypatch.setattr(logging.getLogger(name), "level", logging.getLogger(name).level)
    quiet_chatty_libraries()  # as engine.logs sets logging up (botocore logs request headers at DEBUG)
    caplog.set_level(logging.DEBUG)
    token = as_user(client, "admin")
    known = create_every_kind(client, token)
    assert len(known) >= 8  # s3 (3), ftp, ftps, sftp (3), smtp, webhook
    ids = [i.id for i in Integration.select()]
    for integration_id in ids:  # each tested (errors are expected: the servers do not exist) and edited
        client.post(f"/integrations/{integration_id}/test", data={"csrf_token": token})
        client.post(f"/integrations/{integration_id}/edit", data={"csrf_token": token, "name": "renamed"})
    forbidden = {secret: [secret.encode(), base64.b64encode(secret.encode()),
                          base64.urlsafe_b64encode(secret.encode())] for secret in known.values()}  # fmt: skip
    pages = 0
    args = {"integration_id": ids, "username": ["admin"], "key_id": [1], "lang": ["en"]}
    for rule in app_rules(console[1], "GET"):
        for url in fill(rule, args):
            for query in [f"?kind={k}" for k in integration_kinds()] if rule.endpoint == "integrations.new" else [""]:
                response = client.get(url + query)
                body = response.get_data() + str(response.headers).encode()
                for secret, forms in forbidden.items():
                    assert not any(f in body for f in forms), f"{secret} in {url}{query}"
                pages += response.status_code == 200
    assert pages >= len(ids) * 2 + 5
    for secret in known.values():
        leaks = [
            f"{r.name}: {r.getMessage()[:300]}" for r in caplog.records if secret in f"{r.getMessage()} {r.__dict__}"
        ]
        assert not leaks, leaks[:3]
    for entry in AuditEntry.select():
        stored = f"{entry.before} {entry.after} {entry.message}"
        assert not any(secret in stored for secret in known.values())


# -- integrations ----------------------------------------------------------------------------------------------


def test_the_form_of_each_kind_has_its_own_fields(client: FlaskClient) -> None:
    as_user(client, "admin")
    chooser = client.get("/integrations/new").get_data(as_text=True)
    for kind in integration_kinds():
        assert f'data-kind="{kind}"' in chooser
        page = client.get(f"/integrations/new?kind={kind}").get_data(as_text=True)
        names = set(re.findall(r'name="((?:settings|secrets)\.\w+)"', page))
        assert names == {f"{'secrets' if s.secret else 'settings'}.{s.name}" for s in kind_fields(kind)}, kind
        for spec in kind_fields(kind):
            if spec.secret:  # a password field, or a text area for a key file; never filled in
                tag = re.search(rf'<(input type="password"|textarea)[^>]*id="f-{spec.name}"[^>]*>', page, re.S)
                assert tag and "value=" not in tag.group(0), (kind, spec.name)


def test_secrets_are_write_only_kept_when_left_empty_and_replaced_on_demand(
    client: FlaskClient, console: tuple[Settings, Flask]
) -> None:
    settings = console[0]
    token = as_user(client, "admin")
    form = {"csrf_token": token, "kind": "webhook", "name": "hook", "settings.url": "https://example.com/in",
            "secrets.signing_secret": "first-signing-secret"}  # fmt: skip
    created = client.post("/integrations/new", data=form)
    assert created.status_code == 302
    integration_id = get_integration(settings, "hook").id
    edit = client.get(f"/integrations/{integration_id}/edit").get_data(as_text=True)
    assert "first-signing-secret" not in edit
    assert "•••••• (kept)" in edit and 'data-testid="replace-signing_secret"' in edit
    detail = client.get(f"/integrations/{integration_id}").get_data(as_text=True)
    assert 'data-secret="set"' in detail and "first-signing-secret" not in detail

    kept = {"csrf_token": token, "name": "hook", "settings.url": "https://example.com/other"}
    assert client.post(f"/integrations/{integration_id}/edit", data=kept).status_code == 302
    from engine.services.integrations import open_destination

    _view, destination = open_destination(settings, "hook")
    assert destination._secret == "first-signing-secret"  # type: ignore[attr-defined]
    assert get_integration(settings, "hook").settings["url"] == "https://example.com/other"

    replaced = {**kept, "secrets.signing_secret": "second-signing-secret"}
    assert client.post(f"/integrations/{integration_id}/edit", data=replaced).status_code == 302
    _view, destination = open_destination(settings, "hook")
    assert destination._secret == "second-signing-secret"  # type: ignore[attr-defined]
    update = list_audit(object_type="integration", action="update")[0][0]
    assert update.message == "secrets replaced or removed: signing_secret"
    assert "second-signing-secret" not in str(update.before) + str(update.after)


def test_a_refused_form_shows_the_error_beside_its_field_and_saves_nothing(client: FlaskClient) -> None:
    token = as_user(client, "admin")
    form = {"csrf_token": token, "kind": "sftp", "name": "box", "settings.host": "sftp.example.com",
            "settings.username": "u", "settings.port": "99999", "secrets.password": "typed-password"}  # fmt: skip
    response = client.post("/integrations/new", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert re.search(r'data-error-for="settings\.port">must be at most 65535<', page)
    assert 'value="sftp.example.com"' in page and "typed-password" not in page
    assert Integration.select().count() == 0
    form["settings.port"] = "abc"
    assert "must be an integer" in client.post("/integrations/new", data=form).get_data(as_text=True)
    assert client.post("/integrations/new", data={**form, "kind": "gopher"}).status_code == 400


def test_a_relative_local_folder_is_refused_on_save_beside_the_folder(
    client: FlaskClient, console: tuple[Settings, Flask], tmp_path: Path
) -> None:
    token = as_user(client, "admin")
    form = {"csrf_token": token, "kind": "local", "name": "depot-relatif", "settings.folder": "tmp/relatif"}
    response = client.post("/integrations/new", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and Integration.select().count() == 0
    assert re.search(r'data-error-for="settings\.folder">must be an absolute path, got &#39;tmp/relatif&#39;<', page)
    assert 'value="depot-relatif"' in page and 'value="tmp/relatif"' in page  # what was typed is kept
    assert client.post("/integrations/new", data={**form, "settings.folder": str(tmp_path)}).status_code == 302
    integration_id = get_integration(console[0], "depot-relatif").id
    edit = {"csrf_token": token, "name": "depot-relatif", "settings.folder": "../ailleurs"}
    refused = client.post(f"/integrations/{integration_id}/edit", data=edit)
    assert refused.status_code == 400 and 'data-error-for="settings.folder"' in refused.get_data(as_text=True)
    assert get_integration(console[0], "depot-relatif").settings["folder"] == str(tmp_path)


def test_sftp_test_shows_the_fingerprint_and_an_admin_trusts_the_key_shown(
    client: FlaskClient, console: tuple[Settings, Flask], tmp_path: Path
) -> None:
    settings, app = console
    with SftpServer(tmp_path / "root") as server:
        token = as_user(client, "admin")
        form = {"csrf_token": token, "kind": "sftp", "name": "box", "settings.host": "127.0.0.1",
                "settings.port": str(server.port), "settings.username": server.user,
                "secrets.password": server.password}  # fmt: skip
        assert client.post("/integrations/new", data=form).status_code == 302
        integration_id = get_integration(settings, "box").id
        fingerprint = "ssh-ed25519 " + server.host_key.get_fingerprint("sha256")

        manager = app.test_client()
        manager_token = as_user(manager, "manager")
        assert (
            manager.post(f"/integrations/{integration_id}/test", data={"csrf_token": manager_token}).status_code == 302
        )
        page = manager.get(f"/integrations/{integration_id}").get_data(as_text=True)
        assert 'data-testid="probe" data-ok="yes"' in page and fingerprint in page
        assert re.search(r"Connected in [\d.]+ ms", page)
        assert 'data-testid="trust-key"' not in page and "An admin must trust this key" in page
        trust = {"csrf_token": manager_token, "expect.host_key": fingerprint}
        assert manager.post(f"/integrations/{integration_id}/trust", data=trust).status_code == 403
        assert get_integration(settings, "box").settings.get("host_key", "") == ""

        client.post(f"/integrations/{integration_id}/test", data={"csrf_token": token})
        page = client.get(f"/integrations/{integration_id}").get_data(as_text=True)
        assert 'data-testid="trust-key"' in page and f'name="expect.host_key" value="{fingerprint}"' in page
        other = {"csrf_token": token, "expect.host_key": "ssh-ed25519 SHA256:someoneelse"}
        refused = client.post(f"/integrations/{integration_id}/trust", data=other)
        assert refused.status_code == 409 and "different host_key" in refused.get_data(as_text=True)
        assert get_integration(settings, "box").settings.get("host_key", "") == ""
        trusted = client.post(f"/integrations/{integration_id}/trust", data={**trust, "csrf_token": token})
        assert trusted.status_code == 302
        assert get_integration(settings, "box").settings["host_key"] == fingerprint
        page = client.get(f"/integrations/{integration_id}").get_data(as_text=True)
        assert "Trusted: host_key." in page and 'data-testid="trust-key"' not in page

    client.post(f"/integrations/{integration_id}/test", data={"csrf_token": token})  # the server is gone
    page = client.get(f"/integrations/{integration_id}").get_data(as_text=True)
    assert 'data-ok="no"' in page and "The connection test failed" in page
    listing = client.get("/integrations/").get_data(as_text=True)
    assert 'data-test-ok="no"' in listing
    actions = [(e.action, e.message[:8]) for e in list_audit(object_type="integration")[0]]
    assert ("test", "trusted:") in actions and ("create", "") in actions


def test_roles_per_route_follow_the_grpc_integration_service(
    client: FlaskClient, console: tuple[Settings, Flask], tmp_path: Path
) -> None:
    settings, app = console
    admin = app.test_client()
    admin_token = as_user(admin, "admin")
    folder = tmp_path / "drop"
    folder.mkdir()
    form = {"csrf_token": admin_token, "kind": "local", "name": "drop", "settings.folder": str(folder)}
    assert admin.post("/integrations/new", data=form).status_code == 302
    integration_id = get_integration(settings, "drop").id
    for username in ("reader", "manager"):
        user = app.test_client()
        token = as_user(user, username)
        assert user.get("/integrations/").status_code == 200
        page = user.get(f"/integrations/{integration_id}").get_data(as_text=True)
        assert 'data-testid="edit-integration"' not in page and 'data-testid="delete-integration"' not in page
        assert ('data-testid="test-connection"' in page) == (username == "manager")
        assert user.get(f"/integrations/{integration_id}/edit").status_code == 403
        assert user.get("/integrations/new?kind=local").status_code == 403
        for action in ("edit", "delete"):
            assert user.post(f"/integrations/{integration_id}/{action}", data={"csrf_token": token}).status_code == 403
        tested = user.post(f"/integrations/{integration_id}/test", data={"csrf_token": token})
        assert tested.status_code == (302 if username == "manager" else 403)
    assert get_integration(settings, "drop").test_ok is True
    deleted = admin.post(f"/integrations/{integration_id}/delete", data={"csrf_token": admin_token})
    assert deleted.status_code == 302 and Integration.select().count() == 0
    assert list_audit(object_type="integration", action="delete")[0][0].before["name"] == "drop"


def test_integration_names_and_values_are_escaped(client: FlaskClient, console: tuple[Settings, Flask]) -> None:
    token = as_user(client, "admin")
    form = {"csrf_token": token, "kind": "ftp", "name": XSS, "settings.host": XSS, "settings.username": XSS,
            "settings.passive": "true", "settings.port": "21", "secrets.password": "pw-for-xss-test"}  # fmt: skip
    assert client.post("/integrations/new", data=form).status_code == 302
    integration_id = get_integration(console[0], XSS).id
    for path in ("/integrations/", f"/integrations/{integration_id}", f"/integrations/{integration_id}/edit",
                 "/audit/"):  # fmt: skip
        html = client.get(path).get_data(as_text=True)
        assert XSS not in html and "&lt;script&gt;" in html, path


def test_a_post_without_its_csrf_token_changes_nothing(client: FlaskClient) -> None:
    as_user(client, "admin")
    response = client.post("/integrations/new", data={"kind": "local", "name": "x", "settings.folder": "/tmp"})
    assert response.status_code == 400 and "security token" in response.get_data(as_text=True)
    assert client.post("/api-keys/", data={"name": "k", "role": "admin"}).status_code == 400
    assert client.post("/users/reader/role", data={"role": "admin"}).status_code == 400
    assert Integration.select().count() == 0 and get_user("reader").role == "reader"


# -- API keys, users, audit ---------------------------------------------------------------------------------------


def test_admin_pages_are_hidden_and_refused_for_other_roles(
    client: FlaskClient, console: tuple[Settings, Flask]
) -> None:
    for username in ("reader", "manager"):
        user = console[1].test_client()
        as_user(user, username)
        menu = user.get("/").get_data(as_text=True)
        assert 'href="/integrations/"' in menu
        for path in ("/api-keys/", "/users/", "/audit/"):
            assert f'href="{path}"' not in menu
            assert user.get(path).status_code == 403
    as_user(client, "admin")
    menu = client.get("/").get_data(as_text=True)
    assert all(f'href="{path}"' in menu for path in ("/api-keys/", "/users/", "/audit/"))
    assert console[1].test_client().get("/audit/").status_code == 302  # not logged in: to the login page


def test_an_api_key_is_shown_once_then_listed_by_prefix_and_revoked(client: FlaskClient) -> None:
    token = as_user(client, "admin")
    response = client.post("/api-keys/", data={"csrf_token": token, "once": once(), "name": "odoo", "role": "manager"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    key = re.search(r'data-role="new-key">(pmx_[^<]+)<', response.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    assert authenticate(key).role == "manager"
    listing = client.get("/api-keys/").get_data(as_text=True)
    assert key not in listing and key.split("_")[1] in listing and "odoo" in listing
    bad = client.post("/api-keys/", data={"csrf_token": token, "once": once(), "name": "", "role": "manager"})
    assert bad.status_code == 400 and "name: must be 1 to 128 characters" in bad.get_data(as_text=True)
    key_id = authenticate(key).id
    assert client.post(f"/api-keys/{key_id}/revoke", data={"csrf_token": token}).status_code == 302
    with pytest.raises(Exception, match="revoked"):
        authenticate(key)
    assert 'data-revoked="yes"' in client.get("/api-keys/").get_data(as_text=True)
    entries = list_audit(object_type="api_key")[0]
    assert [e.action for e in entries] == ["revoke", "create"] and key not in str([e.after for e in entries])


def test_users_created_with_a_password_shown_once_roles_disable_and_reset(client: FlaskClient) -> None:
    token = as_user(client, "admin")
    response = client.post(
        "/users/", data={"csrf_token": token, "once": once(), "username": "camille", "role": "manager"}
    )
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    password = re.search(r'data-role="new-password">([^<]+)<', response.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    assert authenticate_user("camille", password).role == "manager"
    assert password not in client.get("/users/").get_data(as_text=True)
    typed = {
        "csrf_token": token,
        "once": once(),
        "username": "dominique",
        "role": "reader",
        "password": "a typed password 1",
    }
    assert client.post("/users/", data=typed).status_code == 302
    assert authenticate_user("dominique", "a typed password 1").role == "reader"
    assert client.post("/users/", data={**typed, "once": once(), "password": "short"}).status_code == 400

    assert client.post("/users/camille/role", data={"csrf_token": token, "role": "admin"}).status_code == 302
    assert get_user("camille").role == "admin"
    assert client.post("/users/camille/disable", data={"csrf_token": token}).status_code == 302
    assert get_user("camille").disabled_at is not None
    assert client.post("/users/camille/enable", data={"csrf_token": token}).status_code == 302
    reset = client.post("/users/camille/password", data={"csrf_token": token, "once": once()})
    new_password = re.search(r'data-role="new-password">([^<]+)<', reset.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    assert new_password != password and authenticate_user("camille", new_password)
    entries = list_audit(object_type="user", action="update")[0]
    assert entries[0].message == "password reset"
    assert entries[-1].before["role"] == "manager" and entries[-1].after["role"] == "admin"
    assert all(password not in f"{e.before}{e.after}{e.message}" for e in entries)


def test_a_form_that_shows_a_secret_sent_again_creates_nothing(client: FlaskClient) -> None:
    """A reload of the page that showed a new key or password sends the same form again: its one-time token is
    used already, so nothing is created and the list says so. A form without a token is refused."""
    token = as_user(client, "admin")
    page = client.get("/api-keys/").get_data(as_text=True)
    form_token = re.search(r'name="once" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    form = {"csrf_token": token, "once": form_token, "name": "cle-reload", "role": "reader"}
    first = client.post("/api-keys/", data=form)
    assert first.status_code == 200 and 'data-role="new-key"' in first.get_data(as_text=True)
    again = client.post("/api-keys/", data=form)
    assert again.status_code == 303 and again.headers["Location"] == "/api-keys/"
    listing = client.get("/api-keys/").get_data(as_text=True)
    assert "already created and shown once" in listing and listing.count("<td>cle-reload</td>") == 1
    assert len(list_audit(object_type="api_key")[0]) == 1
    stale = client.post("/api-keys/", data={"csrf_token": token, "name": "no-token", "role": "reader"})
    assert stale.status_code == 303 and "no-token" not in client.get("/api-keys/").get_data(as_text=True)

    user_form = {"csrf_token": token, "once": once(), "username": "camille", "role": "manager"}
    assert client.post("/users/", data=user_form).status_code == 200
    assert client.post("/users/", data=user_form).status_code == 303
    assert "already created" in client.get("/users/").get_data(as_text=True)
    assert len(list_audit(object_type="user", action="create")[0]) == 1  # not a second try refused as a duplicate
    reset_form = {"csrf_token": token, "once": once()}
    shown = client.post("/users/camille/password", data=reset_form).get_data(as_text=True)
    password = re.search(r'data-role="new-password">([^<]+)<', shown).group(1)  # type: ignore[union-attr]
    assert client.post("/users/camille/password", data=reset_form).status_code == 303
    assert authenticate_user("camille", password)  # the password shown still works: no second reset
    assert len(list_audit(object_type="user", action="update")[0]) == 1
    assert client.post("/users/camille/password", data={"csrf_token": token}).status_code == 303
    assert authenticate_user("camille", password) and "old page" in client.get("/users/").get_data(as_text=True)


def test_the_last_active_admin_cannot_be_demoted_or_disabled(client: FlaskClient) -> None:
    token = as_user(client, "admin")
    headers = {"Referer": "http://localhost/users/"}
    demoted = client.post("/users/admin/role", data={"csrf_token": token, "role": "manager"}, headers=headers)
    assert demoted.status_code == 302 and get_user("admin").role == "admin"
    assert "the last active admin" in client.get("/users/").get_data(as_text=True)
    refused = client.post("/users/admin/disable", data={"csrf_token": token})  # no Referer: still back to /users
    assert refused.status_code == 302 and refused.headers["Location"] == "/users/"
    assert "the last active admin" in client.get("/users/").get_data(as_text=True)
    assert get_user("admin").disabled_at is None
    client.post("/users/reader/role", data={"csrf_token": token, "role": "admin"})
    assert client.post("/users/admin/role", data={"csrf_token": token, "role": "manager"}).status_code == 302
    assert get_user("admin").role == "manager"


def test_the_audit_log_filters_pages_and_shows_each_change(
    client: FlaskClient, console: tuple[Settings, Flask]
) -> None:
    token = as_user(client, "admin")
    form = {"csrf_token": token, "kind": "webhook", "name": "hook", "settings.url": "https://example.com/a",
            "secrets.signing_secret": "audit-page-secret"}  # fmt: skip
    client.post("/integrations/new", data=form)
    integration_id = get_integration(console[0], "hook").id
    edit = {"csrf_token": token, "name": "hook", "settings.url": "https://example.com/b"}
    client.post(f"/integrations/{integration_id}/edit", data=edit)
    for number in range(60):
        client.post("/api-keys/", data={"csrf_token": token, "once": once(), "name": f"key {number}", "role": "reader"})
    page = client.get("/audit/?kind=integration&action=update").get_data(as_text=True)
    assert page.count("data-audit-id=") == 1
    assert re.search(r'data-key="settings\.url">.*?https://example.com/a.*?https://example.com/b', page, re.S)
    assert "audit-page-secret" not in page
    first = client.get("/audit/?kind=api_key").get_data(as_text=True)
    assert first.count("data-audit-id=") == 50
    older = re.search(r'href="([^"]+)" data-testid="next-page"', first).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    second = client.get(older).get_data(as_text=True)
    assert second.count("data-audit-id=") == 10 and 'data-testid="next-page"' not in second
    assert not set(re.findall(r'data-audit-id="(\d+)"', first)) & set(re.findall(r'data-audit-id="(\d+)"', second))
    assert client.get("/audit/?user=console:admin&action=update").get_data(as_text=True).count("data-audit-id=") == 1
    assert client.get("/audit/?user=console:nobody").get_data(as_text=True).count("data-audit-id=") == 0
    assert "is not a date" in client.get("/audit/?from=yesterday").get_data(as_text=True)
    assert "unknown action" in client.get("/audit/?action=explode").get_data(as_text=True)
    assert client.get("/audit/?from=2000-01-01&to=2000-01-02").get_data(as_text=True).count("data-audit-id=") == 0
    assert "malformed page token" in client.get("/audit/?page=zzz").get_data(as_text=True)


# -- the services the pages added ----------------------------------------------------------------------------------


def test_the_users_service_keeps_one_active_admin(sqlite_db: Settings) -> None:
    from engine.errors import InvalidState
    from engine.services.users import create_user, set_disabled, set_role

    create_user("first", "admin", "a long enough password")
    with pytest.raises(InvalidState, match="last active admin"):
        set_role("first", "reader")
    with pytest.raises(InvalidState, match="last active admin"):
        set_disabled("first", True)
    create_user("second", "admin", "a long enough password")
    set_disabled("second", True)  # a disabled admin does not count
    with pytest.raises(InvalidState):
        set_role("first", "manager")
    set_disabled("second", False)
    assert set_role("first", "manager").role == "manager"
    assert set_disabled("first", True).disabled_at is not None  # not an admin any more: nothing to keep


def test_the_audit_service_filters_by_action_and_time(sqlite_db: Settings) -> None:
    import datetime as dt

    from engine.errors import InvalidRequest
    from engine.services.audit import record

    record("console:a", "create", "user", "x")
    record("console:a", "update", "user", "x", before={"role": "reader"}, after={"role": "admin"})
    assert [e.action for e in list_audit(action="update")[0]] == ["update"]
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert len(list_audit(since=now - dt.timedelta(minutes=1))[0]) == 2
    assert list_audit(until=now - dt.timedelta(minutes=1))[0] == []
    with pytest.raises(InvalidRequest, match="unknown action"):
        list_audit(action="explode")
