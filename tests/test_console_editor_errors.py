"""The template editor after the new-user trial (issue 12): every refusal on save is shown beside its field with
all the input kept (a delivery to an unknown integration, a description too long, a hostile name), never a bare
error page; the banner says "Nothing was saved" only after a save; codes are shown in words (row modes, argument
types, the JSON sections), in French too, with the plural agreed."""

from __future__ import annotations

import html as htmllib
import re

from flask.testing import FlaskClient

from engine.services import templates as svc
from tests.console_support import console_app
from tests.test_console_templates import change, copy_as_manager, editor_fields, post_editor

NOWHERE = '[{"integration": "integ-qui-nexiste-pas", "path": "shopify/{date}/"}]'


def error_for(page: str, path: str) -> str:
    match = re.search(rf'data-error-for="{re.escape(path)}">([^<]*)<', page)
    assert match, f"no error shown beside {path}"
    return htmllib.unescape(match.group(1))


def test_a_delivery_to_an_unknown_integration_is_refused_beside_the_field(client: FlaskClient) -> None:
    copy_as_manager(client)
    fields = change(editor_fields(client, "Mine"), "deliveries", NOWHERE)
    fields = change(fields, "c0-header", "Identifiant")
    response = post_editor(client, "Mine", fields, "save")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "no integration named 'integ-qui-nexiste-pas'" in error_for(page, "deliveries")
    assert "Nothing was saved: 1 problem, shown beside its field." in page
    assert "integ-qui-nexiste-pas" in htmllib.unescape(page) and 'value="Identifiant"' in page  # input kept
    assert svc.get_template("Mine").version == 1 and "deliveries" not in svc.get_template("Mine").spec


def test_a_too_long_description_keeps_every_edit_and_says_the_limit(client: FlaskClient) -> None:
    copy_as_manager(client)
    long = "é" * 20_000
    fields = change(editor_fields(client, "Mine"), "description", long)
    fields = change(fields, "c0-header", "Identifiant")
    response = post_editor(client, "Mine", fields, "save")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert error_for(page, "description") == "is 20,000 characters long (at most 2,000): shorten it"
    assert 'value="Identifiant"' in page and long in page  # what was typed is shown back
    assert svc.get_template("Mine").description == svc.get_template("Standard CSV").description
    just_over = change(editor_fields(client, "Mine"), "description", "d" * (svc.DESCRIPTION_LIMIT + 1))
    page = post_editor(client, "Mine", just_over, "save").get_data(as_text=True)
    assert "at most 2,000" in error_for(page, "description")
    fine = change(editor_fields(client, "Mine"), "description", "d" * svc.DESCRIPTION_LIMIT)
    assert post_editor(client, "Mine", fine, "save").status_code == 302
    assert svc.get_template("Mine").description == "d" * svc.DESCRIPTION_LIMIT


def test_a_hostile_or_oversized_name_is_refused_beside_the_name(client: FlaskClient) -> None:
    copy_as_manager(client)
    for name, message in (
        ("Prix \u202eésrevni", "must not contain control or invisible formatting characters"),
        ("x" * 129, "at most 128"),
    ):
        fields = change(editor_fields(client, "Mine"), "name", name)
        page = post_editor(client, "Mine", fields, "save").get_data(as_text=True)
        assert message in error_for(page, "name")
    assert svc.get_template("Mine").name == "Mine"


def test_the_banner_says_nothing_was_saved_only_after_a_save(client: FlaskClient) -> None:
    copy_as_manager(client)
    fields = change(editor_fields(client, "Mine"), "c0-value", "marque_inexistante")
    fields = change(fields, "c1-value", "autre_inexistante")
    preview = post_editor(client, "Mine", fields, "preview").get_data(as_text=True)
    assert "No preview yet: fix 2 problems first, shown beside their fields." in preview
    assert "Nothing was saved" not in preview
    saved = post_editor(client, "Mine", fields, "save").get_data(as_text=True)
    assert "Nothing was saved: 2 problems, shown beside their fields." in saved
    moved = post_editor(client, "Mine", editor_fields(client, "Mine"), "add").get_data(as_text=True)
    assert 'data-testid="problems"' not in moved
    ok = post_editor(client, "Mine", editor_fields(client, "Mine"), "preview").get_data(as_text=True)
    assert 'data-testid="to-preview"' in ok and 'id="preview"' in ok
    assert 'formaction="/templates/edit/Mine#preview"' in ok  # the preview opens at the preview


def test_codes_are_shown_in_words_in_french_with_plurals(client: FlaskClient, console) -> None:
    settings, _app = console
    french = console_app(settings, admin_locale="fr").test_client()
    copy_as_manager(french, "Shopify Standard", "Boutique")
    page = french.get("/templates/edit/Boutique").get_data(as_text=True)
    assert '<option value="variants_images" selected>une ligne par variante, puis une par image en plus' in page
    assert "Correspondances de valeurs" in page and "Règles d’exclusion" in page  # the JSON sections
    assert 'placeholder="str"' not in page and 'placeholder="texte"' in page
    fields = change(editor_fields(french, "Boutique"), "c0-value", "marque_inexistante")
    saved = post_editor(french, "Boutique", fields, "save").get_data(as_text=True)
    assert "Rien n’a été enregistré : 1 problème, indiqué à côté de son champ." in saved


def test_one_version_offers_no_comparison_and_plurals_agree(client: FlaskClient) -> None:
    copy_as_manager(client)
    versions = client.get("/templates/versions/Mine").get_data(as_text=True)
    assert 'data-testid="show-diff"' not in versions and 'data-testid="one-version"' in versions
    assert "and its only version?" in client.get("/templates/delete/Mine").get_data(as_text=True)
    fields = change(editor_fields(client, "Mine"), "c0-header", "Identifiant")
    assert post_editor(client, "Mine", fields, "save").status_code == 302
    versions = client.get("/templates/versions/Mine").get_data(as_text=True)
    assert 'data-testid="show-diff"' in versions and 'data-testid="one-version"' not in versions
    assert "and its 2 versions?" in client.get("/templates/delete/Mine").get_data(as_text=True)


def test_long_names_wrap_in_the_lists(client: FlaskClient) -> None:
    copy_as_manager(client, "Standard CSV", "N" * 128)
    page = client.get("/templates/").get_data(as_text=True)
    assert re.search(r'<td class="long-name"><a href="/templates/edit/N{128}">', page)
    assert '<h2 class="h4 mb-0 mr-2 long-name">' + "N" * 128 in client.get("/templates/edit/" + "N" * 128).get_data(
        as_text=True
    )


def test_every_text_input_of_the_editor_carries_the_bound_the_save_checks(client: FlaskClient) -> None:
    """A 10 MB paste into Description must not reach the server (a 413 page would lose every edit): the browser
    stops it at the input's maxlength, which is the service's own limit, and so for every text input."""
    from html.parser import HTMLParser

    from admin.templates_view import MAX_SECTION_CHARS

    copy_as_manager(client)
    post_editor(client, "Mine", editor_fields(client, "Mine"), "add")  # a step-less column more; steps below
    fields = change(editor_fields(client, "Mine"), "c0-steps", "1")
    page = post_editor(client, "Mine", [*fields, ("c0-s0-name", "truncate")], "preview").get_data(as_text=True)
    bounds: dict[str, str | None] = {}

    class Inputs(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found = dict(attrs)
            if tag == "textarea" or (tag == "input" and found.get("type", "text") in ("text", None)):
                bounds[found.get("name") or ""] = found.get("maxlength")

    Inputs().feed(page)
    assert bounds["description"] == str(svc.DESCRIPTION_LIMIT) == "2000"
    assert bounds["name"] == str(svc.NAME_LIMIT) and bounds["file_name"] == "2000"
    assert bounds["c0-header"] == bounds["c0-value"] == bounds["deliveries"] == str(MAX_SECTION_CHARS)
    assert any(name.startswith("c0-s0-a-") for name in bounds), "the step's arguments are in the form"
    editor = {name: bound for name, bound in bounds.items() if name and not name.startswith(("q", "search"))}
    assert all(bound and bound.isdigit() for bound in editor.values()), editor
