"""The audit log and the users page after the new-user trial (issue 12): one identity per console user (logins and
actions alike), filters offering the known users, kinds and actions, each entry summed up in a few lines with every
change behind a toggle; an admin is offered no way to disable or demote themself, and a refusal is a message on
/users, never a bare error page."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from engine.services import templates as svc
from engine.services.audit import list_audit, record
from engine.settings import Settings
from tests.console_support import console_app, csrf_token, log_in
from tests.test_console_templates import change, copy_as_manager, editor_fields, post_editor


def as_admin(client: FlaskClient) -> str:
    assert log_in(client, "admin").status_code == 302
    return csrf_token(client, "/")


def rows_of(page: str) -> list[str]:
    return re.findall(r'<tr data-audit-id="\d+"', page)


def test_logins_and_actions_are_recorded_under_one_name(client: FlaskClient) -> None:
    copy_as_manager(client)  # logs in as manager, then copies
    actors = {(e.action, e.actor) for e in list_audit()[0]}
    assert actors == {("login", "console:manager"), ("copy", "console:manager")}
    record("manager", "login", "user", "manager")  # a login recorded before the fix, under the bare name
    record("manager", "create", "template", "not a login")  # something else under that name is someone else
    mine = {(e.action, e.object_name) for e in list_audit(actor="console:manager")[0]}
    assert mine == {("login", "manager"), ("copy", "Mine")}
    as_admin(client)
    page = client.get("/audit/?user=console:manager").get_data(as_text=True)
    assert len(rows_of(page)) == 3  # both logins and the copy
    assert '<option value="console:manager" selected>manager</option>' in page


def test_the_filters_offer_known_users_kinds_and_actions(client: FlaskClient) -> None:
    as_admin(client)
    page = client.get("/audit/").get_data(as_text=True)
    users = re.search(r'<select id="filter-user".*?</select>', page, re.S).group(0)  # type: ignore[union-attr]
    assert re.findall(r'<option value="([^"]*)"', users) == ["", "console:admin", "console:manager", "console:reader",
                                                              "cli"]  # fmt: skip
    kinds = re.search(r'<select id="filter-kind".*?</select>', page, re.S).group(0)  # type: ignore[union-attr]
    assert '<option value="api_key">API key</option>' in kinds and '<option value="integration">' in kinds
    actions = re.search(r'<select id="filter-action".*?</select>', page, re.S).group(0)  # type: ignore[union-attr]
    assert '<option value="login">login</option>' in actions and '<option value="update">change</option>' in actions
    assert "<input" not in users + kinds


def test_an_entry_is_summed_up_with_every_change_behind_a_toggle(client: FlaskClient) -> None:
    copy_as_manager(client)
    fields = editor_fields(client, "Mine")
    headers = [k for k, _v in fields if re.fullmatch(r"c\d+-header", k)]
    for number, key in enumerate(headers):
        fields = change(fields, key, f"Colonne {number}")
    assert post_editor(client, "Mine", fields, "save").status_code == 302
    as_admin(client)
    page = client.get("/audit/?kind=template&action=update").get_data(as_text=True)
    (summary,) = re.findall(r'<ul class="audit-summary" data-testid="audit-summary">(.*?)</ul>', page, re.S)
    lines = re.findall(r"<li[^>]*>(.*?)</li>", summary, re.S)
    first = svc.get_template("Standard CSV").spec["columns"][0]["header"]
    assert lines[:2] == ["version: 1 → 2", f"spec.columns[0].header: {first} → Colonne 0"]
    assert len(lines) == 4 and lines[3] == f"and {len(headers) + 1 - 3} more changes"
    details = re.search(r'<details class="audit-details".*?</details>', page, re.S).group(0)  # type: ignore[union-attr]
    assert details.count("<tr data-key=") == len(headers) + 1  # every header, and the version
    assert 'data-key="version"' in details
    assert '{"header"' not in page  # no whole spec dumped as one line of JSON


def test_an_admin_is_offered_no_way_to_disable_or_demote_themself(client: FlaskClient) -> None:
    token = as_admin(client)
    page = client.get("/users/").get_data(as_text=True)
    own = re.search(r'<tr data-user="admin".*?</tr>', page, re.S).group(0)  # type: ignore[union-attr]
    other = re.search(r'<tr data-user="reader".*?</tr>', page, re.S).group(0)  # type: ignore[union-attr]
    assert 'data-testid="disable"' not in own and 'data-testid="change-role"' not in own
    assert 'data-testid="own-role"' in own and 'data-testid="reset-password"' in own
    assert 'data-testid="disable"' in other and 'data-testid="change-role"' in other
    refused = client.post("/users/admin/role", data={"csrf_token": token, "role": "reader"})
    assert refused.status_code == 302 and refused.headers["Location"] == "/users/"
    assert "the last active admin" in client.get("/users/").get_data(as_text=True)
    unknown = client.post("/users/reader/role", data={"csrf_token": token, "role": "emperor"})
    assert unknown.status_code == 302 and "role" in client.get("/users/").get_data(as_text=True)


def test_the_audit_log_in_french(console: tuple[Settings, Flask]) -> None:
    french = console_app(console[0], admin_locale="fr").test_client()
    copy_as_manager(french)
    as_admin(french)
    page = french.get("/audit/").get_data(as_text=True)
    assert "tous les utilisateurs" in page and "toutes les actions" in page and "tous les types" in page
    assert ">connexion</td>" in page and ">copie</td>" in page and "modèle</span> Mine" in page
    assert "Compte créé" in french.get("/users/").get_data(as_text=True)
