"""The console's languages: every label marked for translation has its French text, French is the default, English
on request, and dates follow the user's time zone."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

from admin.field_text import label_of
from admin.i18n import catalogue
from engine.destinations.registry import DESTINATIONS, get_destination

ADMIN = Path(__file__).resolve().parent.parent / "admin"
PLACEHOLDER = re.compile(r"%\((\w+)\)s|\{(\w+)\}")


def _key(msgid: str, context: str | None) -> str:
    """A message's key: its msgid, after its context and EOT when it has one (as in .mo files)."""
    return f"{context}\x04{msgid}" if context else msgid


def _french(key: str) -> object:
    context, _eot, msgid = key.rpartition("\x04")
    return catalogue("fr").get(msgid, context=context or None)


def _marked() -> dict[str, str]:
    """Each msgid (with its context, if any) marked in admin/ (Python and templates) with the first place it is
    marked."""
    found: dict[str, str] = {}
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    # class-level labels (menu names) are lazy; lazy_pgettext tells apart two meanings of one English word
    keywords = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "lazy_pgettext": ((1, "c"), 2)}
    for filename, lineno, message, _comments, context in extract_from_dir(ADMIN, method_map, keywords=keywords):
        msgid = message[0] if isinstance(message, tuple) else message  # a plural is keyed by its singular
        if msgid:
            found.setdefault(_key(msgid, context), f"{filename}:{lineno}")
    for kind in DESTINATIONS:  # the integration forms' labels and help texts (admin/field_text.py)
        for spec in get_destination(kind).fields:
            for msgid in (label_of(spec.name), spec.help):
                if msgid:
                    found.setdefault(msgid, f"engine/destinations {kind}.{spec.name}")
    return found


def test_every_marked_label_has_its_french_text() -> None:
    missing = [f"{where}: {key!r}" for key, where in sorted(_marked().items()) if not _french(key)]
    assert missing == [], "labels without French text (add them to admin/translations/fr/<area>.po):\n" + "\n".join(
        missing
    )


def test_french_texts_keep_the_placeholders() -> None:
    for message in catalogue("fr"):
        if message.id and message.string:
            assert set(PLACEHOLDER.findall(str(message.id))) == set(PLACEHOLDER.findall(str(message.string))), (
                message.id
            )


def test_the_catalogue_has_no_stale_entry_beyond_a_few() -> None:
    """French texts of labels no longer marked anywhere are dead weight: keep the catalogue in step."""
    marked = _marked()
    stale = [
        m.id
        for m in catalogue("fr")
        if m.id and _key(m.id[0] if isinstance(m.id, tuple) else str(m.id), m.context) not in marked
    ]
    assert stale == [], f"French texts of labels used nowhere: {stale}"


def test_when_shows_utc_times_in_the_user_zone(sqlite_db) -> None:
    from tests.console_support import console_app

    app = console_app(sqlite_db, admin_locale="en")
    with app.test_request_context("/"):
        from flask import session

        session["tz"] = "America/New_York"
        when = app.jinja_env.filters["when"]
        text = when(dt.datetime(2026, 1, 15, 12, 0))  # naive = UTC, as stored
        assert "7:00" in text, text


def test_french_is_the_default_and_english_is_one_click_away(sqlite_db) -> None:
    from tests.console_support import console_app, csrf_token

    app = console_app(sqlite_db, admin_locale="fr")
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert "Se connecter" in page and 'lang="fr"' in page
    token = csrf_token(client)
    answer = client.post("/language/en", data={"csrf_token": token, "next": "/login"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/login")
    page = client.get("/login").get_data(as_text=True)
    assert ">Log in<" in page.replace("\n", "") or "Log in</button>" in page
    assert client.post("/language/de", data={"csrf_token": token}).status_code == 404
    assert (
        client.post("/language/en", data={"csrf_token": token, "next": "//evil.example/"})
        .headers["Location"]
        .endswith("/")
    )


def test_a_failed_login_is_explained_in_french(sqlite_db) -> None:
    from tests.console_support import console_app, log_in, make_users

    make_users()
    client = console_app(sqlite_db, admin_locale="fr").test_client()
    page = log_in(client, "reader", "not the password").get_data(as_text=True)
    assert "nom d’utilisateur ou mot de passe incorrect" in page


def test_integration_forms_show_french_labels_and_help(sqlite_db) -> None:
    from tests.console_support import console_app, log_in, make_users

    make_users()
    client = console_app(sqlite_db, admin_locale="fr").test_client()
    log_in(client, "admin")
    page = client.get("/integrations/new?kind=sftp").get_data(as_text=True)
    assert "Clé d’hôte" in page and "Empreinte épinglée de la clé du serveur" in page
    assert '<code class="small text-muted">host_key</code>' in page  # the name the CLI and the API use


def test_french_with_a_relative_var_folder(sqlite_db, tmp_path, monkeypatch) -> None:
    """`make run` leaves PM_EXPORTS_VAR_DIR=var, relative to the working directory: the catalogue compiled there
    must still be the one Flask-Babel loads (it resolves relative folders against the app's package)."""
    from pathlib import Path

    from tests.console_support import console_app

    monkeypatch.chdir(tmp_path)
    app = console_app(sqlite_db, admin_locale="fr", var_dir=Path("var"))
    page = app.test_client().get("/login").get_data(as_text=True)
    assert "Se connecter" in page


def test_no_label_has_two_french_texts() -> None:
    """Each area has its .po file; the same English label in two of them must say the same thing in French (the
    merged catalogue keeps only one, so the other page would show a text nobody chose). Two meanings of one word
    take a context (pgettext)."""
    from babel.messages.pofile import read_po

    seen: dict[tuple[object, object], tuple[str, object]] = {}
    clashes = []
    for po_path in sorted((ADMIN / "translations" / "fr").glob("*.po")):
        with po_path.open("rb") as source:
            for message in read_po(source, locale="fr"):
                if not message.id or not message.string:
                    continue
                key = (message.id, message.context)
                if key in seen and seen[key][1] != message.string:
                    clashes.append(
                        f"{message.id!r}: {seen[key][0]} {seen[key][1]!r} / {po_path.name} {message.string!r}"
                    )
                seen.setdefault(key, (po_path.name, message.string))
    assert clashes == []


def test_french_plurals_for_every_count(sqlite_db) -> None:
    """Every plural label is French for 0, 1, 2 and a million (French takes the singular for 0 and 1)."""
    from flask_babel import get_translations

    from tests.console_support import console_app

    plurals = [m for m in catalogue("fr") if isinstance(m.id, tuple)]
    assert plurals, "no plural label to check"
    app = console_app(sqlite_db, admin_locale="fr")
    with app.test_request_context("/"):
        translations = get_translations()
        for message in plurals:
            singular, plural = message.id
            for n in (0, 1, 2, 1_000_000):
                expected = message.string[0 if n <= 1 else 1]
                assert translations.ungettext(singular, plural, n) == expected, (n, message.id)


def test_every_transformation_has_a_name_in_words() -> None:
    from admin.labels import TRANSFORM_LABELS
    from engine.services.templates import transform_vocabulary

    assert sorted(t.name for t in transform_vocabulary()) == sorted(TRANSFORM_LABELS)


def test_the_editor_names_transformations_in_french(sqlite_db) -> None:
    from tests.console_support import console_app, log_in, make_users

    make_users()
    client = console_app(sqlite_db, admin_locale="fr").test_client()
    log_in(client, "manager")
    page = client.get("/templates/edit/Google Shopping").get_data(as_text=True)
    assert "tronquer · truncate" in page and "remplacer par motif · regex_replace" in page


def test_only_a_real_time_zone_from_the_browser_is_kept() -> None:
    from admin.i18n import zone_or_none

    assert zone_or_none("Europe/Paris") == "Europe/Paris"
    for bad in (None, "", "Nowhere/City", "../../etc/passwd", "/etc/localtime", "Europe/" + "x" * 100):
        assert zone_or_none(bad) is None, bad
