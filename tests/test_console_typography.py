"""French typography of the console (trial 2, defect 12): curly apostrophes, « » rather than quotes, no "(s)" where
the count is known (ngettext instead), one colon per sentence; checked on the .po files and on the pages."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from engine.services.users import MAX_FAILED_LOGINS
from engine.settings import Settings
from tests.console_support import console_app, log_in, make_users

FRENCH = Path(__file__).resolve().parent.parent / "admin" / "translations" / "fr"
STRAIGHT = re.compile(r"[A-Za-zÀ-ÿ]'[A-Za-zÀ-ÿ]|'[^']*'")


BRACKETED_PLURAL = re.compile(r"[^\W\d_]\(s\)")  # "minute(s)", not the placeholder "%(s)s"


def _french_texts(skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    texts = []
    for path in sorted(FRENCH.glob("*.po")):
        if path.name in skip:
            continue
        with path.open("rb") as source:
            for message in read_po(source, locale="fr"):
                strings = message.string if isinstance(message.string, tuple) else (message.string,)
                texts += [(path.name, text) for text in strings if message.id and text]
    return texts


def test_french_texts_use_curly_apostrophes_and_french_quotes() -> None:
    bad = [(name, text) for name, text in _french_texts() if STRAIGHT.search(text)]
    assert bad == []


def test_no_console_text_counts_with_a_bracketed_plural() -> None:
    """engine.po follows the engine's own messages (a count inside a regex match), the console's texts use ngettext."""
    texts = _french_texts(skip=("engine.po",))
    bad = [(name, t) for name, t in texts if BRACKETED_PLURAL.search(t.replace("http(s)", ""))]
    assert bad == []


def test_the_lockout_says_minutes_in_agreed_french(sqlite_db: Settings) -> None:
    make_users()
    client = console_app(sqlite_db, admin_locale="fr").test_client()
    for _ in range(MAX_FAILED_LOGINS):
        page = log_in(client, "manager", "not the password").get_data(as_text=True)
    assert "ce compte est verrouillé encore 15 minutes" in page and "minute(s)" not in page


def test_the_new_password_sentence_has_one_colon(sqlite_db: Settings) -> None:
    make_users()
    client = console_app(sqlite_db, admin_locale="fr").test_client()
    log_in(client, "admin")
    page = client.get("/users/").get_data(as_text=True)
    form = re.search(r'name="csrf_token" value="([^"]+)".*?name="once" value="([^"]+)"', page, re.S)
    assert form
    shown = client.post("/users/reader/password", data={"csrf_token": form[1], "once": form[2]})
    alert = re.search(r'data-testid="new-password">(.*?)</div>', shown.get_data(as_text=True), re.S)
    assert alert and "transmettez-le maintenant, car il n’est affiché qu’une fois" in alert[1]
    assert re.sub(r"<[^>]+>", "", alert[1]).count(" : ") == 1
