"""The console's Templates pages through Flask's test client: list, new, copy, delete, the mapping editor (its form
read back from the page as a browser would send it), validation errors beside their fields with nothing saved,
preview of the unsaved spec, versions, diff, restore, audit entries, roles, CSRF and escaping."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.models import AuditEntry, ExportJob
from engine.services import templates as svc
from engine.services.audit import list_audit
from tests.console_support import csrf_token, log_in
from tests.small_catalog import build_small_catalog

XSS = "<script>alert(1)</script>"


class _Form(HTMLParser):
    """The fields a browser would send from the form with id `form_id` (without any submit button's)."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside = form_id, False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside or "disabled" in a:
            return
        if tag == "input" and a.get("name"):
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((a["name"], a.get("value") or "on"))
            elif a.get("type") != "submit":
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select" and a.get("name"):
            self._select, self._options = a["name"], []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea" and a.get("name"):
            self._textarea, self._text = a["name"], ""

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            chosen = [v for v, selected in self._options if selected] or [v for v, _ in self._options[:1]]
            self.fields.append((self._select, chosen[0] if chosen else ""))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None


def editor_fields(client: FlaskClient, name: str, html: str | None = None) -> list[tuple[str, str]]:
    if html is None:
        html = client.get(f"/templates/edit/{name}").get_data(as_text=True)
    parser = _Form("template-editor")
    parser.feed(html)
    return parser.fields


def change(fields: list[tuple[str, str]], name: str, value: str) -> list[tuple[str, str]]:
    assert any(k == name for k, _ in fields), f"no field {name} in the form"
    return [(k, value if k == name else v) for k, v in fields]


def post_editor(client: FlaskClient, name: str, fields: list[tuple[str, str]], op: str) -> Any:
    from werkzeug.datastructures import MultiDict

    return client.post(f"/templates/edit/{name}", data=MultiDict([*fields, ("op", op)]))


def copy_as_manager(client: FlaskClient, source: str = "Standard CSV", name: str = "Mine") -> None:
    log_in(client, "manager")
    token = csrf_token(client, "/templates/")
    response = client.post(f"/templates/copy/{source}", data={"csrf_token": token, "new_name": name})
    assert response.status_code == 302 and response.headers["Location"] == f"/templates/edit/{name}"


def test_the_list_shows_every_template_with_its_format_platform_and_version(client: FlaskClient) -> None:
    log_in(client, "reader")
    html = client.get("/templates/").get_data(as_text=True)
    for name in ("Standard CSV", "Shopify Standard", "Google Shopping", "Price &amp; Stock"):
        assert f'data-template="{name}"' in html
    assert (
        "Google Merchant Center" in html
        and 'Google Shopping (XML) <code class="small text-muted">google_xml</code>' in html
    )
    assert 'data-testid="copy"' not in html and 'data-testid="new-template"' not in html  # a reader
    log_in(client, "manager")
    html = client.get("/templates/").get_data(as_text=True)
    assert 'data-testid="new-template"' in html and 'data-testid="copy"' in html
    assert 'data-testid="delete"' not in html  # predefined ones only: none can be deleted


def test_a_manager_creates_from_scratch_copies_and_deletes_each_audited(client: FlaskClient) -> None:
    log_in(client, "manager")
    token = csrf_token(client, "/templates/")
    response = client.post("/templates/new", data={"csrf_token": token, "name": "Scratch", "format": "jsonl"})
    assert response.status_code == 302
    assert [c["header"] for c in svc.get_template("Scratch").spec["columns"]] == ["SKU", "Title", "Price"]
    amazon = client.post("/templates/new", data={"csrf_token": token, "name": "Feed", "format": "amazon_json"})
    assert amazon.status_code == 302  # a feed that needs options starts from its predefined template
    assert svc.get_template("Feed").spec == svc.get_template("Amazon Listings Feed").spec
    page = client.get("/templates/copy/Standard CSV").get_data(as_text=True)
    assert 'value="Standard CSV (copy)"' in page
    taken = client.post("/templates/copy/Standard CSV", data={"csrf_token": token, "new_name": "Scratch"})
    assert taken.status_code == 200 and 'data-error-for="name"' in taken.get_data(as_text=True)
    copy_as_manager(client, "Standard CSV", "Mine")
    assert svc.get_template("Mine").spec == svc.get_template("Standard CSV").spec
    token = csrf_token(client, "/templates/")  # a new session
    confirm = client.get("/templates/delete/Mine").get_data(as_text=True)
    assert 'data-testid="delete-form"' in confirm
    assert client.post("/templates/delete/Mine", data={"csrf_token": token}).status_code == 302
    assert [t.name for t in svc.list_templates() if t.name == "Mine"] == []
    refused = client.post(
        "/templates/delete/Standard CSV", data={"csrf_token": token}, headers={"Referer": "http://localhost/templates/"}
    )
    assert refused.status_code == 302 and svc.get_template("Standard CSV").predefined  # refused with a message
    entries, _ = list_audit(object_type="template")
    assert [(e.action, e.object_name) for e in reversed(entries)] == [
        ("create", "Scratch"),
        ("create", "Feed"),
        ("copy", "Mine"),
        ("delete", "Mine"),
    ]
    assert entries[0].before["spec"]["format"] == "csv" and entries[0].after is None


def test_the_mapping_editor_changes_a_column_previews_and_saves_a_new_version(client: FlaskClient) -> None:
    build_small_catalog()
    copy_as_manager(client)
    fields = editor_fields(client, "Mine")
    assert ("c4-header", "Title") in fields and ("c4-value", "title") in fields
    fields = change(fields, "c4-header", "Product name")
    added = post_editor(client, "Mine", fields, "add-step:4")  # a round trip: the form, not the template
    assert added.status_code == 200 and svc.get_template("Mine").version == 1
    fields = editor_fields(client, "Mine", added.get_data(as_text=True))
    assert ("c4-header", "Product name") in fields and ("c4-s0-name", "trim") in fields
    fields = change(fields, "c4-s0-name", "upper")
    preview = post_editor(client, "Mine", fields, "preview")
    html = preview.get_data(as_text=True)
    assert 'data-testid="preview-rows"' in html and "<th>Product name</th>" in html
    assert "CASSEROLE INOX 20 CM" in html and svc.get_template("Mine").version == 1  # previewed, not saved
    fields = editor_fields(client, "Mine", html)
    saved = post_editor(client, "Mine", fields, "save")
    assert saved.status_code == 302
    template = svc.get_template("Mine")
    assert template.version == 2
    assert template.spec["columns"][4] == {"header": "Product name", "source": "title", "transforms": ["upper"]}
    before = svc.template_version("Mine", 1)
    assert [c for c in template.spec["columns"] if c["header"] != "Product name"] == [
        c for c in before["columns"] if c["header"] != "Title"
    ]  # everything else read back from the form exactly as it was
    assert {k: v for k, v in template.spec.items() if k != "columns"} == {
        k: v for k, v in before.items() if k != "columns"
    }
    entry = AuditEntry.select().where(AuditEntry.action == "update").get()
    assert entry.before["spec"]["columns"][4]["header"] == "Title"
    assert entry.after["spec"]["columns"][4]["header"] == "Product name" and entry.after["version"] == 2


def test_columns_move_and_are_added_and_removed_without_javascript(client: FlaskClient) -> None:
    copy_as_manager(client)
    fields = editor_fields(client, "Mine")
    moved = post_editor(client, "Mine", fields, "up:1")  # SKU (key 1) above ID (key 0)
    fields = editor_fields(client, "Mine", moved.get_data(as_text=True))
    assert [v for k, v in fields if k == "col"][:3] == ["1", "0", "2"]
    fields = editor_fields(client, "Mine", post_editor(client, "Mine", fields, "remove:2").get_data(as_text=True))
    added = post_editor(client, "Mine", fields, "add").get_data(as_text=True)
    fields = editor_fields(client, "Mine", added)
    new_key = [v for k, v in fields if k == "col"][-1]
    fields = change(change(fields, f"c{new_key}-header", "Fixed"), f"c{new_key}-kind", "literal")
    fields = change(fields, f"c{new_key}-value", "42")
    assert post_editor(client, "Mine", fields, "save").status_code == 302
    columns = svc.get_template("Mine").spec["columns"]
    assert [c["header"] for c in columns[:2]] == ["SKU", "ID"] and "EAN" not in [c["header"] for c in columns]
    assert columns[-1] == {"header": "Fixed", "literal": 42}


def test_errors_are_shown_beside_their_fields_and_nothing_is_saved(client: FlaskClient) -> None:
    copy_as_manager(client)
    fields = editor_fields(client, "Mine")
    fields = change(fields, "c2-value", "colour")  # EAN <- an unknown field
    fields = editor_fields(client, "Mine", post_editor(client, "Mine", fields, "add-step:4").get_data(as_text=True))
    fields = change(fields, "c4-s0-name", "truncate")  # its required length missing
    fields = change(fields, "c5-header", "SKU")  # a duplicate header
    fields = change(fields, "selection", '{"statuses": ["active"')  # broken JSON
    response = post_editor(client, "Mine", fields, "save")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-testid="problems"' in html
    assert 'data-error-for="columns[3].value"' in html and "unknown field &#39;colour&#39;" in html
    assert 'data-error-for="columns[5].transforms[1]"' in html and "argument &#39;length&#39; is required" in html
    assert 'data-error-for="selection"' in html and "not valid JSON" in html
    kept = editor_fields(client, "Mine", html)
    assert ("c2-value", "colour") in kept and ("selection", '{"statuses": ["active"') in kept  # the input is kept
    assert svc.get_template("Mine").version == 1
    fields = change(change(kept, "selection", '{"statuses": ["active"]}'), "c2-value", "ean")
    fields = change(fields, "c4-s0-a-length", "80")
    duplicate = post_editor(client, "Mine", fields, "save").get_data(as_text=True)
    assert 'data-error-for="columns[6].header"' in duplicate and "duplicate header" in duplicate
    fields = change(fields, "c5-header", "Brand")
    fields = change(fields, "options", '{"separator": "|"}')
    bad_option = post_editor(client, "Mine", fields, "save").get_data(as_text=True)
    assert 'data-error-for="options"' in bad_option
    fields = change(fields, "options", "")
    fields = change(fields, "c4-s0-a-length", "eighty")
    wrong_type = post_editor(client, "Mine", fields, "save").get_data(as_text=True)
    assert 'data-error-for="columns[5].transforms[1]"' in wrong_type and "must be int" in wrong_type
    assert svc.get_template("Mine").version == 1
    assert AuditEntry.select().where(AuditEntry.action == "update").count() == 0
    fields = change(fields, "c4-s0-a-length", "80")
    assert post_editor(client, "Mine", fields, "save").status_code == 302
    column = svc.get_template("Mine").spec["columns"][4]
    assert column["transforms"] == [{"name": "truncate", "length": 80}]


def test_versions_diff_and_restore(client: FlaskClient) -> None:
    copy_as_manager(client)
    spec = dict(svc.get_template("Mine").spec)
    svc.update_template("Mine", spec={**spec, "columns": spec["columns"][:3]})
    page = client.get("/templates/versions/Mine").get_data(as_text=True)
    assert 'data-version="1"' in page and 'data-version="2"' in page and 'data-testid="restore"' in page
    diff = client.get("/templates/diff/Mine?a=1&b=2").get_data(as_text=True)
    assert '<span class="diff-del">-      &#34;header&#34;: &#34;Title&#34;' in diff
    assert client.get("/templates/diff/Mine?a=1&b=x").status_code == 400
    assert client.get("/templates/diff/Mine?a=1&b=9").status_code == 404
    token = csrf_token(client, "/templates/versions/Mine")
    assert client.post("/templates/restore/Mine", data={"csrf_token": token, "version": "1"}).status_code == 302
    restored = svc.get_template("Mine")
    assert restored.version == 3 and restored.spec == svc.template_version("Mine", 1)
    entry = AuditEntry.select().where(AuditEntry.action == "restore").get()
    assert len(entry.before["spec"]["columns"]) == 3 and entry.after["version"] == 3
    assert "version 1 restored as version 3" in entry.message


@pytest.mark.parametrize(
    "route",
    [
        "/templates/new",
        "/templates/copy/Standard CSV",
        "/templates/delete/Mine",
        "/templates/edit/Mine",
        "/templates/restore/Mine",
    ],
)
def test_a_reader_gets_403_on_every_state_changing_route(client: FlaskClient, route: str) -> None:
    svc.copy_template("Standard CSV", "Mine")
    log_in(client, "reader")
    token = csrf_token(client, "/templates/")
    data = {"csrf_token": token, "name": "X", "format": "csv", "new_name": "X", "version": "1", "op": "save"}
    assert client.post(route, data=data).status_code == 403
    assert svc.get_template("Mine").version == 1 and [t.name for t in svc.list_templates() if t.name == "X"] == []


def test_a_reader_sees_the_editor_read_only_and_can_preview_the_saved_spec(client: FlaskClient) -> None:
    build_small_catalog()
    svc.copy_template("Standard CSV", "Mine")
    log_in(client, "reader")
    html = client.get("/templates/edit/Mine?preview=1").get_data(as_text=True)
    assert "<button" not in html.split('id="template-editor"')[1].split("</form>")[0]
    assert 'data-testid="export-now"' not in html and 'data-testid="preview-rows"' in html
    assert 'name="c0-header" value="ID" class="form-control form-control-sm" data-role="header" disabled' in html
    assert 'data-testid="restore"' not in client.get("/templates/versions/Mine").get_data(as_text=True)


def test_a_post_without_its_csrf_token_is_refused(client: FlaskClient) -> None:
    log_in(client, "manager")
    response = client.post("/templates/new", data={"name": "X", "format": "csv"})
    assert response.status_code == 400 and "security token" in response.get_data(as_text=True)
    assert [t.name for t in svc.list_templates() if t.name == "X"] == []


def test_template_texts_render_escaped(client: FlaskClient) -> None:
    build_small_catalog()
    spec = dict(svc.get_template("Standard CSV").spec)
    columns = [{"header": XSS, "source": "sku"}, {"header": "Title", "source": "title"}]
    svc.create_template("Evil", {**spec, "columns": columns}, description=XSS)
    log_in(client, "manager")
    for path in ("/templates/", "/templates/edit/Evil?preview=1", "/templates/versions/Evil"):
        html = client.get(path).get_data(as_text=True)
        assert XSS not in html, path
    html = client.get("/templates/edit/Evil?preview=1").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "style=" not in html


def test_export_now_from_the_template_page_runs_the_template(client: FlaskClient) -> None:
    build_small_catalog()
    copy_as_manager(client)
    html = client.get("/templates/edit/Mine").get_data(as_text=True)
    assert 'action="/jobs/run"' in html and 'name="template" value="Mine"' in html
    token = csrf_token(client, "/templates/edit/Mine")
    assert client.post("/jobs/run", data={"csrf_token": token, "template": "Mine"}).status_code == 302
    assert ExportJob.select().where(ExportJob.template_name == "Mine").count() == 1
