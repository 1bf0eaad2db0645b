"""The engine's messages in the console's language (admin/engine_text.py): real messages produced by the engine,
translated in French, kept as they are in English, and unknown ones shown untouched."""

from __future__ import annotations

from admin.engine_text import engine_text
from tests.console_support import console_app


def test_known_messages_are_french_and_unknown_ones_untouched(sqlite_db) -> None:
    app = console_app(sqlite_db, admin_locale="fr")
    with app.test_request_context("/"):
        assert engine_text("wrong username or password") == "nom d’utilisateur ou mot de passe incorrect"
        assert engine_text("brand is missing") == "brand manquant"
        assert engine_text("a message no one knows") == "a message no one knows"
        assert engine_text(None) == ""
    english = console_app(sqlite_db, admin_locale="en")
    with english.test_request_context("/"):
        assert engine_text("brand is missing") == "brand is missing"
