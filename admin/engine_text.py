"""Messages written by the engine (rule exclusions, validation errors, connection tests, job errors...) in the
console's language. The engine speaks English everywhere (CLI, gRPC, logs); the console shows its messages through
the `engine_text` filter, which finds the French text of a known message:

- EXACT: messages with nothing variable, looked up as they are;
- PATTERNS: a regular expression over the English message with named groups, and the msgid (marked with N_) that
  takes those groups as %(name)s placeholders.

A message no entry knows is shown as the engine wrote it (English), never dropped. The French texts live in
admin/translations/fr/engine.po; tests/test_console_engine_text.py produces real engine messages and checks each is
translated."""

from __future__ import annotations

import re

from flask_babel import get_locale, gettext


def N_(message: str) -> str:  # the conventional name pybabel extracts
    """Marks a msgid for extraction without translating it here."""
    return message


EXACT: frozenset[str] = frozenset(
    {
        N_("wrong username or password"),
    }
)

PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?P<field>[\w.\[\]]+) is missing"), N_("%(field)s is missing")),
]

MAX_MESSAGE = 4000  # longer messages are shown as they are (a regex scan over a huge text costs for nothing)


def engine_text(message: object) -> str:
    """`message` in the user's language when it is a known engine message, else as it is."""
    text = "" if message is None else str(message)
    if not text or len(text) > MAX_MESSAGE or str(get_locale() or "en").startswith("en"):
        return text
    if text in EXACT:
        return gettext(text)
    for pattern, msgid in PATTERNS:
        found = pattern.fullmatch(text)
        if found:
            return gettext(msgid, **{k: v or "" for k, v in found.groupdict().items()})
    return text
